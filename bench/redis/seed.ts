import type { Redis } from 'ioredis';
import type { Scale } from '../config.js';
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
  let batch = new Map<string, (string | Buffer)[]>();
  const flush = async () => {
    const pipeline = redis.pipeline();
    for (const [key, args] of batch) {
      if (key === 'schedule' || key === 'retry') pipeline.zadd(key, ...(args as string[]));
      else pipeline.lpush(key, ...args);
    }
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    batch = new Map();
  };
  for (const job of workload(routing, scale)) {
    const key = job.kind === 'queued' ? `queue:${job.where}` : job.where;
    const args = batch.get(key) ?? [];
    if (job.kind === 'queued') {
      args.push(job.original);
      queues.add(job.where);
    } else args.push(job.score, job.original);
    batch.set(key, args);
    if (job.rewritten !== null) moved[job.kind]++;
    const size = Buffer.byteLength(job.original);
    bytes += size;
    min = Math.min(min, size);
    max = Math.max(max, size);
    if (++count % CHUNK === 0) await flush();
  }
  await flush();
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
