import { generationArg } from '../redis/generation-arg.js';
import { randomBytes } from 'node:crypto';
import type { RedisKey } from 'ioredis';
import type { Splice } from '../payload/rewrite-queue.js';
import { expectedBytesPerJob, jobsWithinBytes, meanBytes, PROBE_JOBS, probeRange } from '../redis/page-bytes.js';
import { isLiveQueue } from '../routing/routing-plan.js';
import { classifyRedisError, withUncountedMoves } from '../redis/redis-errors.js';
import { displayName } from '../redis/key-name.js';
import { LuaScript, otherCallsThatRan } from '../redis/lua-script.js';
import { markAfter, readAppendWindow, type TailMark } from './append-window.js';
import { drivePages, type DriveLimits, type PageResult } from './drive-pages.js';
import { readFrontWindow, windowAt } from './front-window.js';
import { arrivedAboveTop, type TopSearch } from './front-top.js';
import { callWindows } from './call-windows.js';
import { examineQueuedJob, type Examined } from './examine-job.js';
import { moveIndex, PageMoves, recordArgs } from './move-record.js';
import { misplacedArrivals, rollbackArrivals } from './rollback-arrivals.js';
import { addCounters, addSample, emptyCounters, tallyClass, type RerouteCounters } from './reroute-counters.js';
import { DEFAULT_LUA_BATCH, type RerouteContext } from './reroute-options.js';
import { entryDigest } from './rewritten-entries.js';
import { passArgs, passEndField, passGuardKeys, passEndKey, passKey, passStart, type PassOwner, type PassRecord } from './pass-record.js';
import { PAGE_RECEIPTS_TTL_SECONDS } from '../workflow/page-receipt.js';

const rerouteQueueJobs = new LuaScript('rerouteQueueJobs-n4', { encodeCalls: true });
const endQueuePass = new LuaScript('endQueuePass-5');

/**
 * Where a queue's migration stands. `limit` is the queue's length when its work began: the run
 * examines exactly those jobs, so it ends even while a stale producer keeps pushing, and moves
 * every one of them whatever is pushed meanwhile. Positions are counted from the oldest end (the
 * end Sidekiq's BRPOP takes from): producers LPUSH at the other end, so their jobs never shift
 * the window. `kept` counts the examined jobs left in place (unmapped, unparsable, already
 * routed): with `append`, the next slice steps over them; at the end, what is on the list beyond
 * them arrived during the run. `bytesPerJob`: the mean payload size seen so far, which bounds how
 * many jobs the next slice takes (page-bytes.ts); absent when no job was seen yet (or the cursor
 * comes from a run planned before slices were bounded by bytes). `tail` (`append` only): the jobs
 * the pass left at the tail, found again by the digest of the innermost one, since a worker still
 * fetching from the queue takes those first (append-window.ts); absent while there are none.
 * `floor` (`front` only): the digest of the lowest job the pass left in place, just above the
 * originals not yet examined, which the next window is read below (front-window.ts); absent while
 * there is none. `ceiling` (`append` only, not in a dry run): the newest job on the queue when
 * the bound was read (its size and digest), until the pass examines it. A stopping Sidekiq's
 * requeue (RPUSH) onto a tail where the pass left nothing, or below a mark a worker's fetches
 * took, comes into the next window and takes its turn in the bound: the pass then ends below the
 * newest originals. At its end a ceiling still unexamined tells how many (originalsNotReached).
 * The other way round, a worker's pops at the tail let the bound reach past the ceiling into jobs
 * pushed since: the pass ends at the ceiling, and those are counted as arrived.
 */
export interface QueueCursor {
  readonly limit: number;
  readonly examined: number;
  readonly kept: number;
  readonly bytesPerJob?: number;
  readonly tail?: TailMark;
  readonly floor?: string;
  /**
   * `front` only: the digest of the highest original not yet examined, the job the last window
   * read just below itself; the next window starts at it (front-window.ts), wherever pops or pushes
   * at the tail moved it. Absent when none was read (the originals are done, or a cursor of before).
   */
  readonly next?: string;
  /**
   * `front` only, not in a dry run: the digest of the highest job the pass left in place (the first
   * its windows kept), above which the jobs on the list at its end arrived (front-top.ts). Absent
   * while it has left none (or a cursor of before: counted by length, as then).
   */
  readonly top?: string;
  /**
   * `front` only, once the pass's slices are done: where its count of what arrived, looking for the
   * top (front-top.ts), goes on in the next page, having read TOP_READ_JOBS jobs in this one
   * without finding it. Absent while the count has not begun or when one page found it.
   */
  readonly search?: TopSearch;
  readonly ceiling?: JobMark;
}

/** A job known by its size and digest (rewritten-entries.ts): the size is compared first, cheaply. */
export interface JobMark {
  readonly bytes: number;
  readonly digest: string;
}

/** Whether `job` is the one `mark` names (its size compared first, cheaply). */
function isJob(job: Buffer, mark: JobMark): boolean {
  return job.length === mark.bytes && entryDigest(job) === mark.digest;
}

/**
 * Where moved jobs go in their destination list:
 * - `front` (default): ahead of the destination's backlog — they were waiting already, so they
 *   run before jobs enqueued after them. Slices take the original jobs newest first (counted from
 *   the oldest end, so arrivals do not shift them) and each job is pushed onto the consumer end,
 *   so the oldest migrated job ends up first in line and relative order is kept across slices.
 * - `append`: behind the backlog, as GitLab's rake task does: read from the oldest end and pushed
 *   onto the producer end.
 */
export type Placement = 'front' | 'append';

export interface QueueSliceRequest extends RerouteContext {
  /** The queue to drain (its name, without prefix or `queue:`). */
  readonly queue: string;
  readonly cursor: QueueCursor | null;
  /** Most jobs examined by this slice (the run's page size): fewer when they are large (page-bytes.ts). */
  readonly sliceSize: number;
  readonly placement?: Placement;
  /** Unmapped and unparsable jobs: `leave` them where they are (default) or `quarantine` them. */
  readonly unmapped?: 'leave' | 'quarantine';
  /**
   * The run whose pass this is: each slice's calls keep where the pass stands on the Redis with
   * their moves, so that a task that missed a slice's answer starts after it (pass-record.ts).
   * Absent (or a dry run): the cursor is the task's only.
   */
  readonly pass?: PassOwner;
  /** With `pass`: the item's counters before this slice, which its record keeps (pass-record.ts). */
  readonly counted?: RerouteCounters;
}

/**
 * Moves up to `sliceSize` jobs out of `queue:NAME`, each in a Lua call that removes the exact
 * payload from the source only if it is still there and then pushes its rewrite to the
 * destination (and adds the destination to `queues`). Consumers popping and producers pushing the
 * same list meanwhile are normal: a job a consumer took first is counted as vanished.
 */
export async function rerouteQueueSlice(request: QueueSliceRequest): Promise<PageResult<QueueCursor>> {
  const { keys, queue, dryRun } = request;
  const placement = request.placement ?? 'front';
  // A queue something still routes to (GitLab's mailers and default, a rule's destination, a
  // queue a rollback takes jobs from) is never emptied: its listeners still run what we leave.
  const live = isLiveQueue(request.plan, queue);
  const quarantine = request.unmapped === 'quarantine' && !live;
  const keepOnLiveQueue = request.unmapped === 'quarantine' && live;
  const source = keys.queue(queue);
  const counters = emptyCounters();
  try {
    const { cursor, want, window, positions, bytesPerJob, over, below, next: nextOriginal } = await readSlice(request, placement);
    if (want <= 0) return await endOfPass(request, cursor, counters);

    // Process in the order that keeps relative order (see Placement): newest first for `front`.
    // `append`: the window ends at the ceiling, the newest original; what lies above it was pushed
    // during the run (a worker's pops at the tail let the bound, a count of positions, reach it)
    // and is left for the arrivals' count, and the pass ends there.
    const read = placement === 'front' ? window : window.reverse();
    const top = placement === 'append' && cursor.ceiling !== undefined ? read.findIndex((job) => isJob(job, cursor.ceiling!)) : -1;
    const jobs = top >= 0 ? read.slice(0, top + 1) : read;

    // Each job's place in the window: how many of the window's jobs lay between it and the tail
    // when it was read (`front` examines the window head first, `append` tail first).
    const span = jobs.length;
    const placeOf = placement === 'front' ? (i: number) => span - 1 - i : (i: number) => i;
    const moves: { job: Buffer; examined: Examined<Buffer | Splice> & { kind: 'move' }; place: number }[] = [];
    const parked: { job: Buffer; place: number }[] = [];
    // The jobs of the window left on the list, in the order examined (`append`: oldest first).
    const left: Buffer[] = [];
    let kept = 0;
    let ceiling = cursor.ceiling;
    for (const [i, job] of jobs.entries()) {
      counters.scanned++;
      if (ceiling !== undefined && isJob(job, ceiling)) ceiling = undefined;
      // The rewrite is written by the Lua call's encoding, straight into it (rewrite-queue.ts's Splice).
      const examined = examineQueuedJob(job, queue, request.plan, request.rewriteActiveJobQueueName ?? true, true);
      if (examined.kind === 'move') {
        moves.push({ job, examined, place: placeOf(i) });
        if (examined.uniqueLock) counters.uniqueLocked++;
      }
      else if (examined.kind === 'already-routed') {
        counters.alreadyRouted++;
        kept++;
        left.push(job);
      } else {
        if (examined.kind === 'unmapped') {
          counters.unmapped++;
          tallyClass(counters, examined.routedClass, 1, quarantine ? 'quarantinedClasses' : 'unmappedClasses');
        } else {
          counters.unparsable++;
          if (quarantine) counters.quarantinedUnparsable++;
        }
        addSample(counters, examined.kind, examined.sample);
        if (quarantine) parked.push({ job, place: placeOf(i) });
        else {
          kept++;
          left.push(job);
          if (keepOnLiveQueue) counters.keptOnLiveQueues++;
        }
      }
    }

    const counts = { limit: cursor.limit, examined: cursor.examined + (top >= 0 ? jobs.length : positions), kept: cursor.kept + kept, ...(ceiling === undefined ? {} : { ceiling }) };
    // `append`: what now lies at the tail below the next window (a dry run leaves every job).
    const tail = over === undefined ? undefined : markAfter(over, cursor.tail, dryRun ? jobs : left);
    // `front`: the lowest job this window left (it read newest first), else the floor before.
    const lowest = placement === 'front' ? (dryRun ? jobs : left).at(-1) : undefined;
    const floor = lowest === undefined ? cursor.floor : entryDigest(lowest);
    // `front`: the highest job the pass left, once it left one (the first window to keep a job).
    const highest = placement === 'front' && !dryRun && cursor.top === undefined ? left[0] : undefined;
    const topMark = highest === undefined ? cursor.top : entryDigest(highest);
    const marked = tail === undefined ? counts : { ...counts, tail };
    const topped = topMark === undefined ? marked : { ...marked, top: topMark };
    const floored = floor === undefined ? topped : { ...topped, floor };
    const next = withBytes(nextOriginal === undefined ? floored : { ...floored, next: entryDigest(nextOriginal) }, meanBytes(window, bytesPerJob));
    const done = next.examined >= next.limit || (placement === 'append' && (window.length < want || top >= 0));
    if (dryRun) {
      for (const m of moves) counters.movedTo[m.examined.to] = (counters.movedTo[m.examined.to] ?? 0) + 1;
      counters.moved = moves.length;
      counters.quarantined = parked.length;
    } else {
      // The calls keep where the pass stands after them with their moves (pass-record.ts).
      await applyMoves(request, placement, { below, span }, moves, parked, counters, { calls: 0, before: cursor, after: next, done, counted: request.counted ?? emptyCounters(), slice: counters, names: [] });
    }
    return done ? await endOfPass(request, next, counters) : { cursor: next, done, counters };
  } catch (error) {
    throw classifyRedisError(error, `Re-routing jobs of ${source}`);
  }
}

/** What a slice reads: where the queue's work stands, and the jobs it examines. */
interface SliceRead {
  readonly cursor: QueueCursor;
  /** Original jobs this slice may examine; 0 when the queue's work is done. */
  readonly want: number;
  readonly window: Buffer[];
  /** Original positions the slice accounts for (see readWindow). */
  readonly positions: number;
  /** The mean job size the slice was sized by (page-bytes.ts). */
  readonly bytesPerJob?: number | undefined;
  /** `append`: how many jobs lie at the tail below the window. */
  readonly over?: number;
  /** How many jobs lay below the window (between it and the tail) when it was read. */
  readonly below: number;
  /** `front`: the job just below the window when it was read (the next window starts at it). */
  readonly next?: Buffer | undefined;
}

/**
 * The slice's cursor (the queue's length, the run's bound, read first for its first slice) and its
 * window (readWindow: the window is read together with the length that places it, in one round
 * trip). The bound is read on its own: a window read with it from the head would take jobs pushed
 * between the two commands for originals (a proxy such as Redis Enterprise's may run other
 * clients' commands between two pipelined ones), and readWindow counts from the tail instead.
 * The window takes as many jobs as fit in MAX_PAGE_BYTES at the size seen so far (page-bytes.ts),
 * never more than `sliceSize`.
 */
async function readSlice(request: QueueSliceRequest, placement: Placement): Promise<SliceRead> {
  const { redis, keys, queue, sliceSize } = request;
  const source = keys.queue(queue);
  // A window of `front` starts at the newest originals (the head), one of `append` at the oldest.
  const end = placement === 'front' ? 'list-head' : 'list-tail';
  const cursor = request.cursor ?? (await startCursor(redis, source, end, placement === 'append' && !request.dryRun));
  if (cursor.limit - cursor.examined <= 0) return { cursor, want: 0, window: [], positions: 0, below: 0 };
  const bytesPerJob = await expectedBytesPerJob(redis, source, end, cursor.bytesPerJob);
  const want = Math.min(jobsWithinBytes(bytesPerJob, sliceSize), cursor.limit - cursor.examined);
  return { cursor, want, bytesPerJob, ...(await readWindow(request, placement, cursor, want)) };
}

/**
 * A queue's first cursor: its length (the run's bound) and the size of a few of its jobs at `end`,
 * in one round trip. The probe only sizes the first window, whichever jobs it finds (arrivals or
 * originals): no position is read from it, so the bound is still read apart from any window.
 * `withCeiling`: the newest job too, in one MULTI with the length, so that it is the newest of
 * the jobs the bound counts (a proxy may run other clients' commands between two pipelined ones).
 */
async function startCursor(redis: QueueSliceRequest['redis'], key: RedisKey, end: 'list-head' | 'list-tail', withCeiling: boolean): Promise<QueueCursor> {
  if (withCeiling) {
    const replies = (await redis.multi().llen(key).lrangeBuffer(key, ...probeRange(end)).lindexBuffer(key, 0).exec()) as [[Error | null, number], [Error | null, Buffer[]], [Error | null, Buffer | null]];
    for (const [error] of replies) if (error) throw error;
    const [[, limit], [, sample], [, newest]] = replies;
    const ceiling = newest === null ? {} : { ceiling: { bytes: newest.length, digest: entryDigest(newest) } };
    return withBytes({ limit, examined: 0, kept: 0, ...ceiling }, meanBytes(sample, undefined));
  }
  const [[lengthError, limit], [probeError, sample]] = (await redis.pipeline().llen(key).lrangeBuffer(key, ...probeRange(end)).exec()) as [[Error | null, number], [Error | null, Buffer[]]];
  if (lengthError) throw lengthError;
  if (probeError) throw probeError;
  return withBytes({ limit, examined: 0, kept: 0 }, meanBytes(sample, undefined));
}

/** `cursor` with `bytesPerJob` when it is known (a cursor without it probes again). */
function withBytes(cursor: Omit<QueueCursor, 'bytesPerJob'>, bytesPerJob: number | undefined): QueueCursor {
  return bytesPerJob === undefined ? cursor : { ...cursor, bytesPerJob };
}

/** LLEN and LRANGE of `key`, pipelined. */
async function lengthAndRange(redis: QueueSliceRequest['redis'], key: RedisKey, start: number, stop: number): Promise<[number, Buffer[]]> {
  const [[lengthError, length], [rangeError, range]] = (await redis.pipeline().llen(key).lrangeBuffer(key, start, stop).exec()) as [[Error | null, number], [Error | null, Buffer[]]];
  if (lengthError) throw lengthError;
  if (rangeError) throw rangeError;
  return [length, range];
}

/**
 * The next `want` original jobs, how many original positions this slice accounts for, and
 * (`append`) how many jobs lie below them.
 * - `front`: the newest `want` of the originals not yet examined. Those sit at the oldest end,
 *   below everything examined and kept (newer) and everything that arrived (newest): right-hand
 *   positions `[0, limit - examined)`. A worker still fetching from the queue takes from there
 *   too: what is no longer on the list is accounted for as gone. The range is read with the
 *   length, as if all were present (they are, unless a worker took some); when fewer are, it is
 *   read again from where they end. Once a slice left jobs in place, the window is read below the
 *   lowest of them instead (front-window.ts): the length cannot tell pops from arrivals.
 * - `append`: from the oldest end, stepping over the jobs kept there (all of them in a dry run,
 *   which removes nothing), found again by their mark (append-window.ts).
 */
async function readWindow(request: QueueSliceRequest, placement: Placement, cursor: QueueCursor, want: number): Promise<{ window: Buffer[]; positions: number; below: number; over?: number; next?: Buffer | undefined }> {
  const { redis, keys, queue, dryRun } = request;
  const source = keys.queue(queue);
  if (placement === 'front') {
    const unexamined = cursor.limit - cursor.examined;
    // The highest original not yet examined; gone (an attempt of the last slice whose answer was
    // lost moved it, or a worker took it and every job below), the lowest job left in place above
    // them, else by count, as before such marks were kept.
    if (cursor.next !== undefined) {
      const { window, present, next, gone } = await readFrontWindow(redis, source, unexamined - 1, cursor.next, want, true);
      if (!gone) return { window, positions: accounted(unexamined, present, window.length), below: present - window.length, next };
    }
    if (cursor.floor !== undefined) {
      const { window, present, next } = await readFrontWindow(redis, source, unexamined, cursor.floor, want);
      return { window, positions: accounted(unexamined, present, window.length), below: present - window.length, next };
    }
    // By count (a queue's first window, or a cursor of before): with the job below it, the next one's mark.
    const more = unexamined > want ? 1 : 0;
    const [length, all] = await lengthAndRange(redis, source, -unexamined, -(unexamined - want + 1) + more);
    if (length >= unexamined) return { window: all.slice(0, want), positions: want, below: unexamined - Math.min(want, all.length), next: more === 1 ? all[want] : undefined };
    const { window, next } = (await windowAt(redis, source, length, want))!;
    return { window, positions: unexamined - length + Math.min(want, length), below: length - window.length, next };
  }
  const { window, over } = await readAppendWindow(redis, source, dryRun ? cursor.examined : cursor.kept, cursor.tail, want);
  return { window, positions: window.length, below: over, over };
}

/**
 * The original positions a `front` window below its mark accounts for: the originals gone (a
 * worker took them) and those it examined. More jobs below the mark than originals left to examine
 * (`present` > `unexamined`) were pushed onto the tail since (a rollback's other pass, Sidekiq's
 * shutdown requeue): they lie below the originals, so the window's first jobs are originals. Never
 * negative: counted as originals, such jobs made `examined` go down, past zero.
 */
function accounted(unexamined: number, present: number, examined: number): number {
  const originals = Math.min(unexamined, present);
  return unexamined - originals + Math.min(examined, originals);
}

/**
 * The page that ends a queue's pass, or goes on with its count: done with what arrived counted, or,
 * a `front` count that has not found the top yet (front-top.ts), not done, the cursor saying where
 * its next page goes on (a page of a task, or of the next task: never more than TOP_READ_JOBS read
 * in one page). `counters`: the page's own (a slice's moves), reported whichever.
 */
async function endOfPass(request: QueueSliceRequest, cursor: QueueCursor, counters: RerouteCounters): Promise<PageResult<QueueCursor>> {
  const { search } = await countArrivals(request, cursor, counters);
  const { search: _before, ...rest } = cursor;
  return search === undefined ? { cursor: rest, done: true, counters } : { cursor: { ...rest, search }, done: false, counters };
}

/**
 * At a queue's end: the jobs on it beyond those this run left there arrived during the run (a
 * producer on old rules, the poller, the retry handler). Reported, not moved: the next run or the
 * drain check takes them.
 */
async function countArrivals(request: QueueSliceRequest, cursor: QueueCursor, counters: RerouteCounters): Promise<{ search?: TopSearch }> {
  const key = request.keys.queue(request.queue);
  // The pass is done: its record goes, in the round trip of the length (pass-record.ts).
  const length = request.pass && !request.dryRun ? await deleteRecordAndCount(request, request.pass, key) : await request.redis.llen(key);
  // A dry run removed nothing: every original job is still there. An `append` pass knows how many
  // of those it kept are still there (a worker may have taken some); never more than it kept: jobs a
  // Sidekiq shutting down RPUSHed onto the tail lie below them too, and they arrived.
  const ours = request.dryRun ? cursor.limit : Math.min(cursor.tail?.over ?? cursor.kept, cursor.kept);
  // At most what the list still holds: a worker may have fetched from the tail since the last read.
  const over = request.dryRun ? 0 : Math.min(length, cursor.tail?.over ?? 0);
  if (over > 0) {
    // An `append` pass's tail, where a worker fetching from the queue takes the jobs the pass kept
    // first, and a stopping Sidekiq pushes back the jobs it had fetched: as many of each leave
    // `over` as it was, and a count hides the jobs pushed back. So the tail is read (kept jobs are
    // never ones the plan moves): of a re-route, every job beyond those kept arrived, and at
    // least those the plan would move; of a rollback, only those it would move.
    const movable = await movableAtTail(request, cursor, over);
    const above = await arrivalsOnQueue(request, length - over, counters);
    counters.arrived = above + (request.plan.kind === 'reverse' ? movable : Math.max(over - cursor.kept, movable));
  } else {
    // A `front` pass that left jobs: those above the highest of them, whatever a worker popped below
    // it since (the length less those kept hid an arrival per kept job popped: front-top.ts). Not
    // found yet, the next page goes on looking (with its own LLEN, the pass's end again: a no-op).
    const found = !request.dryRun && cursor.top !== undefined && cursor.kept > 0 ? await arrivedAboveTop(request.redis, key, cursor.top, cursor.kept, cursor.bytesPerJob, cursor.search) : { arrived: length - ours };
    if ('search' in found) return { search: found.search };
    const above = found.arrived;
    // A rollback's queues are live: only jobs of a class it puts back arrived out of place.
    counters.arrived = await arrivalsOnQueue(request, above, counters);
  }
  // Originals above what the pass left at the tail, below the ones that arrived: not arrivals.
  const unreached = request.dryRun ? 0 : await originalsNotReached(request, cursor, Math.min(length, cursor.tail?.over ?? cursor.kept));
  if (unreached > 0) {
    counters.unreached = unreached;
    counters.arrived = Math.max(0, counters.arrived - unreached);
  }
  return {};
}

/**
 * Of the `arrived` newest jobs on the queue, those out of place (misplacedArrivals). A rollback's
 * that it cannot place (their class and queue filled from several queues by the run it rolls back:
 * rollback-arrivals.ts) are not arrivals a rollback started now "takes in": every rollback leaves
 * them, so they are counted as what the pass counts such jobs, unmapped (left in place, with why),
 * by a dry run and a rollback alike, and their verdicts never say "leave none behind" over them.
 */
async function arrivalsOnQueue(request: QueueSliceRequest, arrived: number, counters: RerouteCounters): Promise<number> {
  const key = request.keys.queue(request.queue);
  if (request.plan.kind !== 'reverse') return misplacedArrivals(request.redis, key, request.queue, request.plan, arrived);
  const found = await rollbackArrivals(request.redis, key, request.queue, request.plan, arrived);
  counters.unmapped += found.unplaceable;
  for (const [cls, count] of found.unplaceableClasses) tallyClass(counters, cls, count, 'unmappedClasses');
  for (const sample of found.unplaceableSamples) addSample(counters, 'unmapped', sample);
  return found.placeable;
}

/** DEL of the pass's record, then LLEN of `key`, in one round trip (MULTI: the same on any proxy). */
async function deleteRecordAndCount(request: QueueSliceRequest, owner: PassOwner, key: RedisKey): Promise<number> {
  // The record goes to the run's page receipts, where a retry of this task finds it (endQueuePass-5.lua).
  // A pass with no record leaves its end there all the same: no stale attempt's call writes one after it.
  const { prefix } = request.keys;
  return (await endQueuePass.run(request.redis, { keys: [passKey(prefix, owner, request.queue), passEndKey(prefix, owner), key], args: [passEndField(request.queue), PAGE_RECEIPTS_TTL_SECONDS, generationArg(owner)] })) as number;
}

/**
 * An `append` pass that ended without examining its ceiling (the newest original): the originals
 * it did not reach, those from what it left at the tail (`from` jobs) up to the ceiling, which lie
 * below everything that arrived (producers push at the other end). Of a rollback, only those it
 * would put back (its queues are live: the other classes' jobs belong there). Read once at the end,
 * oldest first, paged by bytes, at most the bound's jobs; 0 when the ceiling is not found (a worker
 * took it): what is left is then counted as arrived, as before.
 */
async function originalsNotReached(request: QueueSliceRequest, cursor: QueueCursor, from: number): Promise<number> {
  const ceiling = cursor.ceiling;
  if (ceiling === undefined) return 0;
  const key = request.keys.queue(request.queue);
  let [all, movable] = [0, 0];
  let bytesPerJob = cursor.bytesPerJob;
  for (let at = from; at < from + cursor.limit; ) {
    const want = Math.min(bytesPerJob === undefined ? PROBE_JOBS : jobsWithinBytes(bytesPerJob, cursor.limit), from + cursor.limit - at);
    const page = (await request.redis.lrangeBuffer(key, -(at + want), -(at + 1))).reverse();
    for (const job of page) {
      all++;
      if (examineQueuedJob(job, request.queue, request.plan, false).kind === 'move') movable++;
      if (job.length === ceiling.bytes && entryDigest(job) === ceiling.digest) return request.plan.kind === 'reverse' ? movable : all;
    }
    if (page.length < want) break;
    at += page.length;
    bytesPerJob = meanBytes(page, bytesPerJob);
  }
  return 0;
}

/**
 * How many of the `over` jobs at the tail the plan would move (a job the pass examined and kept
 * never is, so these were pushed back after it passed): read once at the end of the pass, oldest
 * first, in pages within MAX_PAGE_BYTES at the size the pass has seen (page-bytes.ts). O(over):
 * the jobs the pass kept.
 */
async function movableAtTail(request: QueueSliceRequest, cursor: QueueCursor, over: number): Promise<number> {
  const key = request.keys.queue(request.queue);
  let movable = 0;
  let bytesPerJob = cursor.bytesPerJob;
  for (let from = 0; from < over; ) {
    const want = bytesPerJob === undefined ? Math.min(PROBE_JOBS, over - from) : jobsWithinBytes(bytesPerJob, over - from);
    const page = await request.redis.lrangeBuffer(key, -(from + want), -(from + 1));
    for (const job of page) if (examineQueuedJob(job, request.queue, request.plan, false).kind === 'move') movable++;
    if (page.length < want) break;
    from += page.length;
    bytesPerJob = meanBytes(page, bytesPerJob);
  }
  return movable;
}

async function applyMoves(
  request: QueueSliceRequest,
  placement: Placement,
  where: { readonly below: number; readonly span: number },
  moves: { job: Buffer; examined: Examined<Buffer | Splice> & { kind: 'move' }; place: number }[],
  parked: { job: Buffer; place: number }[],
  counters: RerouteCounters,
  passRecord: PassRecord,
): Promise<void> {
  const { redis, keys, queue } = request;
  // Destinations in first-seen order; the quarantine list, when used, is one more destination
  // whose queue name is '' (not a queue: never added to `queues`).
  const destinations = new Map<string, number>();
  // `examined`: a move's, which the run records (quarantined jobs are not: they went to no queue,
  // and a rollback would not find them).
  const ops: { job: Buffer; push: Buffer | Splice; dest: string; place: number; examined?: Examined<Buffer | Splice> & { kind: 'move' } }[] = [];
  for (const { job, examined, place } of moves) ops.push({ job, push: examined.rewritten, dest: examined.to, place, examined });
  for (const { job, place } of parked) ops.push({ job, push: job, dest: '', place });
  if (ops.length === 0) return;
  for (const op of ops) if (!destinations.has(op.dest)) destinations.set(op.dest, destinations.size + 1);

  const names = [...destinations.keys()];
  const destKeys = names.map((name) => (name === '' ? keys.quarantine(queue) : keys.queue(name)));
  const push = placement === 'front' ? 'RPUSH' : 'LPUSH';
  const batch = request.luaBatch ?? DEFAULT_LUA_BATCH;
  const chunks: (typeof ops)[] = [];
  for (let i = 0; i < ops.length; i += batch) chunks.push(ops.slice(i, i + batch));
  // LREM looks for each job from the end of the list nearer the call's own jobs (the script
  // compares the jobs below them with those above): past 100,000 jobs left in place at one end,
  // 50 LREMs from that end held Redis for 0.3 s a call; past the rest of a 1,000-job window, the
  // longest calls of a queue (call-windows.ts).
  const hints = callWindows(where.below, where.span, chunks.map((chunk) => chunk.map((op) => op.place)));
  // Every call keeps where the pass stands after the slice; call k only after call k - 1 (pass-record.ts).
  const owner = request.pass;
  const token = randomBytes(8).toString('hex');
  const pass = owner === undefined ? undefined : { key: passKey(keys.prefix, owner, queue), record: { ...passRecord, calls: chunks.length, names } };
  const calls = chunks.map((chunk, c) => {
    // Each call records, after its moves, the moves of the jobs it moved (move-record.ts): it is
    // given the distinct moves, and each job the index of its own (0: a quarantined job, not
    // recorded). A queued job's queue before the move is the list it waits in, whatever its
    // payload says.
    const moved = new PageMoves();
    const indexes = chunk.map(({ examined }) => (examined ? moved.add(examined.routedClass, queue, examined.to, examined.shape) : 0));
    const record = recordArgs(moved, keys.prefix, request.recordMovesAs?.runId);
    const args: (string | Buffer | Splice)[] = [push, hints[c]!, String(names.length), ...names, ...record.args, ...(pass ? passArgs(owner!, queue, token, c + 1, pass.record) : [])];
    chunk.forEach((op, j) => args.push(op.job, op.push, String(destinations.get(op.dest)), moveIndex(record, indexes[j]!)));
    return { keys: [keys.queue(queue), keys.queues, ...destKeys, ...record.keys, ...(pass ? [pass.key, ...passGuardKeys(keys.prefix, owner!)] : [])], args };
  });
  const replies = await rerouteQueueJobs.runAll(redis, calls, [], request.alongWrites).catch((error: unknown) => {
    throw withOtherCallsMoves(error, `Re-routing jobs of ${String(keys.queue(queue))}`, names);
  });
  for (const reply of replies) {
    const [vanished, ...pushed] = reply as number[];
    counters.vanished += vanished!;
    pushed.forEach((n, d) => {
      const name = names[d]!;
      if (name === '') counters.quarantined += n;
      else if (n > 0) {
        counters.moved += n;
        counters.movedTo[name] = (counters.movedTo[name] ?? 0) + n;
      }
    });
  }
}

export interface QueueRerouteRequest extends Omit<QueueSliceRequest, 'cursor'>, DriveLimits {
  /** Where to continue; absent or null to start (the queue's length is then the run's bound). */
  readonly cursor?: QueueCursor | null;
}

/**
 * The queue operation as a Lambda or the local runner calls it: slices from `cursor` until the
 * queue is done, the deadline passes or `maxPages` slices are done; returns the cursor.
 */
export async function rerouteQueue(request: QueueRerouteRequest): Promise<PageResult<QueueCursor> & { pages: number; counted?: RerouteCounters }> {
  // The pass's record may know a slice this task's cursor does not (its answer was lost): the task
  // starts after it, with the item's counters as the record has them (`counted`, in place of the
  // item's), and a record of the slice that ended the pass only counts what arrived.
  let start = request.cursor ?? null;
  const writes = request.pass !== undefined && !request.dryRun;
  const kept = writes ? await passStart(request.redis, request.keys.prefix, request.pass!, request.queue, start) : undefined;
  const restart = kept?.counted === undefined ? {} : { counted: kept.counted };
  if (kept?.done) {
    const cursor = kept.cursor!;
    return { ...(await endOfPass({ ...request, cursor }, cursor, emptyCounters())), pages: 0, ...restart };
  }
  if (kept) start = kept.cursor;
  // The item's counters before each slice, which its calls keep in the record with it.
  const counted = writes ? addCounters(emptyCounters(), kept?.counted ?? request.counted ?? emptyCounters()) : undefined;
  const slice = async (cursor: QueueCursor | null) => {
    const page = await rerouteQueueSlice({ ...request, cursor, ...(counted ? { counted } : {}) });
    if (counted) addCounters(counted, page.counters);
    return page;
  };
  const r = await drivePages(slice, start, request);
  return { ...r, cursor: r.cursor!, ...restart };
}

/**
 * A refused call among a slice's calls (out of memory, say) fails the slice, but the others ran
 * (each call is its own atomic step; Redis runs the ones after it too): their moves are in no
 * counter. The error then says how many jobs they moved, and where, and is marked so that the
 * page task says its counts may be short (page-step.ts). Before, a refusal in a task's first slice
 * failed the item with "the call wrote nothing" beside 0 moved, and one in a later slice left the
 * summary short by those moves, unflagged (test/workflow/reroute-slice-cut.test.ts).
 */
function withOtherCallsMoves(error: unknown, doing: string, names: readonly string[]): unknown {
  const ran = otherCallsThatRan(error);
  const to = new Map<string, number>();
  for (const { reply } of ran) {
    const [, ...pushed] = reply as number[];
    pushed.forEach((n, d) => {
      const name = names[d] === '' ? 'the quarantine list' : displayName(names[d]!);
      if (n > 0) to.set(name, (to.get(name) ?? 0) + n);
    });
  }
  return withUncountedMoves(error, doing, ran.length, 'slice', to);
}
