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
 * The newest `want` jobs below the floor (newest first, as LRANGE returns them), how many jobs
 * lie below the floor now (`present`), and the job just below the window (`next`, when there is
 * one and it was read: the next window's mark, see below). The floor is looked for at tail offset
 * `at` (nothing popped), else lower (pops), the highest hit first, so that a job is examined again
 * rather than stepped over; else higher (Sidekiq's shutdown RPUSHes the jobs it had fetched back
 * onto the tail); else further down, `want` at a time. Gone (every job below it popped too):
 * nothing is left to examine.
 *
 * `inclusive`: the mark is not a job left above the originals but the highest original not yet
 * examined (the job a window read just below itself), so the window starts at it: `present`
 * counts it. `gone`: the mark is nowhere on the list (popped with every job below it, or, for such
 * a mark, moved by an attempt of the slice whose answer was lost: the caller places the window
 * otherwise then). A pass that has left nothing in place has no floor, and placed by count alone its
 * window slid down by the jobs pushed onto the tail meanwhile (a rollback's other pass putting
 * jobs back on this queue), took them for originals and left as many originals above it.
 */
export async function readFrontWindow(redis: Redis, key: RedisKey, at: number, floor: string, want: number, inclusive = false): Promise<{ window: Buffer[]; present: number; next?: Buffer; gone?: true }> {
  // A window read apart from the read that found the mark is checked against it: jobs pushed onto
  // the tail between the two reads (a rollback's other pass) shift it, and it is looked for again.
  for (let attempt = 1; ; attempt++) {
    const found = await lookFrontWindow(redis, key, at, floor, want, inclusive, attempt < FIND_ATTEMPTS);
    if (found !== null) return found;
  }
}

/** How many times a window read apart from its mark is looked for again when the mark moved between the reads; the last is taken unchecked. */
const FIND_ATTEMPTS = 5;

async function lookFrontWindow(redis: Redis, key: RedisKey, at: number, floor: string, want: number, inclusive: boolean, check: boolean): Promise<{ window: Buffer[]; present: number; next?: Buffer; gone?: true } | null> {
  const mark = check ? { digest: floor, inclusive } : undefined;
  const from = Math.max(0, at - NEAR - want);
  const oldestFirst = (await readTail(redis, key, from, at + NEAR + 1 - from)).reverse();
  const expected = at - from;
  const hit = findFloor(oldestFirst, floor, expected);
  if (hit !== null) return windowBelow(oldestFirst, from, inclusive ? hit + 1 : hit, want, redis, key, mark);
  // Not near where it was: lower down (more pops), else higher up (more jobs pushed onto the tail
  // than the read reaches: a rollback's other pass puts a whole window back at a time). Not there
  // at all, it was popped, and every job below it with it.
  const found = (await findBelow(redis, key, floor, from, want)) ?? (await findAbove(redis, key, floor, at + NEAR + 1, want));
  if (found === null) return { window: [], present: 0, gone: true };
  const present = inclusive ? found + 1 : found;
  return present === 0 ? { window: [], present } : windowAt(redis, key, present, want, mark);
}

/** The window just below the cut at `oldestFirst[cut]` (`cut` jobs of the read lie below it): from this read when it holds it, else read again. */
async function windowBelow(oldestFirst: readonly Buffer[], from: number, cut: number, want: number, redis: Redis, key: RedisKey, mark?: WindowMark): Promise<{ window: Buffer[]; present: number; next?: Buffer } | null> {
  const present = from + cut;
  const take = Math.min(want, present);
  if (present - take < from) return windowAt(redis, key, present, want, mark);
  const window = oldestFirst.slice(cut - take, cut).reverse();
  const below = cut - take - 1;
  if (present - take === 0) return { window, present };
  return below >= 0 ? { window, present, next: oldestFirst[below]! } : { window, present };
}

/** A mark a window read on its own must still stand at: the floor just above it, or (`inclusive`) its first job. */
interface WindowMark {
  readonly digest: string;
  readonly inclusive: boolean;
}

/**
 * The newest `want` of the `present` jobs at the tail, and the job just below them when there is
 * one. With `mark`: null when the mark is not where the window says (the list moved since it was
 * found), so that the caller looks for it again.
 */
export async function windowAt(redis: Redis, key: RedisKey, present: number, want: number, mark?: WindowMark): Promise<{ window: Buffer[]; present: number; next?: Buffer } | null> {
  const take = Math.min(want, present);
  const rest = present - take;
  const above = mark !== undefined && !mark.inclusive ? 1 : 0;
  const count = take + (rest > 0 ? 1 : 0) + above;
  const read = count > 0 ? await readTail(redis, key, rest > 0 ? rest - 1 : 0, count) : [];
  if (mark !== undefined && (read[0] === undefined || entryDigest(read[0]) !== mark.digest)) return null;
  const window = read.slice(above, above + take);
  // Fewer than asked (a worker took some since): the window is what there is, and no mark is known.
  if (rest > 0 && read.length === count) return { window, present, next: read[above + take]! };
  return { window, present };
}

/**
 * The floor's index among `oldestFirst`: at `expected`, else the highest below it, else the lowest
 * above. Each job is digested only when looked at: where nothing moved, one digest a window, not
 * one a job of the read (a SHA-1 of each job, ~1 µs a job of a queue's re-route: audit-speed).
 */
function findFloor(oldestFirst: readonly Buffer[], floor: string, expected: number): number | null {
  const isFloor = (i: number) => entryDigest(oldestFirst[i]!) === floor;
  if (expected < oldestFirst.length && isFloor(expected)) return expected;
  for (let i = Math.min(expected, oldestFirst.length) - 1; i >= 0; i--) if (isFloor(i)) return i;
  for (let i = expected + 1; i < oldestFirst.length; i++) if (isFloor(i)) return i;
  return null;
}

/** The floor's tail offset (how many jobs lie below it), looked for below tail offset `under`, `chunk` at a time downward; null when it is gone. */
async function findBelow(redis: Redis, key: RedisKey, floor: string, under: number, chunk: number): Promise<number | null> {
  for (let to = under - 1; to >= 0; to -= chunk) {
    const from = Math.max(0, to - chunk + 1);
    const oldestFirst = (await readTail(redis, key, from, to - from + 1)).reverse();
    for (let i = oldestFirst.length - 1; i >= 0; i--) if (entryDigest(oldestFirst[i]!) === floor) return from + i;
  }
  return null;
}

/** The floor's tail offset, looked for from tail offset `over` upward, `chunk` at a time, the lowest hit; null when it is not there. */
async function findAbove(redis: Redis, key: RedisKey, floor: string, over: number, chunk: number): Promise<number | null> {
  for (let from = over; ; from += chunk) {
    const oldestFirst = (await readTail(redis, key, from, chunk)).reverse();
    for (let i = 0; i < oldestFirst.length; i++) if (entryDigest(oldestFirst[i]!) === floor) return from + i;
    if (oldestFirst.length < chunk) return null;
  }
}

/** `count` jobs from tail offset `from` upward, newest first; fewer when the list is shorter. */
function readTail(redis: Redis, key: RedisKey, from: number, count: number): Promise<Buffer[]> {
  return count <= 0 ? Promise.resolve([]) : redis.lrangeBuffer(key, -(from + count), -(from + 1));
}
