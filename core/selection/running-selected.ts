import type { Redis } from 'ioredis';
import type { FetcherList } from '../drain/fetcher-lists.js';
import { busyThreads } from '../drain/running-jobs.js';
import type { SidekiqProcess } from '../drain/live-processes.js';
import { inspectJob } from '../payload/inspect-job.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { routedClass } from '../routing/routed-class.js';
import type { SelectedJobCounts } from './count-selected-jobs.js';

/** Where a selection's running jobs are counted (SelectedJobCounts's `where`): in no list, only in live processes' heartbeats. */
export const RUNNING_WHERE = 'running (live processes)';

/**
 * The selection's counts with the jobs of its classes that live processes run and that sit in no
 * list (Sidekiq's own fetch: only the heartbeat `IDENTITY:workers` holds them, running-jobs.ts),
 * under RUNNING_WHERE. `drain-check --classes` counted lists and sets only: it said "Selected
 * classes: DRAINED" while a live process ran one, which fails into `retry` or goes back onto its
 * queue on this Redis when its process stops. Per class, the jobs of the private lists of live
 * owners (`fetched`, counted with their list) are taken off what the heartbeats say.
 */
export async function withRunningSelected(redis: Redis, keys: SidekiqKeys, processes: readonly SidekiqProcess[], fetched: readonly FetcherList[], classes: readonly string[], counts: SelectedJobCounts): Promise<SelectedJobCounts> {
  const threads = (await busyThreads(redis, keys, processes)) ?? [];
  const wanted = new Set(classes);
  const perClass = new Map<string, number>();
  for (const { payload } of threads) {
    if (payload === null) continue;
    const job = inspectJob(payload);
    if (job.kind !== 'job') continue;
    const cls = routedClass(job.className, job.wrapped);
    if (wanted.has(cls)) perClass.set(cls, (perClass.get(cls) ?? 0) + 1);
  }
  const liveLists = fetched.filter((l) => l.ownerAlive).map((l) => l.key);
  const byClass = new Map([...counts.byClass].map(([cls, perKey]) => [cls, new Map(perKey)]));
  let running = 0;
  for (const [cls, n] of perClass) {
    const listed = liveLists.reduce((sum, key) => sum + (counts.byClass.get(cls)?.get(key) ?? 0), 0);
    const left = Math.max(0, n - listed);
    if (left === 0) continue;
    const perKey = byClass.get(cls) ?? new Map<string, number>();
    perKey.set(RUNNING_WHERE, left);
    byClass.set(cls, perKey);
    running += left;
  }
  if (running === 0) return counts;
  return { byClass, byKey: new Map([...counts.byKey, [RUNNING_WHERE, running]]), selected: counts.selected + running, examined: counts.examined + threads.length };
}
