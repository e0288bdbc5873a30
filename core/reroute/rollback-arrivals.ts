import type { Redis, RedisKey } from 'ioredis';
import { inspectJob } from '../payload/inspect-job.js';
import { jobsWithinBytes, meanBytes, PROBE_JOBS } from '../redis/page-bytes.js';
import { queuedJobDestination, unmappedReason, type RoutingPlan } from '../routing/routing-plan.js';
import { routedClass } from '../routing/routed-class.js';
import { MAX_SAMPLES, type JobSample } from './reroute-counters.js';

/** Arrived jobs a rollback reads per queue at most; beyond, they are all counted (never hidden). */
export const ROLLBACK_ARRIVALS_READ = 10_000;

/**
 * A rollback's arrivals on a queue it drains, by what a rollback does with them: `placeable`, of a
 * (class, queue) it puts back (a rollback started now takes them in); `unplaceable`, of a (class,
 * queue) the rolled-back run filled from several queues (or from entries without a queue field:
 * reverse-plan.ts), which every rollback leaves where they are (counted as unmapped, with why).
 * Those beyond ROLLBACK_ARRIVALS_READ are not read: all counted as placeable (never hidden).
 */
export interface RollbackArrivals {
  readonly placeable: number;
  readonly unplaceable: number;
  /** The unplaceable jobs by routed class, and a few of them with why (as the pass samples unmapped jobs). */
  readonly unplaceableClasses: ReadonlyMap<string, number>;
  readonly unplaceableSamples: readonly JobSample[];
}

/**
 * Of the `arrived` newest jobs of `queue:QUEUE` (the head, where producers push), those that
 * arrived where they should not. A re-route drains retired queues: every job arriving there
 * counts. A rollback drains live queues, which keep their own producers (GitLab's `default`, say):
 * only jobs of a class it puts back (a node still on the wrong rules) count, so that the jobs of
 * every other class pushed there meanwhile are not reported as arrivals on retired queues. Read in
 * pages within MAX_PAGE_BYTES (page-bytes.ts); jobs beyond ROLLBACK_ARRIVALS_READ are all counted.
 */
export async function misplacedArrivals(redis: Redis, key: RedisKey, queue: string, plan: RoutingPlan, arrived: number): Promise<number> {
  if (plan.kind !== 'reverse' || arrived <= 0) return Math.max(0, arrived);
  const { placeable, unplaceable } = await rollbackArrivals(redis, key, queue, plan, arrived);
  return placeable + unplaceable;
}

/** misplacedArrivals of a rollback, split by what a rollback does with them (RollbackArrivals). */
export async function rollbackArrivals(redis: Redis, key: RedisKey, queue: string, plan: RoutingPlan, arrived: number): Promise<RollbackArrivals> {
  const limit = Math.min(Math.max(0, arrived), ROLLBACK_ARRIVALS_READ);
  let placeable = 0;
  let unplaceable = 0;
  const unplaceableClasses = new Map<string, number>();
  const unplaceableSamples: JobSample[] = [];
  let read = 0;
  let bytesPerJob: number | undefined;
  const result = (rest: number): RollbackArrivals => ({ placeable: placeable + rest, unplaceable, unplaceableClasses, unplaceableSamples });
  while (read < limit) {
    const want = read === 0 ? Math.min(PROBE_JOBS, limit) : jobsWithinBytes(bytesPerJob, limit - read);
    const page = await redis.lrangeBuffer(key, read, read + want - 1);
    for (const payload of page) {
      const job = inspectJob(payload);
      if (job.kind !== 'job') continue;
      const destination = queuedJobDestination(plan, queue, job);
      if (destination === queue) continue;
      if (destination !== null) {
        placeable++;
        continue;
      }
      unplaceable++;
      const cls = routedClass(job.className, job.wrapped);
      unplaceableClasses.set(cls, (unplaceableClasses.get(cls) ?? 0) + 1);
      if (unplaceableSamples.length < MAX_SAMPLES) unplaceableSamples.push({ jid: job.jid, className: cls, reason: unmappedReason(plan, queue, job) });
    }
    read += page.length;
    if (page.length < want) return result(0);
    bytesPerJob = meanBytes(page, bytesPerJob);
  }
  return result(Math.max(0, arrived) - read);
}
