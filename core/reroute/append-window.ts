import type { Redis, RedisKey } from 'ioredis';
import { entryDigest } from './rewritten-entries.js';

/**
 * What an `append` pass has left at the tail of its queue: `over` jobs, the innermost of which
 * (the newest of them, just below the jobs not yet examined) has the digest `anchor`
 * (rewritten-entries.ts: 66 bits of its SHA-1).
 *
 * Why not a count alone: an `append` pass reads its queue from the oldest end and leaves the jobs
 * it keeps (unmapped, unparsable, already routed; in a dry run, every job) where they are, so each
 * window starts just above them. A worker still fetching from the queue (the runbooks keep old
 * queues listened to during a run) takes the oldest job first: one of those. After `p` such pops a
 * window placed `over` jobs above the tail would step over `p` jobs nobody examined, left on the
 * old queue and counted nowhere (the jobs popped and the jobs stepped over cancel out in the
 * arrivals). So the pass finds its anchor again before each window.
 */
export interface TailMark {
  readonly over: number;
  readonly anchor: string;
}

/**
 * How far below where it was the anchor is looked for in the window's own read: a worker takes a
 * few jobs between two slices, rarely dozens. Further down costs a read of its own.
 */
const NEAR = 64;

/**
 * The next `want` jobs above what the pass left at the tail, newest first (as LRANGE returns
 * them), and how many jobs lie below them now. `over` without a mark: the count alone (a cursor
 * written before marks were kept, or nothing left at the tail yet).
 *
 * The anchor is looked for where it was (nothing popped: the usual case, one read as before), else
 * lower down, in the same read (it reaches NEAR jobs below), else in reads further down, `want`
 * at a time. Pops move it toward the tail; only Sidekiq's shutdown moves it away from the tail
 * (BasicFetch RPUSHes the jobs it had fetched back onto it, jobs fetched before the run among
 * them), so it is looked for higher up too, in the same read, before further down. Among jobs with the anchor's bytes the lowest is
 * taken, so that a job is examined again rather than stepped over; only a payload equal to the
 * anchor's above it, found in a further read before the anchor itself (byte-identical jobs and
 * more than NEAR pops between two slices), can still make the pass step over jobs, which then
 * stay on the old queue: nothing is lost or written twice. Gone (every job below it popped too):
 * the window starts at the tail.
 */
export async function readAppendWindow(redis: Redis, key: RedisKey, over: number, mark: TailMark | undefined, want: number): Promise<{ window: Buffer[]; over: number }> {
  if (mark === undefined) return { window: await readTail(redis, key, over, want), over };
  if (mark.over === 0) return { window: await readTail(redis, key, 0, want), over: 0 };
  const at = mark.over - 1; // the anchor's tail offset if nothing was popped
  const below = Math.min(at, NEAR);
  const near = await readTail(redis, key, at - below, below + 1 + want);
  const oldestFirst = [...near].reverse();
  const hit = lowestHit(oldestFirst, mark.anchor, below) ?? hitAbove(oldestFirst, mark.anchor, below);
  if (hit !== null) {
    const start = hit + 1;
    const over = at - below + start;
    // Found higher up, the read may end before the window does: read the window on its own.
    if (hit > below) return { window: await readTail(redis, key, over, want), over };
    return { window: oldestFirst.slice(start, start + want).reverse(), over };
  }
  const far = await findBelow(redis, key, mark.anchor, at - below, want);
  return { window: await readTail(redis, key, far, want), over: far };
}

/**
 * Where the mark stands after a window: `left` are the jobs of the window (oldest first) that stay
 * on the list, which now lie on top of the `over` below it. `{ over: 0 }` when nothing is left at
 * the tail; undefined only for a cursor written before marks were kept, whose jobs below are
 * known by count alone (and still are, when this window left none).
 */
export function markAfter(over: number, mark: TailMark | undefined, left: readonly Buffer[]): TailMark | undefined {
  const innermost = left.at(-1);
  if (innermost !== undefined) return { over: over + left.length, anchor: entryDigest(innermost) };
  if (over === 0) return { over: 0, anchor: '' };
  return mark === undefined ? undefined : { over, anchor: mark.anchor };
}

/** `count` jobs from tail offset `from` upward, newest first; fewer when the list is shorter. */
async function readTail(redis: Redis, key: RedisKey, from: number, count: number): Promise<Buffer[]> {
  return count <= 0 ? [] : redis.lrangeBuffer(key, -(from + count), -(from + 1));
}

/** The index of the anchor among `oldestFirst`: at `expected` if it is there, else the lowest one. */
function lowestHit(oldestFirst: readonly Buffer[], anchor: string, expected: number): number | null {
  const there = oldestFirst[expected];
  if (there !== undefined && entryDigest(there) === anchor) return expected;
  for (let i = 0; i < Math.min(expected, oldestFirst.length); i++) if (entryDigest(oldestFirst[i]!) === anchor) return i;
  return null;
}

/** The index of the anchor above `expected` among `oldestFirst`, the lowest one; null if none. */
function hitAbove(oldestFirst: readonly Buffer[], anchor: string, expected: number): number | null {
  for (let i = expected + 1; i < oldestFirst.length; i++) if (entryDigest(oldestFirst[i]!) === anchor) return i;
  return null;
}

/** How many jobs lie below the anchor, looked for below tail offset `under`, `chunk` at a time downward; 0 when it is gone. */
async function findBelow(redis: Redis, key: RedisKey, anchor: string, under: number, chunk: number): Promise<number> {
  for (let to = under - 1; to >= 0; to -= chunk) {
    const from = Math.max(0, to - chunk + 1);
    const oldestFirst = (await readTail(redis, key, from, to - from + 1)).reverse();
    const hit = lowestHit(oldestFirst, anchor, oldestFirst.length);
    if (hit !== null) return from + hit + 1;
  }
  return 0;
}
