// The summary's count of a set's entries (count-set-entries.ts) reads the set by rank in several
// calls. Redis runs other clients between them: Sidekiq's poller removing due entries (the soonest),
// the retry handler and the scheduler adding entries at any score. Here the count's reads run one
// by one (the client hooked) while a second client acts between them at random (seeded: a failing
// seed replays exactly): removing the soonest entries, or entries just below, at or above the
// next read's rank; adding entries below everything read, among the entries read, or above. Every
// entry present all along must be counted once, and one added or removed meanwhile at most once:
// the count lies between those two sums. Read by rank with no check it counted the entry at a page
// boundary twice when one was added below (too high), and skipped one when one was removed (too low).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countSetEntries } from '../../core/workflow/steps/count-set-entries.js';
import { privateRedis } from '../support/private-redis.js';
import { prng } from '../support/seeded-random.js';

const redis = privateRedis();
let other: Redis;
beforeAll(() => {
  other = new Redis(redis.url(), { protocol: 2 });
});
afterAll(() => other.disconnect());

const NOW = 1_795_459_303;
const SEEDS = Number(process.env.RANDOM_TRIAL_SEEDS ?? 16);
const payloadOf = (id: number, pad: string) => `{"class":"A","queue":"q","args":[${id}],"mark":${id % 3 === 0},"pad":"${pad}"}`;
const idOf = (member: Buffer | string) => (JSON.parse(member.toString()) as { args: [number] }).args[0];
const marked = (member: Buffer) => member.includes('"mark":true');

/**
 * `client` whose ZRANGE reads run one at a time, in the order sent, `between` awaited before each
 * after the first; `idle` once every read sent has run (reads sent ahead run after the count ended).
 */
function interleaved(client: Redis, between: (from: number) => Promise<void>): { client: Redis; idle: () => Promise<unknown> } {
  let chain: Promise<unknown> = Promise.resolve();
  let n = 0;
  const proxy = new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'zrangeBuffer') return value;
      return (...args: unknown[]) => {
        const first = n++ === 0;
        const run = chain.then(async () => {
          if (!first) await between(Number(args[1]));
          return (value as (...a: unknown[]) => Promise<Buffer[]>).apply(target, args);
        });
        chain = run.catch(() => undefined);
        return run;
      };
    },
  });
  return { client: proxy, idle: () => chain };
}

async function trial(seed: number): Promise<{ counted: number; lo: number; hi: number; twice: number[]; skipped: number[] }> {
  const random = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const pad = 'x'.repeat(pick([0, 60, 3_000]));
  const key = 'schedule';
  const size = 1_200 + Math.floor(random() * 1_500);
  const touched = new Set<number>();
  let next = 0;
  let at = NOW;
  const seeding = redis.client().pipeline();
  while (next < size) {
    // Mostly distinct scores, groups of equal scores here and there.
    const group = random() < 0.85 ? 1 : 2 + Math.floor(random() * 8);
    for (let g = 0; g < group && next < size; g++, next++) seeding.zadd(key, String(at), payloadOf(next, pad));
    at += 1 + Math.floor(random() * 3);
  }
  await seeding.exec();
  const all = new Set<number>(Array.from({ length: size }, (_, i) => i));

  let ended = false;
  const between = async (from: number) => {
    // The reads the count sent ahead and did not wait for run after it ended: nothing acts then.
    if (ended) return;
    const actions = Math.floor(random() * 4);
    for (let a = 0; a < actions; a++) {
      const kind = pick(['poll', 'poll', 'remove-near', 'add-low', 'add-low', 'add-among', 'add-high'] as const);
      if (kind === 'poll' || kind === 'remove-near') {
        // The poller takes the soonest; or an entry just below, at or above the next read's rank goes.
        const rank = kind === 'poll' ? 0 : Math.max(0, from + pick([-3, -1, 0, 1, 5]));
        const members = await other.zrange(key, String(rank), String(rank + Math.floor(random() * 3)));
        for (const m of members) if ((await other.zrem(key, m)) === 1) touched.add(idOf(m));
      } else {
        const score = kind === 'add-low' ? NOW - 1 - Math.floor(random() * 1_000) : kind === 'add-high' ? at + 10 + Math.floor(random() * 1_000) : NOW + Math.floor(random() * (at - NOW));
        const id = next++;
        await other.zadd(key, String(score), payloadOf(id, pad));
        all.add(id);
        touched.add(id);
      }
    }
  };

  // Every entry the count examines, by id: each once at most, each untouched one exactly once.
  const examined = new Map<number, number>();
  const examine = (member: Buffer) => {
    examined.set(idOf(member), (examined.get(idOf(member)) ?? 0) + 1);
    return marked(member);
  };
  const reads = interleaved(redis.client(), between);
  const counted = await countSetEntries(reads.client, key, examine, {});
  ended = true;
  await reads.idle();
  await redis.client().del(key);
  if (!('matching' in counted)) throw new Error(`seed ${seed}: not read to its end`);
  const isMarked = (id: number) => id % 3 === 0;
  const lo = [...all].filter((id) => !touched.has(id) && isMarked(id)).length;
  const hi = lo + [...touched].filter(isMarked).length;
  return {
    counted: counted.matching,
    lo,
    hi,
    twice: [...examined].filter(([, times]) => times > 1).map(([id]) => id),
    skipped: [...all].filter((id) => !touched.has(id) && !examined.has(id)),
  };
}

describe('countSetEntries while another client adds and removes entries between its reads', () => {
  it(`counts every entry present all along once, every other at most once (${SEEDS} seeds)`, async () => {
    const wrong: string[] = [];
    for (let seed = Number(process.env.FIRST_SEED ?? 1); seed <= SEEDS; seed++) {
      const { counted, lo, hi, twice, skipped } = await trial(seed);
      if (counted < lo || counted > hi) wrong.push(`seed ${seed}: counted ${counted}, not between ${lo} and ${hi}`);
      if (twice.length > 0) wrong.push(`seed ${seed}: examined twice: ${twice.join(', ')}`);
      if (skipped.length > 0) wrong.push(`seed ${seed}: present all along, not examined: ${skipped.join(', ')}`);
    }
    expect(wrong).toEqual([]);
  }, 120_000);
});
