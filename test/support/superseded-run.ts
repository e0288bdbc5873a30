import type { Redis } from 'ioredis';
import { runLockKey, runStopMarkerKey } from '../../core/redis/run-lock.js';
import { runExecutionsKey } from '../../core/workflow/run-executions.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import type { PlanOutput } from '../../core/workflow/steps/plan-step.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import { workListKey } from '../../core/workflow/work-list.js';
import { jobEntry, jobsIn } from './exact-jobs.js';
import { sidekiqPayload } from './sidekiq-jobs.js';

/**
 * What the tests of an execution superseded by a later start of its run share
 * (superseded-execution, superseded-same-millisecond): run-1, a transfer of a queue of 30 jobs and
 * a schedule of 15 in pages of 10, and the run's bookkeeping that the superseded one must leave.
 */
export const SUPERSEDED_TRANSFER = { runId: 'run-1', mode: 'transfer', target: 'target', sets: ['schedule'], pageSize: 10 };
export const SUPERSEDED_BUDGET = { deadline: Date.now() + 600_000 };

/** Seeds the source; returns every job as an exact-jobs entry, sorted. */
export async function seedSupersededRun(client: Redis): Promise<string[]> {
  const all: string[] = [];
  for (let i = 0; i < 30; i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` });
    await client.lpush('queue:default', payload);
    all.push(jobEntry('queue:default', payload));
  }
  for (let i = 0; i < 15; i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${100 + i}]` });
    await client.zadd('schedule', String(2e9 + i), payload);
    all.push(jobEntry('schedule', payload, String(2e9 + i)));
  }
  return all.sort();
}

/** The run's bookkeeping that a superseded execution must leave exactly as it is. */
export async function supersededRunState(source: Redis, target: Redis): Promise<Record<string, unknown>> {
  return {
    sourceLock: JSON.parse((await source.get(runLockKey('')))!) as unknown,
    targetLock: JSON.parse((await target.get(runLockKey('')))!) as unknown,
    executions: await source.hgetall(runExecutionsKey('', 'run-1')),
    workList: await source.lrange(workListKey('', 'run-1'), 0, -1),
    stopped: [await source.exists(runStopMarkerKey('', 'run-1')), await target.exists(runStopMarkerKey('', 'run-1'))],
    jobs: [await jobsIn(source), await jobsIn(target)],
  };
}

/** Pages an item of a plan until it is done. */
export async function finishItem(plan: PlanOutput, item: WorkItem, provider: ConnectionProvider): Promise<WorkItem> {
  let current = item;
  while (!current.done) current = await pageStep({ settings: plan.settings, item: current }, provider, SUPERSEDED_BUDGET);
  return current;
}
