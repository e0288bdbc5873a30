import type { Redis } from 'ioredis';
import { MultisetDigest, SequenceDigest } from '../transfer/digest.js';
import type { QueueDigest, SelectiveExpectations } from './data.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { targetIdKey } from '../../core/transfer/target-identity.js';

export interface SelectiveVerification {
  readonly ok: boolean;
  readonly problems: string[];
  /** Whether each side of every queue kept its jobs' order (informative, not required). */
  readonly orderKept: boolean;
}

const PAGE = 10_000;

/** A list's jobs, oldest (right end) first, as a multiset and in order. */
async function listDigest(redis: Redis, key: string): Promise<{ jobs: MultisetDigest; order: SequenceDigest }> {
  const jobs = new MultisetDigest();
  const order = new SequenceDigest();
  const length = await redis.llen(key);
  for (let end = -1; -end <= length; end -= PAGE) {
    const page = await redis.lrangeBuffer(key, Math.max(end - PAGE + 1, -length), end);
    for (let i = page.length - 1; i >= 0; i--) {
      jobs.add(page[i]!);
      order.add(page[i]!);
    }
  }
  return { jobs, order };
}

/**
 * After a selective move: every queue on the target holds exactly the selected jobs of that queue
 * (bytes, as a multiset), every queue on the source exactly the others; no other key on either side
 * but `queues` and, when `bookkeeping` is given, keys under that prefix that expire (the CLI's
 * ledgers on the target, the run's stored selection on the source), and the target's id. Any other
 * key of ours without an expiry (an in-flight list, a run lock) is a leftover.
 */
export async function verifySelective(source: Redis, target: Redis, expected: SelectiveExpectations, bookkeeping: string | null): Promise<SelectiveVerification> {
  const problems: string[] = [];
  const problem = (text: string) => void (problems.length < 30 && problems.push(text));
  let orderKept = true;
  const compare = async (redis: Redis, side: string, wanted: ReadonlyMap<string, QueueDigest>) => {
    for (const [queue, want] of wanted) {
      const got = await listDigest(redis, `queue:${queue}`);
      if (!got.jobs.equals(want.jobs)) problem(`${side} queue:${queue}: ${got.jobs.count} jobs (digest ${got.jobs.hex()}), expected ${want.jobs.count} (digest ${want.jobs.hex()})`);
      else if (got.order.hex() !== want.order.hex()) orderKept = false;
    }
  };
  await compare(source, 'source', expected.kept);
  await compare(target, 'target', expected.moved);
  const queueKeys = new Set([...expected.kept.keys()].map((q) => `queue:${q}`));
  for (const [side, redis] of [['source', source], ['target', target]] as const) {
    const others: string[] = [];
    for (const key of await redis.keys('*')) {
      if (queueKeys.has(key) || key === 'queues') continue;
      if (bookkeeping !== null && key.startsWith(bookkeeping) && (await redis.ttl(key)) > 0) continue;
      // The target's name for itself (core/transfer/target-identity.ts): kept, by design.
      if (bookkeeping !== null && side === 'target' && key === targetIdKey(new SidekiqKeys(''))) continue;
      others.push(key);
    }
    if (others.length > 0) problem(`${side}: unexpected keys ${others.slice(0, 5).join(', ')}${others.length > 5 ? ` and ${others.length - 5} more` : ''}`);
  }
  return { ok: problems.length === 0, problems, orderKept };
}
