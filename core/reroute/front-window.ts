import type { Redis, RedisKey } from 'ioredis';
import { entryDigest } from './rewritten-entries.js';

/**
 * Why a `front` pass marks where its originals end. It reads its queue's originals newest first,
 * from just below the jobs it left in place (unmapped, unparsable, already routed; in a dry run,
 * every job): the originals not yet examined are the `unexamined` jobs at the tail, below those.
 * A worker still fetching from the queue takes from the tail: after `p` pops a window placed by
 * count alone starts `p` jobs too high and takes back jobs already examined and left, counted
 * twice (unmapped, already routed), and their count as "ours" hides as many arrivals at the end.
 * The list's length cannot tell pops apart from arrivals at the head. So the pass keeps the digest
 * of the lowest job it left (`floor`), and each window starts just below it.
 */

/** How far from where it was the floor is looked for in the window's own read (as append-window.ts). */
const NEAR = 64;

/**
 * The newest `want` jobs below the floor (newest first, as LRANGE returns them) and how many jobs
 * lie below the floor now (`present`). The floor is looked for at tail offset `at` (nothing
 * popped), else lower (pops), the highest hit first, so that a job is examined again rather than
 * stepped over; else higher (Sidekiq's shutdown RPUSHes the jobs it had fetched back onto the
 * tail); else further down, `want` at a time. Gone (every job below it popped too): nothing is
 * left to examine.
 */
export async function readFrontWindow(redis: Redis, key: RedisKey, at: number, floor: string, want: number): Promise<{ window: Buffer[]; present: number }> {
  const from = Math.max(0, at - NEAR - want);
  const oldestFirst = (await readTail(redis, key, from, at + NEAR + 1 - from)).reverse();
  const expected = at - from;
  const hit = findFloor(oldestFirst, floor, expected);
  if (hit !== null) return windowBelow(oldestFirst, from, hit, want, redis, key);
  const present = await findBelow(redis, key, floor, from, want);
  return { window: present === 0 ? [] : await readTail(redis, key, Math.max(0, present - want), Math.min(want, present)), present };
}

/** The window just below the floor found at `oldestFirst[hit]`: from this read when it holds it, else read again. */
async function windowBelow(oldestFirst: readonly Buffer[], from: number, hit: number, want: number, redis: Redis, key: RedisKey): Promise<{ window: Buffer[]; present: number }> {
  const present = from + hit;
  const take = Math.min(want, present);
  if (present - take >= from) return { window: oldestFirst.slice(hit - take, hit).reverse(), present };
  return { window: take > 0 ? await readTail(redis, key, present - take, take) : [], present };
}

/** The floor's index among `oldestFirst`: at `expected`, else the highest below it, else the lowest above. */
function findFloor(oldestFirst: readonly Buffer[], floor: string, expected: number): number | null {
  const digests = oldestFirst.map((job) => entryDigest(job));
  if (digests[expected] === floor) return expected;
  for (let i = Math.min(expected, digests.length) - 1; i >= 0; i--) if (digests[i] === floor) return i;
  for (let i = expected + 1; i < digests.length; i++) if (digests[i] === floor) return i;
  return null;
}

/** How many jobs lie below the floor, looked for below tail offset `under`, `chunk` at a time downward; 0 when it is gone. */
async function findBelow(redis: Redis, key: RedisKey, floor: string, under: number, chunk: number): Promise<number> {
  for (let to = under - 1; to >= 0; to -= chunk) {
    const from = Math.max(0, to - chunk + 1);
    const oldestFirst = (await readTail(redis, key, from, to - from + 1)).reverse();
    for (let i = oldestFirst.length - 1; i >= 0; i--) if (entryDigest(oldestFirst[i]!) === floor) return from + i;
  }
  return 0;
}

/** `count` jobs from tail offset `from` upward, newest first; fewer when the list is shorter. */
function readTail(redis: Redis, key: RedisKey, from: number, count: number): Promise<Buffer[]> {
  return count <= 0 ? Promise.resolve([]) : redis.lrangeBuffer(key, -(from + count), -(from + 1));
}
