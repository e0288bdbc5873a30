import { Redis } from 'ioredis';
import { Prng } from '../prng.js';
import { BatchedJobWriter } from '../redis/batched-writer.js';
import { MultisetDigest, SequenceDigest } from '../transfer/digest.js';
import { gitlabPayload, withQueue } from '../workload/payload-text.js';
import type { BenchRouting } from '../workload/routing.js';
import { SELECT_EVERY, SELECTIVE_SETTINGS, SHARED_QUEUES, type SelectiveProfile } from './config.js';

/** One side of a queue after a correct selective move: its jobs as a multiset and oldest first. */
export interface QueueDigest {
  readonly jobs: MultisetDigest;
  readonly order: SequenceDigest;
}

/** What a correct selective move leaves: per queue, the selected jobs on the target and the rest on the source. */
export interface SelectiveExpectations {
  readonly jobs: number;
  readonly selectedClasses: readonly string[];
  readonly moved: ReadonlyMap<string, QueueDigest>;
  readonly kept: ReadonlyMap<string, QueueDigest>;
  readonly movedCount: number;
  /** The keys seeded on the source (the pristine copy's keys). */
  readonly keys: readonly string[];
}

const CHUNK = 5_000;
const digest = (): QueueDigest => ({ jobs: new MultisetDigest(), order: new SequenceDigest() });

/** The selected classes: every SELECT_EVERY-th real worker of the CE catalog, sorted by name. */
export function selectedClasses(routing: BenchRouting): string[] {
  return [...routing.workers.map((w) => w.className)].sort().filter((_, i) => i % SELECT_EVERY === 0);
}

/**
 * The source's pristine copy in database SELECTIVE_SETTINGS.pristineDb: `profile.jobs` GitLab-shaped
 * jobs of CE worker classes (uniformly), pushed in order onto the shared queues by their shares,
 * every queue name in `queues`; and, in the same pass, what a correct move leaves on each side.
 */
export async function seedSelective(port: number, routing: BenchRouting, profile: SelectiveProfile): Promise<SelectiveExpectations> {
  const redis = new Redis({ host: '127.0.0.1', port, db: SELECTIVE_SETTINGS.pristineDb, protocol: 2 });
  try {
    await redis.flushall();
    const selected = selectedClasses(routing);
    const selectedSet = new Set(selected);
    const moved = new Map(SHARED_QUEUES.map(([q]) => [q, digest()]));
    const kept = new Map(SHARED_QUEUES.map(([q]) => [q, digest()]));
    const cumulative = SHARED_QUEUES.reduce<number[]>((acc, [, share]) => [...acc, (acc.at(-1) ?? 0) + share], []);
    const p = new Prng(SELECTIVE_SETTINGS.seed);
    const writer = new BatchedJobWriter(redis, CHUNK);
    let movedCount = 0;
    for (let i = 0; i < profile.jobs; i++) {
      const worker = p.pick(routing.workers);
      const r = p.float();
      const index = cumulative.findIndex((c) => r < c);
      const queue = SHARED_QUEUES[index === -1 ? SHARED_QUEUES.length - 1 : index]![0];
      const payload = withQueue(gitlabPayload(p, worker, 'queued'), queue);
      await writer.add(`queue:${queue}`, payload);
      const side = selectedSet.has(worker.className) ? moved.get(queue)! : kept.get(queue)!;
      side.jobs.add(payload);
      side.order.add(payload);
      if (selectedSet.has(worker.className)) movedCount++;
    }
    await writer.flush();
    const queues = SHARED_QUEUES.map(([q]) => q);
    await redis.sadd('queues', ...queues);
    return { jobs: profile.jobs, selectedClasses: selected, moved, kept, movedCount, keys: [...queues.map((q) => `queue:${q}`), 'queues'] };
  } finally {
    redis.disconnect();
  }
}
