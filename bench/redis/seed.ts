import type { Redis } from 'ioredis';
import type { Scale } from '../config.js';
import { BatchedJobWriter } from './batched-writer.js';
import type { BenchRouting } from '../workload/routing.js';
import { workload } from '../workload/workload.js';

/** What a correct migration of the seeded data must do, counted while seeding. */
export interface Expectations {
  readonly movedSchedule: number;
  readonly movedRetry: number;
  readonly movedQueued: number;
  readonly zcard: { readonly schedule: number; readonly retry: number };
  readonly queuedTotal: number;
  readonly payloadBytes: { readonly mean: number; readonly min: number; readonly max: number };
}

const CHUNK = 5_000;

/**
 * Empties the database and writes the workload: ZADDs to `schedule`/`retry`, LPUSHes in push
 * order to `queue:NAME` (so the newest job is at the head, as Sidekiq's clients leave it), and
 * every queue name into `queues`. One pipeline per 5,000 jobs, direct to Redis (never through the
 * delay proxy): seeding is not measured.
 */
export async function seedWorkload(redis: Redis, routing: BenchRouting, scale: Scale): Promise<Expectations> {
  await redis.flushall();
  const moved = { schedule: 0, retry: 0, queued: 0 };
  const queues = new Set<string>();
  let bytes = 0;
  let count = 0;
  let min = Infinity;
  let max = 0;
  const writer = new BatchedJobWriter(redis, CHUNK);
  for (const job of workload(routing, scale)) {
    if (job.kind === 'queued') {
      await writer.add(`queue:${job.where}`, job.original);
      queues.add(job.where);
    } else await writer.add(job.where, job.score, job.original);
    if (job.rewritten !== null) moved[job.kind]++;
    const size = Buffer.byteLength(job.original);
    bytes += size;
    min = Math.min(min, size);
    max = Math.max(max, size);
    count++;
  }
  await writer.flush();
  if (queues.size > 0) await redis.sadd('queues', ...queues);
  // Return the previous data set's freed pages now, rather than in jemalloc's background purge
  // during the measurement.
  await redis.call('MEMORY', 'PURGE');
  return {
    movedSchedule: moved.schedule,
    movedRetry: moved.retry,
    movedQueued: moved.queued,
    zcard: { schedule: scale.schedule, retry: scale.retry },
    queuedTotal: scale.queued,
    payloadBytes: { mean: count === 0 ? 0 : bytes / count, min, max },
  };
}
