import type { Redis, RedisKey } from 'ioredis';
import { jobsWithinBytes } from '../redis/page-bytes.js';
import { OTHER_QUEUES } from '../reroute/reroute-counters.js';
import { memberDigest, selectJob } from './class-selection.js';
import { addLeftQueues, countLeftEntry } from './set-leftovers.js';

/** Most entries per read of the set: fewer when they are large (page-bytes.ts). */
const COUNT_PAGE = 1000;

/**
 * When the count stops reading: the page task's deadline (drive-pages.ts DriveLimits.deadline,
 * already short of the function's timeout by a page's margin). Its first page is always read.
 */
export interface CountBound {
  readonly until?: number;
  readonly clock?: () => number;
}

export interface SelectedLeft {
  /** The selected classes' entries read and left (conflicts given back not among them): all of them, or, with `unread`, at least these. */
  readonly selected: number;
  /** Every entry by the queue it names (set-leftovers.ts); those not read under OTHER_QUEUES, so the set's total stays exact. */
  readonly byQueue: Record<string, number>;
  /** The count ran out of its time: the set's entries it did not read (ZCARD then, less those read). Absent when it read them all. */
  readonly unread?: number;
}

/**
 * Selected entries still in the set at the end of its pass, but for the conflicts this run gave
 * back (their SHA-1s in `conflicts`): entries added while the pass ran, at any score, and any the
 * claim found rescored. Reads the set from its soonest entry in pages sized by `bytesPerJob`, as
 * the pass did, and counts every entry it reads by the queue it names, in the same read. A
 * GitLab's `retry` or `dead` holds millions of other classes' entries: read whole in one task it
 * outlived the function's timeout at the very end of the run (test/workflow/selective-set-count-bounded.test.ts).
 * So it stops at `bound.until` and says how many entries it did not read (`unread`): what it
 * counted is then a floor. Memory is one page: each page's selected SHA-1s are looked up in
 * `conflicts` (SMISMEMBER) rather than every one of them, and every conflict, held at once.
 * A snapshot at the pass's end: an entry the poller takes between two pages may move the ranks
 * under the read (one entry missed or counted twice), as any count read in pages.
 */
export async function countSelectedLeft(source: Redis, key: string, conflicts: RedisKey, originals: RedisKey, classes: ReadonlySet<string>, bytesPerJob: number | undefined, bound: CountBound = {}): Promise<SelectedLeft> {
  const until = bound.until ?? Infinity;
  const clock = bound.clock ?? Date.now;
  const byQueue: Record<string, number> = {};
  const size = jobsWithinBytes(bytesPerJob, COUNT_PAGE);
  let selected = 0;
  let read = 0;
  for (let from = 0; ; from += size) {
    // The pass is done: its kept bound (startCursor) is deleted with the first read.
    const page = from > 0 ? await source.zrangeBuffer(key, String(from), String(from + size - 1)) : replyAt<Buffer[]>(await source.multi().del(originals).zrangeBuffer(key, '0', String(size - 1)).exec(), 1);
    const digests: string[] = [];
    for (const m of page) {
      countLeftEntry(byQueue, m);
      if (selectJob(m, classes).take) digests.push(memberDigest(m));
    }
    if (digests.length > 0) selected += (await source.smismember(conflicts, ...digests)).filter((given) => given === 0).length;
    read += page.length;
    if (page.length < size) return { selected, byQueue };
    if (clock() >= until) break;
  }
  const unread = Math.max(0, (await source.zcard(key)) - read);
  if (unread === 0) return { selected, byQueue };
  addLeftQueues(byQueue, { [OTHER_QUEUES]: unread });
  return { selected, byQueue, unread };
}

/** The reply of a MULTI's `i`th command; its error thrown (none is taken for an empty reply). */
function replyAt<T>(replies: [Error | null, unknown][] | null, i: number): T {
  const [error, value] = replies?.[i] ?? [new Error('MULTI aborted: no reply')];
  if (error) throw error;
  return value as T;
}
