import { LuaScript, otherCallsThatRan } from '../redis/lua-script.js';
import { expectedBytesPerJob, jobsWithinBytes, MAX_ENTRIES_PER_SCAN_CALL, meanBytes } from '../redis/page-bytes.js';
import { classifyRedisError, withUncountedMoves } from '../redis/redis-errors.js';
import { displayName } from '../redis/key-name.js';
import type { SortedSetName } from '../redis/sidekiq-keys.js';
import { drivePipelinedPages, type DriveLimits, type PageResult } from './drive-pages.js';
import { examineScheduledJob } from './examine-job.js';
import { readAboveBound } from './score-walk-read.js';
import { moveIndex, PageMoves, recordArgs } from './move-record.js';
import type { RecordedMove } from '../routing/reverse-plan.js';
import { addDestinations, addSample, emptyCounters, tallyClass, type RerouteCounters } from './reroute-counters.js';
import { DEFAULT_LUA_BATCH, type RerouteContext } from './reroute-options.js';
import { entryDigest, RewriteDigest, rewrittenEntriesKey } from './rewritten-entries.js';
import type { Splice } from '../payload/rewrite-queue.js';
import { SIDEKIQ_DEFAULT_QUEUE } from '../routing/routing-plan.js';

const rerouteSetEntries = new LuaScript('rerouteSetEntries-n6', { encodeCalls: true });

/**
 * Where a set's scan stands: the ZSCAN cursor (opaque), and the mean payload size seen so far,
 * which bounds the next page (page-bytes.ts); absent until a page has seen an entry.
 */
export interface SetCursor {
  /**
   * The ZSCAN cursor of a pass read by ZSCAN (`from` given, or a run planned by an earlier build);
   * '0' with neither `after` nor `from`: the set not started, read by score (walkSetCalls).
   */
  readonly scan: string;
  /** A pass read by score: the score text (as Redis replied it) of the last score group read whole. */
  readonly after?: string;
  /**
   * A pass read by ZSCAN after a walk by score met a group of equal scores larger than a page:
   * only entries of at least this score are this pass's (those below were walked).
   */
  readonly from?: string;
  readonly bytesPerJob?: number;
  /**
   * A dry run only: the digests (rewritten-entries.ts) of the rewrites it counted as moved in this
   * set so far, at most DRY_RUN_REWRITES_KEPT. A run replaces an entry only if its rewrite is not
   * in the set yet, so a later entry that rewrites to the same bytes (the same job named with
   * another queue) is a conflict, left where it is; the dry run, which writes nothing, must
   * remember what the run would have written to count it so.
   */
  readonly dryRewrites?: readonly string[];
}

/**
 * Digests a dry run carries from page to page of one set (14 bytes each in the cursor, which
 * travels in a Step Functions state of 256 KiB at most, the three sets' items in one Map batch:
 * 42 KB for the three at most, beside a dry run's settings, which carry its routing inline).
 * Moves counted past them are checked only against those kept, and counted as such
 * (`uncheckedMoves`), so that the summary can say so. Conflicts are rare (the same job twice in
 * one set): a dry run of a large set says how many moves it could not check rather than risk the
 * state limit.
 */
export const DRY_RUN_REWRITES_KEPT = 1_000;

export interface SetPageRequest extends RerouteContext {
  readonly set: SortedSetName;
  /**
   * Where to continue: '0' or `{scan: '0'}` to start. A bare ZSCAN cursor (also what a run planned
   * before pages were bounded by bytes carries) knows no size yet: its page probes a few entries.
   */
  readonly cursor: SetCursor | string;
  /**
   * Most entries a page reads (the run's page size): fewer when entries are large, so that a page
   * carries about MAX_PAGE_BYTES (page-bytes.ts; the size may change between pages of one scan).
   * A page is read by ZSCAN calls of at most MAX_ENTRIES_PER_SCAN_CALL each. ZSCAN may return a
   * few more than its COUNT; a set of up to 128 members (listpack, small members only) comes back
   * whole whatever the count.
   */
  readonly count: number;
}

/** A cursor as SetPageRequest takes it, as the page functions use it. */
function setCursor(cursor: SetCursor | string): SetCursor {
  return typeof cursor === 'string' ? { scan: cursor } : cursor;
}

/**
 * Re-routes one ZSCAN page of `schedule`, `retry` or `dead`: every entry whose job belongs on
 * another queue is rewritten in place (only its queue value changes) with the same score, in
 * bounded Lua calls that replace an entry only if it is still there. Entries already routed,
 * unmapped or unparsable are counted and left exactly as they are. A round trip for the reads per
 * WALK_CALLS_AT_ONCE × MAX_ENTRIES_PER_SCAN_CALL entries of a walk by score (score-walk-read.ts;
 * per MAX_ENTRIES_PER_SCAN_CALL of a ZSCAN, page-bytes.ts) and one for the writes (the record of the
 * page's moves included, and the lookup that tells this run's own rewrites met again from jobs
 * already routed, rewritten-entries.ts), whatever the page size; a scan's first page reads a few
 * entries before, to learn their size (scanSetPage).
 */
export async function rerouteSetPage(request: SetPageRequest): Promise<PageResult<SetCursor>> {
  const cursor = setCursor(request.cursor);
  return applySetPage(request, examineSetPage(request, await scanSetPage(request, cursor)), [...(cursor.dryRewrites ?? [])]);
}

/** One ZSCAN reply: the cursor it was asked for, the one it returned, and member/score pairs. */
export interface ScannedSetPage {
  /** The pass's first read was the whole set (ZSCAN cursor 0 to 0, or a walk's first call): it cannot meet a rewrite again. */
  readonly whole: boolean;
  /** Where the next page starts (its bytesPerJob and dryRewrites added by cursorAfter). */
  readonly next: Pick<SetCursor, 'scan' | 'after' | 'from'>;
  readonly done: boolean;
  readonly flat: Buffer[];
  /** The mean member size as the next page should assume it: this page's, or what was known before. */
  readonly bytesPerJob: number | undefined;
}

/** What a page's examination decided, before anything is written. */
interface ExaminedSetPage {
  readonly scanned: ScannedSetPage;
  readonly counters: RerouteCounters;
  readonly rewrites: string | null;
  /** Rewrites grouped by destination, so that each Lua reply counts moves for one queue. */
  readonly byDestination: Map<string, SetPageArg[]>;
  /** Per destination, each rewrite's move, in the order of its quads there (what a call may record). */
  readonly movesByDestination: Map<string, RecordedMove[]>;
  /** Members that look already routed and may be this run's own rewrites met again. */
  readonly lookAlreadyRouted: Buffer[];
}

/**
 * The page's read: the set from `cursor`, as many entries as fit in MAX_PAGE_BYTES at the size the
 * scan has seen so far (a scan's first page reads a few entries first to learn it: one more round
 * trip per set), by ZSCAN calls of at most MAX_ENTRIES_PER_SCAN_CALL, each from the cursor the last
 * returned, until the page has its entries or the scan is over. Nothing is written between them,
 * so the page is what one ZSCAN of its size would have returned, by ZSCAN's guarantees; only each
 * call is short. (Redis's rehashing may return an entry twice, in one page now as across pages
 * before: its second move finds it gone and counts it vanished; reroute-counters.ts.)
 */
async function scanSetPage(request: Omit<SetPageRequest, 'cursor'>, cursor: SetCursor): Promise<ScannedSetPage> {
  const key = request.keys.sortedSet(request.set);
  try {
    const known = await expectedBytesPerJob(request.redis, key, 'zset', cursor.bytesPerJob);
    const want = jobsWithinBytes(known, request.count);
    const read = cursor.from === undefined && (cursor.after !== undefined || cursor.scan === '0') ? await walkSetCalls(request, key, cursor.after, want) : await scanSetCalls(request, key, cursor, want);
    return { ...read, bytesPerJob: meanBytes(members(read.flat), known) };
  } catch (error) {
    throw classifyRedisError(error, `Scanning ${key}`);
  }
}

/**
 * A page read by score: reads of up to WALK_CALLS_AT_ONCE ZRANGE BYSCORE calls of at most
 * MAX_ENTRIES_PER_SCAN_CALL entries sent at once (score-walk-read.ts), each read for scores above
 * the last score group read whole (`after`; all scores at the start). A read keeps its calls only
 * as far as they are contiguous, so that for every entry present all along it is what one atomic
 * call of its size would have returned: below, "call" is such a read.
 *
 * Why every entry present all along is read once, and a rewrite never: a rewrite keeps its score,
 * and a page takes whole groups of equal scores only. Each call is atomic: it returns the first k
 * entries above the bound in (score, member) order. When it returns k, the group of its last score
 * may go on past it, so that group is left for the next call (the bound moves to the score before
 * it): every entry then present with a score in (bound, new bound] was in the reply. Bounds only
 * rise, so an entry present all along is in exactly one reply, and a rewrite (same score, at or
 * below the bound by then) is never read again: the order of equal scores, which the rewrite
 * changes (its member changes), does not matter, since a group is read whole in one call. What
 * Sidekiq does meanwhile changes nothing of it: the poller's ZREM of due entries and a UI's
 * removal take entries away (their move finds them gone, counted vanished), a producer's ZADD adds
 * one that is read if its score is above the bound when the walk gets there (as an arrival is by
 * ZSCAN, or not). A read ahead (drive-pages.ts) reads above the bound of the page whose writes are
 * in flight, so those writes are below it. The record of rewrites (rewritten-entries.ts) is still
 * kept: a page read again from the same cursor (its answer lost, its task retried) meets the
 * rewrites its first attempt made, which must not count as jobs already routed.
 *
 * A group of equal scores that fills a call by itself (Sidekiq's push_bulk with one `at`, say)
 * cannot be read whole within the page's bound and would need the member order, which rewrites
 * change: the pass goes on by ZSCAN from there, over entries of that score or above (`from`), as
 * before this walk (the record of rewrites tells its own rewrites met again). Entries below were
 * walked; their rewrites are below too.
 */
async function walkSetCalls(request: Omit<SetPageRequest, 'cursor'>, key: string, after: string | undefined, want: number): Promise<Omit<ScannedSetPage, 'bytesPerJob'>> {
  let bound = after;
  let flat: Buffer[] = [];
  for (;;) {
    // Up to WALK_CALLS_AT_ONCE calls of at most MAX_ENTRIES_PER_SCAN_CALL in one round trip, kept
    // only as far as they are contiguous (score-walk-read.ts): a read of `k` as one call was.
    const { flat: part, asked: k } = await readAboveBound(request.redis, key, bound, want - flat.length / 2);
    if (part.length < 2 * k) {
      const whole = after === undefined && flat.length === 0;
      flat = flat.length === 0 ? part : flat.concat(part);
      return { whole, next: { scan: '0' }, done: true, flat };
    }
    const last = part[part.length - 1]!;
    let keep = part.length - 2;
    while (keep > 0 && part[keep - 1]!.equals(last)) keep -= 2;
    if (keep === 0) {
      // One score fills the read: the next page takes it with a read of its own, or, if this was
      // one (a page's first read), the group is larger than a page can read whole.
      if (flat.length > 0) break;
      return { whole: false, next: { scan: '0', from: last.toString() }, done: false, flat };
    }
    flat = flat.length === 0 ? part.slice(0, keep) : flat.concat(part.slice(0, keep));
    bound = part[keep - 1]!.toString();
    // Nine tenths of a page will do: a call for the last few would give them back, its group left.
    if (flat.length / 2 >= want - Math.floor(want / 10)) break;
  }
  return { whole: false, next: bound === undefined ? { scan: '0' } : { scan: '0', after: bound }, done: false, flat };
}

/**
 * A page read by ZSCAN calls of at most MAX_ENTRIES_PER_SCAN_CALL, each from the cursor the last
 * returned, until the page has its entries or the scan is over. Nothing is written between them,
 * so the page is what one ZSCAN of its size would have returned, by ZSCAN's guarantees; only each
 * call is short. (Redis's rehashing may return an entry twice, in one page now as across pages
 * before: its second move finds it gone and counts it vanished; reroute-counters.ts.) After a
 * walk by score (`from`), entries below `from` are left out: the walk read them.
 */
async function scanSetCalls(request: Omit<SetPageRequest, 'cursor'>, key: string, cursor: SetCursor, want: number): Promise<Omit<ScannedSetPage, 'bytesPerJob'>> {
  let next = cursor.scan;
  let flat: Buffer[] = [];
  do {
    const [after, part] = await request.redis.zscanBuffer(key, next, 'COUNT', Math.min(MAX_ENTRIES_PER_SCAN_CALL, want - flat.length / 2));
    next = after.toString();
    flat = flat.length === 0 ? part : flat.concat(part);
  } while (next !== '0' && flat.length / 2 < want);
  const whole = cursor.scan === '0' && next === '0';
  if (cursor.from !== undefined) flat = atLeast(flat, scoreValue(cursor.from));
  return { whole, next: cursor.from === undefined ? { scan: next } : { scan: next, from: cursor.from }, done: next === '0', flat };
}

/** The pairs of a ZSCAN reply whose score is `from` or above. */
function atLeast(flat: Buffer[], from: number): Buffer[] {
  const kept: Buffer[] = [];
  for (let i = 0; i < flat.length; i += 2) if (scoreValue(flat[i + 1]!.toString()) >= from) kept.push(flat[i]!, flat[i + 1]!);
  return kept;
}

/** A score as Redis replies it, as a number: Redis writes infinite scores `inf` and `-inf`, which Number() does not read. */
function scoreValue(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  return Number(text);
}

/** The members of a ZSCAN reply (member, score, member, score…). */
function members(flat: readonly Buffer[]): Buffer[] {
  const found: Buffer[] = [];
  for (let i = 0; i < flat.length; i += 2) found.push(flat[i]!);
  return found;
}

/** Where the scan stands after `scanned` (and, in a dry run, the rewrites counted so far). */
function cursorAfter(scanned: ScannedSetPage, dryRewrites?: readonly string[]): SetCursor {
  const cursor: SetCursor = scanned.bytesPerJob === undefined ? scanned.next : { ...scanned.next, bytesPerJob: scanned.bytesPerJob };
  return dryRewrites === undefined || dryRewrites.length === 0 ? cursor : { ...cursor, dryRewrites };
}

/**
 * A page's arguments per entry: member, rewrite, digest of the rewrite (or ''): no score, the script
 * moves each entry with the score the set holds then. A Splice and a RewriteDigest are written by
 * the Lua call's encoding, straight into it (rewrite-queue.ts).
 */
type SetPageArg = Buffer | string | Splice | RewriteDigest;

/** A rewrite's or its digest's bytes (a dry run's, which sends no call). */
function bytesOf(arg: SetPageArg): Buffer {
  return typeof arg === 'string' ? Buffer.from(arg) : Buffer.isBuffer(arg) ? arg : arg.toBuffer();
}

/** Node's own work on a page: decides every entry from its bytes; no I/O. */
function examineSetPage(request: Omit<SetPageRequest, 'cursor'>, scanned: ScannedSetPage): ExaminedSetPage {
  const { plan } = request;
  const { flat } = scanned;
  const counters = emptyCounters();
  const rewrites = rewritesRecord(request, scanned);
  const byDestination = new Map<string, SetPageArg[]>();
  const movesByDestination = new Map<string, RecordedMove[]>();
  const lookAlreadyRouted: Buffer[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const member = flat[i]!;
    counters.scanned++;
    // The rewrite is written by the Lua call's encoding, straight into it (rewrite-queue.ts's Splice).
    const examined = examineScheduledJob(member, plan, request.rewriteActiveJobQueueName ?? true, true);
    switch (examined.kind) {
      case 'unparsable':
        counters.unparsable++;
        // Left as it is, naming no queue we can read (summarize-step.ts leftInSetsUnreadable).
        counters.unparsableInSets = (counters.unparsableInSets ?? 0) + 1;
        addSample(counters, 'unparsable', examined.sample);
        break;
      case 'unmapped':
        counters.unmapped++;
        tallyClass(counters, examined.routedClass);
        addSample(counters, 'unmapped', examined.sample);
        // Left as it is: when due, the poller pushes it to the queue it names (summarize-step.ts asks who fetches there).
        addDestinations((counters.unmappedNaming ??= {}), { [examined.queue ?? SIDEKIQ_DEFAULT_QUEUE]: 1 });
        break;
      case 'already-routed':
        if (rewrites === null) counters.alreadyRouted++;
        else lookAlreadyRouted.push(member);
        break;
      case 'move': {
        const args = byDestination.get(examined.to) ?? [];
        const { rewritten } = examined;
        args.push(member, rewritten, rewrites === null ? '' : Buffer.isBuffer(rewritten) ? entryDigest(rewritten) : new RewriteDigest(rewritten));
        byDestination.set(examined.to, args);
        // An entry's queue before the move is its payload's `queue` (the poller pushes it there).
        const moves = movesByDestination.get(examined.to) ?? [];
        moves.push({ routedClass: examined.routedClass, from: examined.queue, to: examined.to, shape: examined.shape });
        movesByDestination.set(examined.to, moves);
        if (examined.uniqueLock) counters.uniqueLocked++;
      }
    }
  }
  return { scanned, counters, rewrites, byDestination, movesByDestination, lookAlreadyRouted };
}

/**
 * The page's writes: the rewrites in bounded Lua calls (none in a dry run), then its result.
 * `dryRewrites`: a dry run's digests of the rewrites it counted so far in this set (SetCursor's),
 * which this page adds to; pages are applied one after the other, so they share it.
 */
async function applySetPage(request: Omit<SetPageRequest, 'cursor'>, page: ExaminedSetPage, dryRewrites: string[]): Promise<PageResult<SetCursor>> {
  const { counters, rewrites, byDestination, lookAlreadyRouted } = page;
  const { done } = page.scanned;
  const key = request.keys.sortedSet(request.set);
  // The record is looked up in the writes' round trip, sent just ahead of them: one connection's
  // commands run in the order sent, so the lookup sees the record as the pages before left it
  // (the last page's writes done, none of this page's), exactly as with a round trip of its own.
  const own = lookAlreadyRouted.length > 0 ? countOwnRewrites(request, rewrites!, lookAlreadyRouted) : null;
  let writes: Promise<void> | null = null;
  if (request.dryRun) {
    await countDryRunMoves(request, key, dryRewrites, byDestination, page.movesByDestination, counters);
  } else if (byDestination.size > 0) {
    writes = applyRewrites(request, key, rewrites, byDestination, page.movesByDestination, counters);
  }
  // Both settle before an error of either goes up: nothing of this page runs after it failed.
  const [ownRewrites, written] = await Promise.allSettled([own, writes]);
  if (ownRewrites.status === 'rejected') throw ownRewrites.reason;
  if (written.status === 'rejected') throw written.reason;
  if (ownRewrites.value !== null) {
    counters.scanned -= ownRewrites.value;
    counters.alreadyRouted += lookAlreadyRouted.length - ownRewrites.value;
  }
  if (done && rewrites !== null) await forgetRewrites(request, rewrites);
  // Carried only while the scan goes on: a Map batch returns its items' states together.
  return { cursor: cursorAfter(page.scanned, request.dryRun && !done ? [...dryRewrites] : undefined), done, counters };
}

/**
 * A dry run's count of a page's moves, as the run's script would make them (rerouteSetEntries-n6.lua
 * adds a rewrite only if it is not in the set yet, else leaves the original as a conflict): an
 * entry whose rewrite is in the set already, or is the rewrite of an entry counted as moved before
 * it (on this page or an earlier one of the set), is a conflict. Adds what it counts to `kept`.
 */
async function countDryRunMoves(
  request: Omit<SetPageRequest, 'cursor'>,
  key: string,
  kept: string[],
  byDestination: Map<string, SetPageArg[]>,
  movesByDestination: Map<string, RecordedMove[]>,
  counters: RerouteCounters,
): Promise<void> {
  const rewrites: Buffer[] = [];
  for (const args of byDestination.values()) for (let i = 0; i < args.length; i += 3) rewrites.push(bytesOf(args[i + 1]!));
  if (rewrites.length === 0) return;
  let present: (string | null)[];
  try {
    present = await request.redis.zmscore(key, ...rewrites);
  } catch (error) {
    throw classifyRedisError(error, `Reading ${key}`);
  }
  const seen = new Set(kept);
  let at = 0;
  for (const [to, args] of byDestination) {
    const moves = movesByDestination.get(to) ?? [];
    for (let i = 0; i < args.length; i += 3, at++) {
      const digest = entryDigest(rewrites[at]!);
      if (present[at] !== null || seen.has(digest)) {
        counters.conflicts++;
        // The original stays, naming its old queue (RerouteCounters.unmappedNaming).
        addDestinations((counters.unmappedNaming ??= {}), { [moves[i / 3]?.from ?? SIDEKIQ_DEFAULT_QUEUE]: 1 });
        continue;
      }
      add(counters.movedTo, to, 1);
      counters.moved++;
      if (kept.length >= DRY_RUN_REWRITES_KEPT) counters.uncheckedMoves = (counters.uncheckedMoves ?? 0) + 1;
      else kept.push(digest);
      seen.add(digest);
    }
  }
}

/**
 * Where this page records its rewrites and looks for them, or null when it cannot meet one: a
 * dry run rewrites nothing, and a scan whose first reply is the whole set (cursor 0 to 0: every
 * set of up to 128 entries) is over before anything is rewritten. Runs without an id record none.
 */
function rewritesRecord(request: Omit<SetPageRequest, 'cursor'>, scanned: ScannedSetPage): string | null {
  const runId = request.recordMovesAs?.runId;
  if (runId === undefined || request.dryRun || scanned.whole) return null;
  return rewrittenEntriesKey(request.keys.prefix, runId, request.set);
}

/** How many of `members` (which look already routed) this run wrote itself. */
async function countOwnRewrites(request: Omit<SetPageRequest, 'cursor'>, rewrites: string, members: Buffer[]): Promise<number> {
  try {
    const found = await request.redis.smismember(rewrites, ...members.map(entryDigest));
    return found.reduce((n: number, hit) => n + hit, 0);
  } catch (error) {
    throw classifyRedisError(error, `Reading ${rewrites}`);
  }
}

/**
 * The scan of the set is over: its record of rewrites has served. UNLINK, not DEL: the record
 * holds a digest per entry moved, and DEL frees them before it replies, with every Sidekiq client
 * waiting (measured on redis-server 7.0: 8.9 ms for 100,000 digests, 182 ms for 1,000,000;
 * UNLINK 20–30 µs, the memory freed by a background thread).
 */
async function forgetRewrites(request: Omit<SetPageRequest, 'cursor'>, rewrites: string): Promise<void> {
  try {
    await request.redis.unlink(rewrites);
  } catch (error) {
    throw classifyRedisError(error, `Deleting ${rewrites}`);
  }
}

async function applyRewrites(
  request: Omit<SetPageRequest, 'cursor'>,
  key: string,
  rewrites: string | null,
  byDestination: Map<string, SetPageArg[]>,
  movesByDestination: Map<string, RecordedMove[]>,
  counters: RerouteCounters,
): Promise<void> {
  const batch = (request.luaBatch ?? DEFAULT_LUA_BATCH) * 3;
  const calls: { to: string; moves: RecordedMove[]; keys: string[]; args: SetPageArg[] }[] = [];
  for (const [to, args] of byDestination) {
    const moves = movesByDestination.get(to) ?? [];
    for (let i = 0; i < args.length; i += batch) {
      // Each call records, after its moves, the moves of the entries it moved (move-record.ts):
      // it is given the distinct moves, and each entry the index of its own.
      const moved = new PageMoves();
      const callMoves = moves.slice(i / 3, (i + batch) / 3);
      const indexes = callMoves.map((m) => moved.add(m.routedClass, m.from, m.to, m.shape));
      const record = recordArgs(moved, request.keys.prefix, request.recordMovesAs?.runId);
      const callArgs: SetPageArg[] = [...record.args];
      for (let j = i, e = 0; j < Math.min(i + batch, args.length); j += 3, e++) callArgs.push(args[j]!, args[j + 1]!, args[j + 2]!, moveIndex(record, indexes[e]!));
      calls.push({ to, moves: callMoves, keys: [key, ...(rewrites === null ? [] : [rewrites]), ...record.keys], args: callArgs });
    }
  }
  try {
    const replies = await rerouteSetEntries.runAll(request.redis, calls, [], request.alongWrites);
    replies.forEach((reply, i) => {
      const [moved, vanished, conflicts, ...conflicted] = reply as number[];
      add(counters.movedTo, calls[i]!.to, moved!);
      counters.moved += moved!;
      counters.vanished += vanished!;
      counters.conflicts += conflicts!;
      // A conflict's original stays as it was, naming the queue its entry had (RerouteCounters.unmappedNaming);
      // the script gives each one's place among the call's entries.
      for (const e of conflicted) addDestinations((counters.unmappedNaming ??= {}), { [calls[i]!.moves[e - 1]?.from ?? SIDEKIQ_DEFAULT_QUEUE]: 1 });
    });
  } catch (error) {
    // The page's other calls ran (each its own atomic step): what they moved is said, and flagged.
    const to = new Map<string, number>();
    for (const { index, reply } of otherCallsThatRan(error)) {
      const name = displayName(calls[index]!.to);
      to.set(name, (to.get(name) ?? 0) + (reply as number[])[0]!);
    }
    const doing = `Re-routing entries of ${key}`;
    throw classifyRedisError(withUncountedMoves(error, doing, otherCallsThatRan(error).length, 'page', to), doing);
  }
}

function add(record: Record<string, number>, key: string, n: number): void {
  if (n > 0) record[key] = (record[key] ?? 0) + n;
}

export interface SetRerouteRequest extends Omit<SetPageRequest, 'cursor'>, DriveLimits {
  /** Where to continue (SetPageRequest's): absent to start. */
  readonly cursor?: SetCursor | string;
}

/**
 * The set operation as a Lambda or the local runner calls it: pages from `cursor` until the set
 * is done, the deadline passes or `maxPages` is reached; returns the cursor to continue from.
 * The next page is read and examined while this one's writes run (drivePipelinedPages): each
 * page's entries are still replaced only if they are there, so reading ahead changes no outcome.
 */
export function rerouteSet(request: SetRerouteRequest): Promise<PageResult<SetCursor> & { pages: number }> {
  const start = setCursor(request.cursor ?? '0');
  const dryRewrites = [...(start.dryRewrites ?? [])];
  return drivePipelinedPages(
    {
      read: (cursor: SetCursor) => scanSetPage(request, cursor),
      after: (scanned) => (scanned.done ? null : cursorAfter(scanned)),
      examine: (scanned) => examineSetPage(request, scanned),
      apply: (examined) => applySetPage(request, examined, dryRewrites),
    },
    start,
    request,
  );
}
