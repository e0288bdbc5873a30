import type { Redis, RedisKey } from 'ioredis';
import { inspectJob } from '../payload/inspect-job.js';
import { jobsWithinBytes, meanBytes, PROBE_JOBS } from '../redis/page-bytes.js';
import { queuedJobDestination, type RoutingPlan } from '../routing/routing-plan.js';

/** Arrived jobs a rollback reads per queue at most; beyond, they are all counted (never hidden). */
export const ROLLBACK_ARRIVALS_READ = 10_000;

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
  const limit = Math.min(arrived, ROLLBACK_ARRIVALS_READ);
  let misplaced = 0;
  let read = 0;
  let bytesPerJob: number | undefined;
  while (read < limit) {
    const want = read === 0 ? Math.min(PROBE_JOBS, limit) : jobsWithinBytes(bytesPerJob, limit - read);
    const page = await redis.lrangeBuffer(key, read, read + want - 1);
    for (const payload of page) {
      const job = inspectJob(payload);
      if (job.kind === 'job' && queuedJobDestination(plan, queue, job) !== queue) misplaced++;
    }
    read += page.length;
    if (page.length < want) return misplaced;
    bytesPerJob = meanBytes(page, bytesPerJob);
  }
  return misplaced + (arrived - read);
}
