// A selective transfer's count of the selected entries left in a set (selected-left-count.ts),
// carried on after an entry `at` inside a group of equal scores: readAfter reads that score's
// entries from the group's start in several ZRANGE BYSCORE calls, by offset. Sidekiq's poller
// taking entries of the group below the next call's offset between the calls (and a scheduler
// adding some) shifts the offsets: with no check, the entry past a call's end was skipped (the
// count too low) or repeated. Here the count's calls run one by one (the client hooked) while a
// second client removes and adds entries of the group between them at random (seeded). Every
// entry after `at` present all along must be counted once (its SHA-1 sent to SMISMEMBER once),
// every one added or removed meanwhile at most once, none before `at`.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberDigest } from '../../../core/transfer/class-selection.js';
import { countSelectedLeft } from '../../../core/transfer/selected-left-count.js';
import { privateRedis } from '../../support/private-redis.js';
import { prng } from '../../support/seeded-random.js';

const redis = privateRedis();
let other: Redis;
beforeAll(() => {
  other = new Redis(redis.url(), { protocol: 2 });
});
afterAll(() => other.disconnect());

const SCORE = 1_795_459_303;
const SEEDS = Number(process.env.RANDOM_TRIAL_SEEDS ?? 16);
/** Members of one score sort by their bytes: the zero-padded id orders them; an added one sorts between two ids (its suffix). */
const payloadOf = (id: string) => `{"class":"A","queue":"q","args":["${id}"],"jid":"j${id}"}`;

/** `client` whose SMISMEMBER digests are recorded, and whose ZRANGE BYSCORE calls after the first run `between` first. */
function hooked(client: Redis, between: () => Promise<void>, digests: string[]): Redis {
  let calls = 0;
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'smismember') {
        return (key: string, ...members: string[]) => {
          digests.push(...members);
          return target.smismember(key, ...members);
        };
      }
      if (prop === 'zrangeBuffer') {
        return async (...args: unknown[]) => {
          if (calls++ > 0 && args.some((a) => String(a) === 'BYSCORE')) await between();
          return (value as (...a: unknown[]) => Promise<Buffer[]>).apply(target, args);
        };
      }
      return value;
    },
  });
}

async function trial(seed: number): Promise<string[]> {
  const random = prng(seed);
  const key = 'retry';
  // One group of equal scores larger than a call (200), `at` near a call's end, entries of later scores after it.
  const group = 250 + Math.floor(random() * 500);
  const atIndex = [199, 198, 200, 150 + Math.floor(random() * 100)][Math.floor(random() * 4)]!;
  const pad = (i: number) => String(i).padStart(5, '0');
  const ids: string[] = [];
  const seeding = redis.client().pipeline();
  for (let i = 0; i < group; i++) {
    ids.push(pad(i));
    seeding.zadd(key, String(SCORE), payloadOf(pad(i)));
  }
  const later = Math.floor(random() * 300);
  for (let i = 0; i < later; i++) {
    ids.push(pad(group + i));
    seeding.zadd(key, String(SCORE + 1 + i), payloadOf(pad(group + i)));
  }
  await seeding.exec();
  const at = payloadOf(pad(atIndex));
  const after = new Set(ids.slice(atIndex + 1));
  const touched = new Set<string>();
  let added = 0;

  const between = async () => {
    const actions = Math.floor(random() * 3);
    for (let a = 0; a < actions; a++) {
      if (random() < 0.7) {
        // The poller: the soonest entries of the group (before `at`: read already), or one further on.
        const rank = random() < 0.7 ? 0 : Math.floor(random() * group);
        const [m] = await other.zrange(key, String(rank), String(rank));
        if (m !== undefined && m !== at && (await other.zrem(key, m)) === 1) touched.add((JSON.parse(m) as { args: [string] }).args[0]);
      } else {
        // A scheduler: an entry of the same score, sorting somewhere in the group.
        const id = `${pad(Math.floor(random() * group))}-${added++}`;
        await other.zadd(key, String(SCORE), payloadOf(id));
        touched.add(id);
        if (id > pad(atIndex) + '"') after.add(id);
      }
    }
  };

  const digests: string[] = [];
  const left = await countSelectedLeft(hooked(redis.client(), between, digests), key, 'conflicts', 'originals', new Set(['A']), undefined, {
    from: { score: String(SCORE), digest: memberDigest(Buffer.from(at)), before: atIndex },
  });
  await redis.client().del(key);
  const idOfDigest = new Map([...after, ...touched].map((id) => [memberDigest(Buffer.from(payloadOf(id))), id]));
  const wrong: string[] = [];
  const seen = new Map<string, number>();
  for (const d of digests) seen.set(d, (seen.get(d) ?? 0) + 1);
  for (const [d, times] of seen) {
    const id = idOfDigest.get(d);
    if (id === undefined || !after.has(id)) wrong.push(`seed ${seed}: counted an entry not after at (${id ?? d})`);
    else if (times > 1) wrong.push(`seed ${seed}: ${id} counted ${times} times`);
  }
  for (const id of after) if (!touched.has(id) && !seen.has(memberDigest(Buffer.from(payloadOf(id))))) wrong.push(`seed ${seed}: ${id}, after at all along, not counted`);
  if (left.selected !== digests.length) wrong.push(`seed ${seed}: selected ${left.selected}, ${digests.length} read`);
  return wrong;
}

describe('countSelectedLeft after an entry inside a group of equal scores, while the poller and a scheduler act between its calls', () => {
  it(`counts every entry after it present all along once, every other at most once (${SEEDS} seeds)`, async () => {
    const wrong: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) wrong.push(...(await trial(seed)));
    expect(wrong).toEqual([]);
  }, 120_000);
});
