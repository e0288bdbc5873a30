import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Scale } from '../config.js';
import type { BenchRouting } from '../workload/routing.js';
import { workload } from '../workload/workload.js';
import type { Expectations } from './seed.js';

export interface Verification {
  readonly ok: boolean;
  readonly problems: string[];
  /** Whether the exact bytes were checked (not for GitLab's baseline, which re-serialises). */
  readonly exact: boolean;
}

/**
 * After a run: sorted sets and queued jobs still number what was seeded, the moved counts are the
 * expected ones and, with `exact`, every job is present byte for byte as expected — each set
 * member with its original score (ZMSCORE), each queue list holding exactly the expected multiset
 * of payloads (count and an order-independent digest).
 */
export async function verifyRun(
  redis: Redis,
  routing: BenchRouting,
  scale: Scale,
  expected: Expectations,
  moved: { sets: number; queued: number },
  exact: boolean,
): Promise<Verification> {
  const problems: string[] = [];
  const check = (what: string, actual: number, want: number) => {
    if (actual !== want) problems.push(`${what}: ${actual}, expected ${want}`);
  };
  check('moved set entries', moved.sets, expected.movedSchedule + expected.movedRetry);
  check('moved queued jobs', moved.queued, expected.movedQueued);
  check('ZCARD schedule', await redis.zcard('schedule'), expected.zcard.schedule);
  check('ZCARD retry', await redis.zcard('retry'), expected.zcard.retry);
  const lists = await queueLists(redis);
  const lengths = await Promise.all(lists.map((key) => redis.llen(key)));
  check('jobs in queue:* lists', lengths.reduce((a, b) => a + b, 0), expected.queuedTotal);
  if (exact) await verifyExact(redis, routing, scale, lists, problems);
  return { ok: problems.length === 0, problems, exact };
}

async function verifyExact(redis: Redis, routing: BenchRouting, scale: Scale, lists: string[], problems: string[]): Promise<void> {
  const wantLists = new Map<string, Digest>();
  let members: { key: string; member: string; score: string }[] = [];
  const checkMembers = async () => {
    const pipeline = redis.pipeline();
    for (const m of members) pipeline.zscore(m.key, m.member);
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([error, score], i) => {
      const m = members[i]!;
      if (error || score === null || Number(score) !== Number(m.score)) {
        if (problems.length < 20) problems.push(`${m.key}: expected member missing or rescored: ${m.member.slice(0, 100)}…`);
      }
    });
    members = [];
  };
  for (const job of workload(routing, scale)) {
    const final = job.rewritten ?? job.original;
    if (job.kind === 'queued') {
      const key = `queue:${job.destination}`;
      const digest = wantLists.get(key) ?? new Digest();
      digest.add(final);
      wantLists.set(key, digest);
    } else {
      members.push({ key: job.where, member: final, score: job.score });
      if (members.length === 5_000) await checkMembers();
    }
  }
  await checkMembers();
  for (const key of new Set([...lists, ...wantLists.keys()])) {
    const got = new Digest();
    const length = await redis.llen(key);
    for (let i = 0; i < length; i += 10_000) for (const payload of await redis.lrangeBuffer(key, i, i + 9_999)) got.add(payload);
    const want = wantLists.get(key) ?? new Digest();
    if (!got.equals(want)) problems.push(`${key}: holds ${got.count} jobs (digest ${got.hex()}), expected ${want.count} (digest ${want.hex()})`);
  }
}

/** An order-independent digest of a multiset of payloads: count and the sum of their SHA-1s. */
class Digest {
  count = 0;
  private sum = 0n;

  add(payload: string | Buffer): void {
    this.count++;
    this.sum = (this.sum + BigInt(`0x${createHash('sha1').update(payload).digest('hex').slice(0, 30)}`)) & ((1n << 128n) - 1n);
  }

  equals(other: Digest): boolean {
    return this.count === other.count && this.sum === other.sum;
  }

  hex(): string {
    return this.sum.toString(16).slice(0, 12);
  }
}

async function queueLists(redis: Redis): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', 'queue:*', 'COUNT', 1000);
    found.forEach((k) => keys.add(k));
    cursor = next;
  } while (cursor !== '0');
  return [...keys].sort();
}
