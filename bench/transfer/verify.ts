import type { Redis } from 'ioredis';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { targetIdKey } from '../../core/transfer/target-identity.js';
import { RUN_FINISH_TTL_SECONDS } from '../../core/workflow/run-finish-record.js';
import type { TransferExpectations } from './data.js';
import { MultisetDigest, scoreKey, SequenceDigest } from './digest.js';

export interface TransferVerification {
  readonly ok: boolean;
  readonly problems: string[];
  /** Every queue on the target holds its jobs in the source's order (informative: not required). */
  readonly orderKept: boolean;
  /**
   * Keys left in the source's database 0: only `queues`, Sidekiq's list of queue names, and for ours
   * the run's started-with record (core/workflow/started-with.ts: kept 30 days, by design).
   */
  readonly sourceLeft: string[];
  /** Our bookkeeping on the target: the run's ledger keys (what was written, with a TTL) and the target's id. */
  readonly targetBookkeeping: string[];
}

const PAGE = 10_000;

/**
 * After a transfer: the algorithm's own counts; on the target, every sorted set holds exactly the
 * seeded (member bytes, score) pairs — compared as doubles — and every queue exactly the seeded
 * payloads (count and digest of the bytes), no other key but `queues` (with every queue name) and,
 * for ours, the run's ledgers and the target's id; on the source, database 0 holds nothing but `queues`
 * (and, for ours, the run's started-with record).
 * Whether each queue also kept its order is recorded separately.
 */
export async function verifyTransfer(
  source: Redis,
  target: Redis,
  expected: TransferExpectations,
  moved: { sets: number; queued: number },
  ledgerPrefix: string | null,
): Promise<TransferVerification> {
  const problems: string[] = [];
  const problem = (text: string) => void (problems.length < 30 && problems.push(text));
  const check = (what: string, actual: number, want: number) => {
    if (actual !== want) problem(`${what}: ${actual}, expected ${want}`);
  };
  const setTotal = [...expected.sets.values()].reduce((n, d) => n + d.count, 0);
  const queuedTotal = [...expected.queues.values()].reduce((n, q) => n + q.jobs.count, 0);
  check('moved set entries (as counted by the run)', moved.sets, setTotal);
  check('moved queued jobs (as counted by the run)', moved.queued, queuedTotal);

  const sourceLeft: string[] = [];
  for (const key of await allKeys(source)) {
    // Ours, run by the CLI: the run's first plan records what it was started with (kept 30 days, so
    // that the run id is not resumed with other routing or another target; started-with.ts).
    if (key === 'queues' || (ledgerPrefix !== null && key.startsWith('sidekiq-migrate:') && key.endsWith(':started-with'))) {
      sourceLeft.push(key);
      continue;
    }
    // Ours too: the summary's record of how it finished the run, for a retry of that summary
    // (run-finish-record.ts), which expires within the hour (docs/runbooks/redis-move.md's leftovers).
    if (ledgerPrefix !== null && key.startsWith('sidekiq-migrate:') && key.endsWith(':finished')) {
      const ttl = await source.ttl(key);
      if (ttl > 0 && ttl <= RUN_FINISH_TTL_SECONDS) {
        sourceLeft.push(key);
        continue;
      }
    }
    const type = await source.type(key);
    problem(`source still holds ${key} (${type}${type === 'list' ? `, ${await source.llen(key)} jobs` : type === 'zset' ? `, ${await source.zcard(key)} entries` : ''})`);
  }

  const targetBookkeeping: string[] = [];
  const wanted = new Set(['queues', ...expected.sets.keys(), ...[...expected.queues.keys()].map((q) => `queue:${q}`)]);
  for (const key of await allKeys(target)) {
    if (wanted.has(key)) continue;
    // Ours: the run's ledgers, and the target's name for itself (core/transfer/target-identity.ts).
    if (ledgerPrefix !== null && (key.startsWith(ledgerPrefix) || key === targetIdKey(new SidekiqKeys('')))) targetBookkeeping.push(key);
    else problem(`target holds an unexpected key ${key}`);
  }

  for (const [set, want] of expected.sets) {
    const got = new MultisetDigest();
    const size = await target.zcard(set);
    for (let i = 0; i < size; i += PAGE) {
      const flat = await target.zrangeBuffer(set, i, String(i + PAGE - 1), 'WITHSCORES');
      for (let j = 0; j < flat.length; j += 2) got.add(flat[j]!, scoreKey(flat[j + 1]!));
    }
    if (!got.equals(want)) problem(`${set}: holds ${got.count} entries (digest ${got.hex()}), expected ${want.count} (digest ${want.hex()})`);
  }

  let orderKept = true;
  for (const [queue, want] of expected.queues) {
    const key = `queue:${queue}`;
    const order = new SequenceDigest();
    const jobs = new MultisetDigest();
    const length = await target.llen(key);
    // Oldest first: from the right (consumer) end leftwards, as the expectation was built.
    for (let i = 0; i < length; i += PAGE) {
      const chunk = await target.lrangeBuffer(key, -(i + PAGE), -(i + 1));
      for (let j = chunk.length - 1; j >= 0; j--) {
        order.add(chunk[j]!);
        jobs.add(chunk[j]!);
      }
    }
    if (!jobs.equals(want.jobs)) problem(`${key}: holds ${jobs.count} jobs (digest ${jobs.hex()}), expected ${want.jobs.count} (digest ${want.jobs.hex()})`);
    else if (order.hex() !== want.order.hex()) orderKept = false;
  }
  const names = new Set(await target.smembers('queues'));
  const missing = [...expected.queues.keys()].filter((q) => !names.has(q));
  if (missing.length > 0) problem(`target's queues set lacks ${missing.length} queue names (${missing.slice(0, 3).join(', ')}…)`);

  return { ok: problems.length === 0, problems, orderKept, sourceLeft, targetBookkeeping };
}

async function allKeys(redis: Redis): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'COUNT', 1000);
    found.forEach((k) => keys.add(k));
    cursor = next;
  } while (cursor !== '0');
  return [...keys].sort();
}
