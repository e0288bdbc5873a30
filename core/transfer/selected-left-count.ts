import type { Redis, RedisKey } from 'ioredis';
import { jobsWithinBytes, MAX_ENTRIES_PER_SCAN_CALL } from '../redis/page-bytes.js';
import { OTHER_QUEUES } from '../reroute/reroute-counters.js';
import { memberDigest, selectJob } from './class-selection.js';
import { addLeftQueues, countLeftEntry } from './set-leftovers.js';

/**
 * Most entries per read of the set (fewer when they are large): as every set read, at most
 * MAX_ENTRIES_PER_SCAN_CALL a call (page-bytes.ts), since every Sidekiq client waits behind it; a
 * count cut short by its task's time goes on in the next task (selective-set-transfer.ts).
 */
const COUNT_PAGE = MAX_ENTRIES_PER_SCAN_CALL;

/**
 * Where a count stands: the last entry it read, by its exact score (Redis's text) and SHA-1. Small
 * (it goes into Step Functions state, selective-set-transfer.ts SelectiveSetCursor.count), and it
 * stays right while the set changes under it, which a rank or a ZSCAN cursor does not: the poller
 * takes due entries from the soonest (every rank after them moves down) and Sidekiq adds retries at
 * any score (ranks move up; a ZSCAN cursor may return entries twice once the table is resized).
 */
export interface CountPosition {
  readonly score: string;
  readonly digest: string;
  /** Entries of its score before it when it was read: the next read asks for that many more, to reach past it in one call (readAfter). */
  readonly before: number;
}

/**
 * When the count stops reading: the page task's deadline (drive-pages.ts DriveLimits.deadline,
 * already short of the function's timeout by a page's margin). Its first page is always read.
 * `from`: a count carried on from an earlier task reads after that entry (none: from the soonest).
 */
export interface CountBound {
  readonly until?: number;
  readonly clock?: () => number;
  readonly from?: CountPosition;
}

export interface SelectedLeft {
  /** The selected classes' entries read and left (conflicts given back not among them): all of them, or, with `unread`, at least these. */
  readonly selected: number;
  /** Every entry read, by the queue it names (set-leftovers.ts). Those not read are not in it: see cutShort. */
  readonly byQueue: Record<string, number>;
  /** The count ran out of its time: the set's entries after the last one read (its rank then). Absent when it read them all. */
  readonly unread?: number;
  /** With `unread`: the last entry read, from which a next task may carry the count on. */
  readonly at?: CountPosition;
}

/**
 * Selected entries still in the set at the end of its pass, but for the conflicts this run gave
 * back (their SHA-1s in `conflicts`): entries added while the pass ran, at any score, and any the
 * claim found rescored. Reads the set from its soonest entry (or after `bound.from`) in pages sized
 * by `bytesPerJob`, as the pass did, and counts every entry it reads by the queue it names, in the
 * same read. A GitLab's `retry` or `dead` holds millions of other classes' entries: read whole in
 * one task it outlived the function's timeout at the very end of the run
 * (test/workflow/selective-set-count-bounded.test.ts). So it stops at `bound.until` and says how
 * many entries it did not read (`unread`) and where it stopped (`at`): its caller either carries
 * the count on in a next task from there (selective-set-transfer.ts) or says it was cut short
 * (cutShort). Memory is one page: each page's selected SHA-1s are looked up in `conflicts`
 * (SMISMEMBER) rather than every one of them, and every conflict, held at once. Each page reads
 * after the last entry read by its score (readAfter), so the poller taking due entries between two
 * pages, or two tasks, skips nothing; an entry added at a score already read is not counted (it
 * arrived after the count passed there, as after a count read at once).
 */
export async function countSelectedLeft(source: Redis, key: string, conflicts: RedisKey, originals: RedisKey, classes: ReadonlySet<string>, bytesPerJob: number | undefined, bound: CountBound = {}): Promise<SelectedLeft> {
  const until = bound.until ?? Infinity;
  const clock = bound.clock ?? Date.now;
  const byQueue: Record<string, number> = {};
  const size = jobsWithinBytes(bytesPerJob, COUNT_PAGE);
  let selected = 0;
  let at = bound.from;
  let last: Buffer | undefined;
  for (let first = true; ; first = false) {
    // The pass is done: its kept bound (startCursor) is deleted with the count's first read.
    const { entries, ended, before } = await readAfter(source, key, at, size, first && at === undefined ? originals : undefined);
    const digests: string[] = [];
    for (const e of entries) {
      countLeftEntry(byQueue, e.member);
      if (selectJob(e.member, classes).take) digests.push(memberDigest(e.member));
    }
    if (digests.length > 0) selected += (await source.smismember(conflicts, ...digests)).filter((given) => given === 0).length;
    const end = entries.at(-1);
    if (end) [at, last] = [{ score: end.score, digest: memberDigest(end.member), before }, end.member];
    if (ended) return { selected, byQueue };
    if (clock() >= until) break;
  }
  const unread = await entriesAfter(source, key, at!, last);
  if (unread === 0) return { selected, byQueue };
  return { selected, byQueue, unread, at: at! };
}

/** A count given up before its end: the entries it did not read under OTHER_QUEUES (the set's total stays exact), `unread` said. */
export function cutShort(left: SelectedLeft): SelectedLeft {
  if (left.unread === undefined) return left;
  const byQueue = { ...left.byQueue };
  addLeftQueues(byQueue, { [OTHER_QUEUES]: left.unread });
  return { selected: left.selected, byQueue, unread: left.unread };
}

/** The set's entries after the last one read: by its rank when it is still there, else those of a later score. */
async function entriesAfter(source: Redis, key: string, at: CountPosition, last: Buffer | undefined): Promise<number> {
  if (last === undefined) return source.zcount(key, `(${at.score}`, '+inf');
  const replies = await source.multi().zcard(key).zrank(key, last).zcount(key, `(${at.score}`, '+inf').exec();
  const size = replyAt<number>(replies, 0);
  const rank = replyAt<number | null>(replies, 1);
  return rank === null ? replyAt<number>(replies, 2) : Math.max(0, size - rank - 1);
}

type Entry = { member: Buffer; score: string };

/**
 * The next page after `at`: read by score from its score on (ZRANGE BYSCORE), entries of that
 * score up to and including it skipped (Redis orders equal scores by their bytes, so they are the
 * ones read already). Gone (polled: the poller takes the soonest first, in the same order, so the
 * entries of its score before it are gone too), every entry of its score is read. `ended`: the
 * set has nothing after the page. Without `at`, the first page from the soonest entry, `originals`
 * deleted in the same round trip.
 */
export async function readAfter(source: Redis, key: string, at: CountPosition | undefined, size: number, originals: RedisKey | undefined): Promise<{ entries: Entry[]; ended: boolean; before: number }> {
  if (at === undefined) {
    const flat = originals === undefined ? await source.zrangeBuffer(key, '0', String(size - 1), 'WITHSCORES') : replyAt<Buffer[]>(await source.multi().del(originals).zrangeBuffer(key, '0', String(size - 1), 'WITHSCORES').exec(), 1);
    const entries = pairs(flat);
    return { entries, ended: entries.length < size, before: tiesBeforeLast(entries) };
  }
  let found = false;
  let ties: Entry[] = [];
  const read: Entry[] = [];
  // A page, `at` itself and the entries of its score before it (as many as there were; fewer once
  // polled), within a read's cap (COUNT_PAGE): one call reaches past it when they fit. Entries of
  // its score before it beyond that are read in further calls instead, one cap each (a set of one
  // score throughout: correct, not fast); what a call returns past `at` is its page, or less.
  //
  // Each call after the first starts one entry back, on the last entry of the call before, and is
  // kept only if it starts with that entry (member and score): the poller taking an entry below
  // its offset between two calls (or a scheduler adding one) shifts every offset after it, which
  // skipped the entry past a call's end, `at` itself too (then every entry of its score before it
  // was counted as after it). A call that does not start there is not used: the read starts over
  // from the score's first entry (none of it was counted yet: it is counted on return).
  // Two entries a call at least, so that each after the first reaches one past the one before.
  const asked = Math.max(2, Math.min(COUNT_PAGE, size + 1 + Math.min(at.before, size)));
  for (let offset = 0, previous: Entry | undefined; ; ) {
    const reply = pairs(await source.zrangeBuffer(key, at.score, '+inf', 'BYSCORE', 'LIMIT', offset, asked, 'WITHSCORES'));
    if (previous !== undefined && (reply.length === 0 || !reply[0]!.member.equals(previous.member) || reply[0]!.score !== previous.score)) {
      [offset, previous, found, ties] = [0, undefined, false, []];
      read.length = 0;
      continue;
    }
    const ended = reply.length < asked;
    const page = previous === undefined ? reply : reply.slice(1);
    previous = reply.at(-1);
    offset += asked - 1;
    read.push(...page);
    let i = 0;
    for (; i < page.length && !found && page[i]!.score === at.score; i++) {
      if (memberDigest(page[i]!.member) === at.digest) [found, ties] = [true, []];
      else ties.push(page[i]!);
    }
    const rest = page.slice(i);
    // Its last entry was the page's last, or the page held only entries of its score before it: the next page.
    if (!ended && rest.length === 0) continue;
    // A page at most (`at` gone, the entries of its score after it are read too); `ended` only when nothing was left out.
    const all = found ? rest : [...ties, ...rest];
    const dropped = Math.max(0, all.length - size);
    // What was read started where the entries of `at`'s score start: the entries of the last one's score before it are all in it.
    return { entries: all.slice(0, all.length - dropped), ended: ended && dropped === 0, before: tiesBeforeLast(read.slice(0, read.length - dropped)) };
  }
}

/** How many entries before the last one have its score (`entries` read from where that score's entries start, or before). */
function tiesBeforeLast(entries: readonly Entry[]): number {
  const last = entries.at(-1);
  if (!last) return 0;
  let i = entries.length - 1;
  while (i > 0 && entries[i - 1]!.score === last.score) i--;
  return entries.length - 1 - i;
}

function pairs(flat: Buffer[]): Entry[] {
  const entries: Entry[] = [];
  for (let i = 0; i < flat.length; i += 2) entries.push({ member: flat[i]!, score: flat[i + 1]!.toString('latin1') });
  return entries;
}

/** The reply of a MULTI's `i`th command; its error thrown (none is taken for an empty reply). */
function replyAt<T>(replies: [Error | null, unknown][] | null, i: number): T {
  const [error, value] = replies?.[i] ?? [new Error('MULTI aborted: no reply')];
  if (error) throw error;
  return value as T;
}
