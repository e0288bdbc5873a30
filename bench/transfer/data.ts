import { Redis } from 'ioredis';
import type { Scale } from '../config.js';
import { BatchedJobWriter } from '../redis/batched-writer.js';
import type { BenchRouting } from '../workload/routing.js';
import { workload } from '../workload/workload.js';
import { TRANSFER_SETTINGS } from './config.js';
import { MultisetDigest, scoreKey, SequenceDigest } from './digest.js';

/** What the target must hold after a correct transfer of the seeded data: every job, once, exactly. */
export interface TransferExpectations {
  readonly scale: Scale;
  /** Per sorted set: its entries as (member bytes, score) pairs. */
  readonly sets: ReadonlyMap<string, MultisetDigest>;
  /** Per queue name: the list's jobs oldest first (the consumer end first), and as a multiset. */
  readonly queues: ReadonlyMap<string, { readonly order: SequenceDigest; readonly jobs: MultisetDigest }>;
  /** The keys seeded on the source (the pristine copy's keys). */
  readonly keys: readonly string[];
  readonly payloadBytes: { readonly mean: number; readonly min: number; readonly max: number };
}

const CHUNK = 5_000;

/**
 * The source's pristine copy: empties both databases of the source, writes the workload into
 * database `pristineDb` exactly as the re-route benchmark seeds it (ZADD to `schedule`/`retry`,
 * LPUSH in push order to `queue:NAME`, every name into `queues`), and computes what a correct
 * transfer leaves on the target in the same pass. Every run then starts from a COPY of it
 * (`stageRun`), so re-seeding takes milliseconds rather than seconds.
 */
export async function seedPristine(port: number, routing: BenchRouting, scale: Scale): Promise<TransferExpectations> {
  const redis = new Redis({ host: '127.0.0.1', port, db: TRANSFER_SETTINGS.pristineDb, protocol: 2 });
  try {
    await redis.flushall();
    const sets = new Map<string, MultisetDigest>();
    const queues = new Map<string, { order: SequenceDigest; jobs: MultisetDigest }>();
    let bytes = 0;
    let count = 0;
    let min = Infinity;
    let max = 0;
    const writer = new BatchedJobWriter(redis, CHUNK);
    for (const job of workload(routing, scale)) {
      if (job.kind === 'queued') {
        await writer.add(`queue:${job.where}`, job.original);
        const q = queues.get(job.where) ?? { order: new SequenceDigest(), jobs: new MultisetDigest() };
        q.order.add(job.original);
        q.jobs.add(job.original);
        queues.set(job.where, q);
      } else {
        await writer.add(job.where, job.score, job.original);
        const digest = sets.get(job.where) ?? new MultisetDigest();
        digest.add(job.original, scoreKey(job.score));
        sets.set(job.where, digest);
      }
      const size = Buffer.byteLength(job.original);
      bytes += size;
      min = Math.min(min, size);
      max = Math.max(max, size);
      count++;
    }
    await writer.flush();
    if (queues.size > 0) await redis.sadd('queues', ...queues.keys());
    const keys = [...sets.keys(), ...[...queues.keys()].map((q) => `queue:${q}`), ...(queues.size > 0 ? ['queues'] : [])];
    return { scale, sets, queues, keys, payloadBytes: { mean: count === 0 ? 0 : bytes / count, min, max } };
  } finally {
    redis.disconnect();
  }
}

/**
 * A fresh copy of the data for one run: empties the target and the source's database 0, then
 * copies every pristine key into database 0 (`COPY … DB 0`, server-side). With `last`, the keys
 * are moved instead (O(1)): nothing will need them again. Both servers then return freed pages
 * now rather than during the measurement.
 */
export async function stageRun(source: Redis, target: Redis, expected: Pick<TransferExpectations, 'keys'>, last: boolean): Promise<void> {
  const pristine = new Redis({ host: '127.0.0.1', port: source.options.port, db: TRANSFER_SETTINGS.pristineDb, protocol: 2 });
  try {
    await target.flushall();
    await source.flushdb(); // database 0 only
    const pipeline = pristine.pipeline();
    for (const key of expected.keys) {
      if (last) pipeline.move(key, 0);
      else pipeline.call('COPY', key, key, 'DB', '0');
    }
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([error, reply], i) => {
      if (error) throw error;
      if (reply !== 1) throw new Error(`staging ${expected.keys[i]} into db 0 failed (reply ${String(reply)})`);
    });
    await source.call('MEMORY', 'PURGE');
    await target.call('MEMORY', 'PURGE');
  } finally {
    pristine.disconnect();
  }
}
