import type { Redis, RedisKey } from 'ioredis';
import { jobsWithinBytes } from '../redis/page-bytes.js';
import { entryDigest } from './rewritten-entries.js';

/**
 * Why a `front` pass marks the highest job it left in place (`top`: the digest of the first job its
 * windows kept). At its end the jobs it kept (unmapped, unparsable, already routed; a rollback's
 * jobs of other classes on a live queue) lie at the tail, below every job that arrived (producers
 * push at the head). Counted as the list's length less the jobs kept, a worker's pop of a kept job
 * between the pass's last move and its count hid one arrival: a job pushed during the run was
 * counted as ours, and a run could end "Complete" over it (test/redis/reroute/queue-slice.test.ts,
 * "between its last move and its count"). The jobs above the top are what arrived, whatever was
 * popped below it.
 */

/** How far from where it should be the top is looked for in the count's first read (as front-window.ts). */
const NEAR = 64;
/** Most jobs per further read: fewer when they are large (page-bytes.ts). */
const FAR_CHUNK = 1000;
/**
 * The most jobs the count reads looking for the top in one step (one page of its task): as
 * END_COUNT_JOBS (selective-queue-transfer.ts), ~0.3 s. Not found by then, the search goes on in
 * the next step from where it stopped (TopSearch, kept in the cursor), in this task or the next.
 */
export const TOP_READ_JOBS = 50_000;

/**
 * Where a count that read TOP_READ_JOBS without finding the top stopped, for its next step: the
 * tail offset it reads down from next (`tailTo`, -1 once it reached the tail), the head index it
 * reads on from (`headFrom`), and how many jobs it read in all (`read`). Neither end loses the top
 * between steps: a worker's pops move it down the tail offsets (below `tailTo`, still to be read),
 * producers' pushes move it up the head indexes (past `headFrom`). A stopping Sidekiq's RPUSH can
 * move it up into what was read: then it is not found, and every job is counted (over, never
 * under), as within a step. `most`: the search's end, twice the list's length at its first read
 * and a step's reads more (a queue whose producers outpace the reads, the top gone): reached, every
 * job on the list is counted, as the whole count did after one task's reads before.
 */
export interface TopSearch {
  readonly tailTo: number;
  readonly headFrom: number;
  readonly read: number;
  readonly most: number;
}

/** The count's answer: what arrived, or, not found yet, where its next step goes on. */
export type TopCount = { readonly arrived: number } | { readonly search: TopSearch };

/**
 * How many jobs on `key` arrived after the pass's windows: the jobs above the top, and never fewer
 * than the list's length less the `kept` jobs (a stopping Sidekiq's RPUSH of jobs it had fetched
 * lands below the top: those beyond the kept count arrived too, as they were counted before). The
 * top is looked for where it should be (`kept` - 1 jobs below it: nothing popped, one read with
 * the length, the usual case), else by turns further down from the tail (a worker's pops moved it
 * there) and down from the head (it lies below the arrivals), each read with the list's length in
 * one MULTI so that its offset and the length agree. Among byte-identical jobs the lowest in a read
 * is taken: more is counted, never less. Gone (popped with every job below it), or not found by
 * the search's end (TopSearch `most`): every job on the list is counted, never fewer than arrived.
 * Not found within `step` jobs read: `search`, where the next step (given it as `resume`) goes on.
 */
export async function arrivedAboveTop(redis: Redis, key: RedisKey, top: string, kept: number, bytesPerJob: number | undefined, resume?: TopSearch, step = TOP_READ_JOBS): Promise<TopCount> {
  const count = (length: number, below: number) => ({ arrived: Math.max(length - below - 1, length - kept) });
  const chunk = jobsWithinBytes(bytesPerJob, FAR_CHUNK);
  let search: TopSearch;
  // Not yet known in a step that goes on: the first read tells it.
  let length = Number.POSITIVE_INFINITY;
  if (resume === undefined) {
    const expected = Math.max(0, kept - 1);
    const from = Math.max(0, expected - NEAR);
    const near = await lengthAndTail(redis, key, from, expected + NEAR + 1 - from);
    const hit = lowestHit(near.oldestFirst, top);
    if (hit !== null) return count(near.length, from + hit);
    length = near.length;
    search = { tailTo: from - 1, headFrom: 0, read: near.oldestFirst.length, most: 2 * near.length + step };
  } else search = resume;
  // Further down from the tail (offsets below the first read), and down from the head.
  let { tailTo, headFrom, read } = search;
  const stepEnd = Math.min(search.most, read + step);
  // Tail offsets at or above the length last read held nothing then, and only a stopping Sidekiq's
  // RPUSH moves the top up into them (as into what was read: over, never under); pops move it down.
  tailTo = Math.min(tailTo, length - 1);
  while (read < stepEnd && (tailTo >= 0 || headFrom < length)) {
    if (tailTo >= 0) {
      const start = Math.max(0, tailTo - chunk + 1);
      const part = await lengthAndTail(redis, key, start, tailTo - start + 1);
      const at = lowestHit(part.oldestFirst, top);
      if (at !== null) return count(part.length, start + at);
      [read, length, tailTo] = [read + part.oldestFirst.length, part.length, Math.min(start - 1, part.length - 1)];
    }
    if (headFrom < length && read < stepEnd) {
      const part = await lengthAndHead(redis, key, headFrom, chunk);
      const at = lastHit(part.newestFirst, top);
      // `headFrom + at` jobs lie above it: the rest, it included, below.
      if (at !== null) return count(part.length, part.length - (headFrom + at) - 1);
      [read, length, headFrom] = [read + part.newestFirst.length, part.length, headFrom + part.newestFirst.length];
      if (part.newestFirst.length < chunk) headFrom = length;
      tailTo = Math.min(tailTo, length - 1);
    }
  }
  if (read < search.most && (tailTo >= 0 || headFrom < length)) return { search: { tailTo, headFrom, read, most: search.most } };
  // Gone, or not found by the search's end: every job on the list (read now when no read told it).
  return { arrived: Number.isFinite(length) ? length : await redis.llen(key) };
}

/** The list's length and `count` jobs from tail offset `from` upward, oldest first, in one MULTI. */
async function lengthAndTail(redis: Redis, key: RedisKey, from: number, count: number): Promise<{ length: number; oldestFirst: Buffer[] }> {
  const replies = (await redis.multi().llen(key).lrangeBuffer(key, -(from + count), -(from + 1)).exec()) as [[Error | null, number], [Error | null, Buffer[]]];
  for (const [error] of replies) if (error) throw error;
  return { length: replies[0][1], oldestFirst: [...replies[1][1]].reverse() };
}

/** The list's length and `count` jobs from head index `from` on, newest first, in one MULTI. */
async function lengthAndHead(redis: Redis, key: RedisKey, from: number, count: number): Promise<{ length: number; newestFirst: Buffer[] }> {
  const replies = (await redis.multi().llen(key).lrangeBuffer(key, from, from + count - 1).exec()) as [[Error | null, number], [Error | null, Buffer[]]];
  for (const [error] of replies) if (error) throw error;
  return { length: replies[0][1], newestFirst: replies[1][1] };
}

/** The index of the lowest job with digest `top` among `oldestFirst`: the first one; null if none. */
function lowestHit(oldestFirst: readonly Buffer[], top: string): number | null {
  const i = oldestFirst.findIndex((job) => entryDigest(job) === top);
  return i < 0 ? null : i;
}

/** The index of the last job with digest `top` among `newestFirst`, the lowest on the list; null if none. */
function lastHit(newestFirst: readonly Buffer[], top: string): number | null {
  for (let i = newestFirst.length - 1; i >= 0; i--) if (entryDigest(newestFirst[i]!) === top) return i;
  return null;
}
