import type { SortedSetName } from '../redis/sidekiq-keys.js';
import type { SkippedKey } from './discover-queues.js';
import { findDrainedQueues } from './drained-queues.js';
import { drivePages } from './drive-pages.js';
import { rerouteQueueSlice } from './queue-slice.js';
import { addCounters, emptyCounters, type RerouteCounters } from './reroute-counters.js';
import type { RerouteContext } from './reroute-options.js';
import { rerouteSetPage, type SetCursor } from './set-page.js';

export interface KeyPlan {
  /** ZCARD or LLEN when planning began. */
  readonly total: number;
  /** What a run would do (`moved`, `movedTo`, `quarantined` are "would"). */
  readonly counters: RerouteCounters;
}

export interface ReroutePlan {
  readonly sets: Partial<Record<SortedSetName, KeyPlan>>;
  readonly queues: Record<string, KeyPlan>;
  /** Queues that are routing destinations (or not renamed): never drained. */
  readonly untouchedQueues: { readonly queue: string; readonly depth: number }[];
  /** `queue:*` keys that are not queues we may touch. */
  readonly skippedKeys: readonly SkippedKey[];
  readonly totals: RerouteCounters;
}

export interface PlanRequest extends Omit<RerouteContext, 'dryRun'> {
  readonly sets: readonly SortedSetName[];
  readonly queues: boolean;
  readonly pageSize: number;
  readonly unmapped?: 'leave' | 'quarantine';
}

/**
 * The dry run: every page of every selected set and queue, decided exactly as a real run would
 * decide it, with nothing written. Reads only (ZCARD, ZSCAN, SCAN, TYPE, LLEN, LRANGE).
 */
export async function planReroute(request: PlanRequest): Promise<ReroutePlan> {
  const context: RerouteContext = { ...request, dryRun: true };
  const totals = emptyCounters();
  const sets: Partial<Record<SortedSetName, KeyPlan>> = {};
  for (const set of request.sets) {
    const total = await request.redis.zcard(request.keys.sortedSet(set));
    const run = await drivePages((cursor) => rerouteSetPage({ ...context, set, cursor, count: request.pageSize }), { scan: '0' } as SetCursor);
    sets[set] = { total, counters: run.counters };
    addCounters(totals, run.counters);
  }

  const queues: Record<string, KeyPlan> = {};
  const untouchedQueues: { queue: string; depth: number }[] = [];
  let skippedKeys: SkippedKey[] = [];
  if (request.queues) {
    const found = await findDrainedQueues(request.redis, request.keys, request.plan);
    skippedKeys = found.skipped;
    for (const queue of found.untouched) untouchedQueues.push({ queue, depth: await request.redis.llen(request.keys.queue(queue)) });
    for (const queue of found.drained) {
      const depth = await request.redis.llen(request.keys.queue(queue));
      const run = await drivePages(
        (cursor) => rerouteQueueSlice({ ...context, queue, cursor, sliceSize: request.pageSize, unmapped: request.unmapped }),
        null as Parameters<typeof rerouteQueueSlice>[0]['cursor'],
      );
      queues[queue] = { total: depth, counters: run.counters };
      addCounters(totals, run.counters);
    }
  }
  return { sets, queues, untouchedQueues, skippedKeys, totals };
}
