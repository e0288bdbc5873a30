import { inflightIndexKey } from './inflight-index.js';
import { retireBeforePassEnd } from './retire-ledger.js';
import { randomUUID } from 'node:crypto';
import type { Redis, RedisKey } from 'ioredis';
import { generationArg } from '../redis/generation-arg.js';
import { LuaScript } from '../redis/lua-script.js';
import { runLockKey, runStopMarkerKey } from '../redis/run-lock.js';
import { expectedBytesPerJob, jobsWithinBytes, meanBytes } from '../redis/page-bytes.js';
import type { PageResult } from '../reroute/drive-pages.js';
import { carryQueuedJob, carryQueuedJobs } from './carry-job.js';
import { memberDigest, selectJob } from './class-selection.js';
import { acknowledgeQueueJobs } from './acknowledge.js';
import { refusal } from './claim-calls.js';
import { claimRefusal } from './claim-refusal.js';
import { newBatchId, parseBatch } from './ledger-id.js';
import type { QueueTransferCursor, QueueTransferRequest } from './queue-transfer.js';
import { addByClass, emptyTransferCounters, tallyCarried, type TransferCounters } from './transfer-counters.js';
import { batchKey, inflightKey, ledgerKey, originalsKey } from './transfer-keys.js';
import { claimReplicated, sourceSocket } from './replicated-steps.js';
import { copyKept, queueCopyRecorded } from './copy-kept.js';
import { targetLockOf, writeJobsToQueues } from './write-to-target.js';

const claimSelectedQueueJobs = new LuaScript('claimSelectedQueueJobs-11', { encodeCalls: true });

/**
 * Where a class-selective pass over a queue stands, in tail offsets (0 = the oldest job, the end
 * Sidekiq's fetchers pop from; producers push at the other end, so their pushes move no offset).
 * Small on purpose (it goes into Step Functions state): offsets, counts and one digest.
 */
export interface SelectiveListCursor {
  /** Tail offset just above the jobs the queue held at the start (those after it arrived since), as last seen. */
  readonly end: number;
  /**
   * The examined job that stayed next to the unexamined ones (oldest-first: the highest below
   * them; newest-first: the lowest above them), where it was last seen, and its SHA-1. Fetchers
   * popping k jobs move it k lower: the next slice finds it again and so learns k. Null: none yet.
   */
  readonly anchor: { readonly offset: number; readonly digest: string } | null;
  /**
   * The pass's end count under way (finish): the jobs at tail offset `from` and above are read from
   * the head, `index` being the next head index to read. Absent until the pass's windows are done;
   * while present, a slice only goes on counting, at most END_COUNT_JOBS jobs. `last` (SHA-1) and
   * `rest`: the last job read and how many jobs lay between it and `from` then: the next part finds
   * that job again from `index` - 1 on (producers' pushes at the head moved it up) and reads `rest`
   * jobs after it (fetchers' pops at the tail moved `from` down), or, `from` being 0, reads on to the
   * list's end (a job pushed back at the tail since is counted); a cursor without them (an older
   * version's) is read by `from` and `index` as it was.
   */
  readonly count?: { readonly from: number; readonly index: number; readonly last?: string; readonly rest?: number };
}

/**
 * The most jobs one slice reads for the pass's end count (finish): the rest in the next slices,
 * carried in the cursor, so that a page task's time stays bounded whatever the queue's length (read
 * in one task, an oldest-first pass's count of a 15,000,000-job queue outlived the function's
 * timeout). Reading 1,000,000 jobs this way took 5.2 s on the project's 2-core VM (bench/README.md,
 * audit-scale): this is ~0.3 s there, the same locally and on AWS.
 */
export const END_COUNT_JOBS = 50_000;

/** How far from where it was last seen the anchor is looked for first (cheap). */
const NEAR = 16;
/** Most jobs per further read (looking for the anchor, counting what arrived): fewer when they are large. */
const FAR_CHUNK = 1000;
/**
 * The largest shift between a slice's read and its claim that the claim looks for (with the
 * window's size on top): fewer when jobs are large, because the claim reads every job within that
 * shift of the window at once (claimSelectedQueueJobs-11.lua), in the source Redis's own memory.
 */
const CLAIM_SHIFT = 256;

/**
 * One slice of a class-selective transfer of `queue:NAME` (request.classes): only jobs whose routed
 * class is selected are taken, each claimed out of its place in the list atomically
 * (claimSelectedQueueJobs-11.lua) while Sidekiq keeps pushing and fetching; every other job keeps
 * its place and bytes. The taken jobs then go the way of a whole-queue transfer: written to the
 * target once each (the run's ledger), acknowledged, resumable from the in-flight list
 * (resume-inflight.ts) — only the claim differs.
 *
 * Placement, with the same meaning as for whole queues:
 * - `append`: the pass walks from the oldest job up; the jobs are claimed oldest first and
 *   LPUSHed, so they queue behind the target's backlog in their order.
 * - `front`: the pass walks from the newest of the jobs held at the start down to the oldest;
 *   they are claimed newest first and RPUSHed onto the consumer end, so they run before the
 *   target's backlog, the oldest first, and keep their order across slices.
 * Both use the same claim; the in-flight list keeps claim order, which is what the resume relies
 * on (it pushes with the same command for the same placement).
 *
 * Bounded: the pass ends at the jobs the queue held when it started (`end`); what producers
 * pushed meanwhile is not examined, and the selected jobs among it are counted in `leftOnSource`
 * (oldest-first, so are those Sidekiq pushed back below the pass: see finish). The pass's start
 * (the length then, and the jobs claimed since) is kept on the source by each claim, so that a
 * retried first slice or a task going on from a cursor older than its last claims keeps the bound
 * (startCursor; the kept start read with the window).
 *
 * Every read of jobs is bounded by bytes too (page-bytes.ts): the window takes as many jobs as fit
 * in MAX_PAGE_BYTES at the size seen so far (carried in the cursor; the pass's first slice reads a
 * few jobs first to learn it), never more than sliceSize; so do the claim's shift (see
 * CLAIM_SHIFT) and the further reads. Only how many jobs a read takes changes with their size:
 * offsets, anchor and claim work as they do for small jobs.
 */
export async function transferSelectedQueueSlice(request: QueueTransferRequest, classes: ReadonlySet<string>): Promise<PageResult<QueueTransferCursor, TransferCounters>> {
  const { source, sourceKeys, queue } = request;
  const newest = (request.placement ?? 'front') === 'front';
  const key = sourceKeys.queue(queue);
  const sourceName = `queue:${queue}`;
  const counters: TransferCounters = { ...emptyTransferCounters(), examined: 0, vanished: 0, unparsableLeft: 0, byClass: {} };
  const originals = originalsKey(sourceKeys.prefix, request.runId, sourceName);
  const generation = generationArg(request);
  // An `append` pass's mark, the newest original, as its first slice takes it (startCursor): given
  // to the first claim, which keeps it on the source (claimSelectedQueueJobs-11.lua KEYS[6]); never in the
  // cursor (a job's bytes in Step Functions state).
  let proposedMark: Buffer | null = null;
  let start: QueueTransferCursor;
  if (request.cursor !== undefined && request.cursor !== null) start = request.cursor;
  else ({ cursor: start, mark: proposedMark } = await startCursor(source, key, request.dryRun ? null : { originals, generation }));
  // Only an oldest-first pass ends at its mark: a newest-first one claims the newest original
  // first, and walks down to the tail, where jobs pushed back come into its later windows.
  if (newest) proposedMark = null;
  let cursor: SelectiveListCursor = start.selection ?? { end: start.limit, anchor: null };
  // The windows are done: this slice only goes on with the end count.
  if (cursor.count !== undefined) return countOn(request, start, cursor, cursor.count, counters, start.bytesPerJob);
  // The window starts at the newest original jobs (front: near the head) or the oldest (append).
  const known = await expectedBytesPerJob(source, key, newest ? 'list-head' : 'list-tail', start.bytesPerJob);

  // 1. One read: the window, and around it where the anchor should be (fetchers may have popped
  //    since the last slice; the anchor, found again by its digest, tells by how much). One read,
  //    so that the window's offsets and the anchor's agree: an empty window then really means
  //    that nothing is left above (oldest-first) or below (newest-first) the anchor.
  const W = jobsWithinBytes(known, request.sliceSize);
  const a = cursor.anchor;
  const readFrom = a === null ? (newest ? Math.max(0, cursor.end - W) : 0) : newest ? Math.max(0, a.offset - NEAR - W) : Math.max(0, a.offset - NEAR);
  const readTo = a === null ? (newest ? cursor.end : W) - 1 : newest ? a.offset + NEAR : a.offset + NEAR + W;
  // A slice that goes on from a task's cursor also reads what the pass has claimed, kept on the
  // source with its claims (claimSelectedQueueJobs-11.lua KEYS[6]), in the same round trip: more
  // than the cursor says when an earlier attempt's slice claimed and its result was lost (its write
  // failed, its acknowledge's reply was lost). Oldest-first, those claims were above the anchor,
  // below `end`: the bound goes down by as many, or the pass would reach that many jobs up into what
  // producers pushed since. (Newest-first they were below the anchor, whose move tells already.)
  const fromCursor = request.cursor !== undefined && !request.dryRun;
  const [read, keptStart] = fromCursor ? await readTailRangeAndStart(source, key, readFrom, readTo, originals) : [readTo >= readFrom ? await readTailRange(source, key, readFrom, readTo) : [], null];
  const kept = keptStart === null ? null : parseKeptStart(keptStart, generation);
  if (kept !== null && kept.claimed > start.claimed) {
    if (!newest) cursor = { ...cursor, end: Math.max(0, cursor.end - (kept.claimed - start.claimed)) };
    start = { ...start, claimed: kept.claimed };
  }
  const bytesPerJob = meanBytes(read, known);
  const chunk = jobsWithinBytes(bytesPerJob, FAR_CHUNK);
  if (a !== null) {
    // Only where the read also holds the whole window next to it: within NEAR of where it was.
    const nearFrom = Math.max(0, a.offset - NEAR);
    const hit = pickAnchor(read.slice(nearFrom - readFrom, a.offset + NEAR + 1 - readFrom), nearFrom, a, newest);
    if (hit === null) {
      // Moved further than NEAR (a long pause, many pops) or gone: this slice only moves the
      // cursor, the next reads at the right place. Gone: start over conservatively (re-examining
      // a job that stays is harmless, skipping one is not): oldest-first from the oldest job,
      // newest-first from the head.
      const far = await findFar(source, key, a, newest, nearFrom, chunk);
      const next: SelectiveListCursor =
        far !== null
          ? { end: Math.max(0, cursor.end - (a.offset - far)), anchor: { ...a, offset: far } }
          : newest
            ? { end: await source.llen(key), anchor: null }
            : { end: cursor.end, anchor: null };
      return finish(request, start, next, counters, false, bytesPerJob);
    }
    cursor = { end: Math.max(0, cursor.end - (a.offset - hit)), anchor: { ...a, offset: hit } };
  }

  // 2. The window: the next unexamined jobs, at most sliceSize, none beyond `end`.
  const [from, to] = newest
    ? ((u: number) => [Math.max(0, u - W), u])(cursor.anchor?.offset ?? cursor.end)
    : ((s: number) => [s, Math.min(cursor.end, s + W)])(cursor.anchor === null ? 0 : cursor.anchor.offset + 1);
  const window = to > from ? read.slice(from - readFrom, to - readFrom) : [];
  // Claim order: oldest first for append, newest first for front.
  const members = window.map((payload, i) => ({ payload, offset: from + i }));
  if (newest) members.reverse();
  counters.examined = members.length;

  const chosen: { payload: Buffer; offset: number; className: string }[] = [];
  for (const m of members) {
    const selection = selectJob(m.payload, classes);
    if (selection.take) chosen.push({ ...m, className: selection.className });
    else if (selection.unparsable) counters.unparsableLeft!++;
  }
  // The staying job next to the unexamined ones after this window: the last examined one that
  // stays (in a dry run every one stays).
  const taken = new Set(request.dryRun ? [] : chosen.map((c) => c.offset));
  const lastStayer = members.filter((m) => !taken.has(m.offset)).at(-1);

  if (request.dryRun) {
    const carried = chosen.map((c) => carryQueuedJob(c.payload, queue, request.plan, request.rewriteActiveJobQueueName ?? true));
    tallyCarried(counters, carried);
    for (const c of chosen) addByClass(counters, c.className, sourceName);
    for (const job of carried) counters.writtenTo[job.queue] = (counters.writtenTo[job.queue] ?? 0) + 1;
    counters.claimed = counters.written = chosen.length;
    const anchor = lastStayer ? { offset: lastStayer.offset, digest: memberDigest(lastStayer.payload) } : cursor.anchor;
    const next = { end: cursor.end, anchor };
    return finish(request, start, next, counters, members.length === 0, bytesPerJob);
  }

  // 3. Claim the chosen jobs (also returns what an interrupted attempt left in flight).
  const inflight = inflightKey(sourceKeys.prefix, request.runId, sourceName);
  const batch = batchKey(sourceKeys.prefix, request.runId, sourceName);
  const shift = jobsWithinBytes(bytesPerJob, CLAIM_SHIFT) + W;
  const args: (string | number | Buffer)[] = [newBatchId(request.targetId), shift, `sidekiq-migrate:claim-marker:${randomUUID()}`, request.runId, generation, start.limit, start.claimed, proposedMark ?? ''];
  for (const c of chosen) args.push(c.offset, c.payload);
  // Nothing is claimed once the run was stopped or lost its lock on the source (as a whole-queue claim).
  // The pass's start and what it claimed are kept on the source with the claims (KEYS[6]).
  const keys = [key, inflight, batch, runStopMarkerKey(sourceKeys.prefix, request.runId), runLockKey(sourceKeys.prefix), originals, inflightIndexKey(sourceKeys.prefix)];
  const claimedOn = sourceSocket(request);
  const [claimed, stored, locatedFlag, k2, statuses, bound, ...held] = (await claimSelectedQueueJobs.run(source, { keys, args })) as [number, Buffer, number, number, Buffer, number, ...Buffer[]];
  const refused = refusal(claimed);
  if (refused) throw claimRefusal(refused, request.runId, `on source ${request.sourceName ?? ''}`.trimEnd());
  counters.claimed = claimed;
  counters.resumed = held.length - claimed;
  const status = statuses.toString();
  chosen.forEach((c, i) => {
    if (status[i] === '1') addByClass(counters, c.className, sourceName);
    else if (status[i] === '0') counters.vanished!++;
  });

  // 4. Write and acknowledge, exactly as a whole-queue transfer does.
  const { id: batchId, base } = parseBatch(stored.toString());
  const carried = carryQueuedJobs(held, queue, request.plan, request.rewriteActiveJobQueueName ?? true);
  tallyCarried(counters, carried);
  const ledger = ledgerKey(request.targetKeys.prefix, request.runId, sourceName);
  // Each step's replicas first, as a whole-queue slice does (replicated-steps.ts).
  if (held.length > 0) await claimReplicated(request, sourceName, claimedOn, claimed === 0);
  // The copy still on the target (and its replicas) before the acknowledge (copy-kept.ts).
  const write = () => writeJobsToQueues(request.target, request.targetKeys, ledger, newest ? 'RPUSH' : 'LPUSH', { id: batchId, first: base }, carried, counters, targetLockOf(request));
  await copyKept(request, sourceName, held.length, counters, write, () => queueCopyRecorded(request.target, ledger, batchId, base + held.length));
  if (held.length > 0) {
    await acknowledgeQueueJobs(source, inflight, batch, batchId, base + held.length, inflightIndexKey(sourceKeys.prefix));
  }

  if (locatedFlag !== 1) {
    // The list changed in the middle between read and claim: nothing taken; read again.
    return finish(request, { ...start, claimed: start.claimed }, cursor, counters, false, bytesPerJob);
  }
  // Where things are now: everything k2 lower, and lower again by the jobs taken below.
  const claimedOffsets = chosen.filter((_, i) => status[i] === '1').map((c) => c.offset);
  const now = (offset: number) => offset - k2 - claimedOffsets.filter((o) => o < offset).length;
  let anchor: SelectiveListCursor['anchor'];
  if (lastStayer) anchor = now(lastStayer.offset) >= 0 ? { offset: now(lastStayer.offset), digest: memberDigest(lastStayer.payload) } : null;
  else if (cursor.anchor) anchor = now(cursor.anchor.offset) >= 0 ? { ...cursor.anchor, offset: now(cursor.anchor.offset) } : null;
  else anchor = null;
  // Newest-first, an anchor fetched meanwhile (below offset 0 once shifted) means every job below
  // it was fetched too: nothing is left to examine. (Oldest-first, a null anchor restarts at 0.)
  const fetchedPast = newest && (lastStayer !== undefined || cursor.anchor !== null) && anchor === null;
  // The bound: where the pass's mark, the newest original, is after the claims, as the claim found
  // it (claimSelectedQueueJobs-11.lua), in the same terms as the anchor; -1, a pass with no mark
  // (begun by an older version): as the anchor moved it. By the anchor alone, jobs a stopping
  // Sidekiq pushed back at the tail (RPUSH) with no anchor kept, or further than it is looked for,
  // left it as many jobs low, and as many of the newest originals on the source, called "added".
  const marked = bound >= 0;
  const next = { end: marked ? bound : Math.max(0, cursor.end - k2 - claimed), anchor };
  // An empty window ends the pass unless the mark shows originals beyond it (the cursor's `end`
  // was low: the next slice reads them).
  const beyond = marked && !newest && (anchor === null ? 0 : anchor.offset + 1) < bound;
  return finish(request, { ...start, claimed: start.claimed + claimed }, next, counters, (members.length === 0 && !beyond) || fetchedPast, bytesPerJob);
}

/**
 * The pass's first cursor. A retried first slice (the task retried with no cursor after its claim
 * ran: its write failed, or the claim's reply was lost) finds the pass's start kept on the source
 * by the claim (claimSelectedQueueJobs-11.lua KEYS[6]): the queue's length then, less what the pass
 * claimed since, is where its originals end; the length read again would count what producers
 * pushed meanwhile as originals, and the pass would take the selected ones among them. Read in one
 * pipeline with the length; a start kept by another execution is not this pass's (the claim replaces
 * it). A dry run claims nothing and keeps nothing.
 */
async function startCursor(source: Redis, key: RedisKey, kept: { originals: RedisKey; generation: string } | null): Promise<{ cursor: QueueTransferCursor; mark: Buffer | null }> {
  if (kept === null) {
    const length = await source.llen(key);
    return { cursor: { limit: length, claimed: 0, selection: { end: length, anchor: null } }, mark: null };
  }
  // One MULTI: the mark is the head when the length was read, the newest original. (The kept
  // start, when there is one, has its own mark; the claim takes that one.)
  const replies = await source.multi().llen(key).lindexBuffer(key, 0).get(kept.originals).exec();
  const length = replyAt<number>(replies, 0);
  const start = parseKeptStart(replyAt<string | null>(replies, 2), kept.generation);
  if (start === null) return { cursor: { limit: length, claimed: 0, selection: { end: length, anchor: null } }, mark: replyAt<Buffer | null>(replies, 1) };
  return { cursor: { limit: start.length, claimed: start.claimed, selection: { end: Math.max(0, start.length - start.claimed), anchor: null } }, mark: null };
}

/**
 * The pass's start as kept on the source (`<length> <claimed> <generation>`, then a newline and its
 * mark, which only the claim reads), or null: none, or another execution's.
 */
function parseKeptStart(value: string | null, generation: string): { length: number; claimed: number } | null {
  const m = value === null ? null : /^(\d+) (\d+) ?([^\n]*)/.exec(value);
  if (m === null || m[3] !== generation) return null;
  return { length: Number(m[1]), claimed: Number(m[2]) };
}

function replyAt<T>(replies: [Error | null, unknown][] | null, i: number): T {
  const [error, value] = replies?.[i] ?? [new Error('MULTI aborted'), null];
  if (error) throw error;
  return value as T;
}

/** readTailRange (empty when `to` < `from`) and the pass's kept start, in one round trip. */
async function readTailRangeAndStart(source: Redis, key: RedisKey, from: number, to: number, originals: RedisKey): Promise<[Buffer[], string | null]> {
  if (to < from) return [[], await source.get(originals)];
  // A pipeline, not a MULTI: the two need not be one atomic step (one attempt of the pass at a time).
  const replies = await source.pipeline().lrangeBuffer(key, -(to + 1), -(from + 1)).get(originals).exec();
  return [replyAt<Buffer[]>(replies, 0).reverse(), replyAt<string | null>(replies, 1)];
}

/** Members at tail offsets `from`…`to` (inclusive), oldest first; shorter when the list is. */
async function readTailRange(source: Redis, key: RedisKey, from: number, to: number): Promise<Buffer[]> {
  return (await source.lrangeBuffer(key, -(to + 1), -(from + 1))).reverse();
}

/**
 * The anchor among `members` (read from tail offset `from`), or null. Where nothing moved (the
 * usual case) the anchor is exactly where it was, and that one is taken: a job with the same
 * bytes elsewhere must not be taken for it, or the pass steps back over jobs it examined, and
 * takes the shift it thinks it saw off `end` (oldest-first: it ends early, the selected jobs it
 * did not reach counted as left on the source) or goes back up for ever (newest-first: the jobs
 * below are never reached). Otherwise, among equal payloads the conservative one is taken — the
 * lowest for an oldest-first pass, the highest for a newest-first one — so that a job is
 * re-examined rather than skipped.
 */
function pickAnchor(members: readonly Buffer[], from: number, anchor: { offset: number; digest: string }, newest: boolean): number | null {
  const hits = members.flatMap((m, i) => (memberDigest(m) === anchor.digest ? [from + i] : []));
  if (hits.includes(anchor.offset)) return anchor.offset;
  return hits.length === 0 ? null : newest ? hits.at(-1)! : hits[0]!;
}

/**
 * Looks for the anchor below tail offset `below`, in chunks of `chunk` jobs downward (pops only move it down):
 * reads O(how far it moved). (A job with the same bytes as the anchor between where the anchor
 * was and where it is, found first, could make an oldest-first pass step over jobs: they stay on
 * the source, nothing is lost or duplicated. It takes byte-identical payloads — the same jid —
 * and more than NEAR pops between two slices.) Null: gone (popped, or deleted by someone).
 */
async function findFar(source: Redis, key: RedisKey, anchor: { offset: number; digest: string }, newest: boolean, below: number, chunk: number): Promise<number | null> {
  for (let to = below - 1; to >= 0; to -= chunk) {
    const from = Math.max(0, to - chunk + 1);
    const hit = pickAnchor(await readTailRange(source, key, from, to), from, anchor, newest);
    if (hit !== null) return hit;
  }
  return null;
}

/**
 * The slice's result. At the end of the pass, the selected jobs it leaves on the source are
 * counted in `leftOnSource`: the whole queue, either way. Oldest-first: a job pushed back at the
 * tail lands below the jobs the pass already examined, where no later window looks, and without
 * this the run said "Complete" over it. Newest-first: the jobs pushed while it ran are above its
 * bound, but a fetcher's pop after the final claim moves that bound, and a job pushed back at the
 * tail after the last window is in no window. Only arrivals and pushed-back jobs can be selected
 * (the pass took every selected job it examined), but nothing marks where they end, so the count
 * reads the queue once more, O(its length), in chunks; a dry run, which takes nothing, counts
 * above the pass only. The count is read at most END_COUNT_JOBS jobs a slice: the pass is
 * done when it reached the head (countOn), its parts carried in the cursor from slice to slice.
 */
async function finish(
  request: QueueTransferRequest,
  start: QueueTransferCursor,
  next: SelectiveListCursor,
  counters: TransferCounters,
  windowEmpty: boolean,
  bytesPerJob: number | undefined,
): Promise<PageResult<QueueTransferCursor, TransferCounters>> {
  const newest = (request.placement ?? 'front') === 'front';
  const unexamined = newest ? (next.anchor?.offset ?? next.end) : next.anchor === null ? 0 : next.anchor.offset + 1;
  const done = windowEmpty || (newest ? unexamined <= 0 : unexamined >= next.end);
  // Newest-first too, the whole queue (a dry run, which takes nothing, above the pass only): the
  // pass's bound `end` is a tail offset as its final claim left it, and a fetcher's pop between that
  // claim and the count's first read moves the boundary one lower; counted above `end`, the oldest
  // job that arrived during the pass was not read, and the summary said fewer selected jobs were
  // left than were (selective-queue-slices.test.ts, "a front pass's end count"). Nothing in the
  // list marks where the arrivals end; below them only the examined jobs that stayed (of other
  // classes, or pushed back at the tail since), so the whole queue counts what is left, no more.
  const countFrom = request.dryRun ? (newest ? next.end : unexamined) : 0;
  if (done) return countOn(request, start, next, { from: countFrom, index: 0 }, counters, bytesPerJob);
  const cursor = { limit: start.limit, claimed: start.claimed, selection: next };
  return { cursor: bytesPerJob === undefined ? cursor : { ...cursor, bytesPerJob }, done, counters };
}

/**
 * The end count's next part (at most request.endCountJobs, else END_COUNT_JOBS, jobs read), added
 * to the slice's `leftOnSource`: the slices of a count add up to it. Done when the count reached
 * the head; else the cursor carries where it stands and the next slice goes on.
 */
async function countOn(
  request: QueueTransferRequest,
  start: QueueTransferCursor,
  next: SelectiveListCursor,
  at: { readonly from: number; readonly index: number },
  counters: TransferCounters,
  bytesPerJob: number | undefined,
): Promise<PageResult<QueueTransferCursor, TransferCounters>> {
  const { selected, rest } = await countSelectedAbove(request, at, jobsWithinBytes(bytesPerJob, FAR_CHUNK), request.endCountJobs ?? END_COUNT_JOBS);
  counters.leftOnSource = selected;
  const { count: _done, ...windows } = next;
  const selection = rest === undefined ? windows : { ...windows, count: rest };
  const cursor = { limit: start.limit, claimed: start.claimed, selection };
  return { cursor: bytesPerJob === undefined ? cursor : { ...cursor, bytesPerJob }, done: rest === undefined, counters };
}

/**
 * The selected jobs at tail offset `at.from` and above, read from the head from index `at.index`,
 * in chunks of `chunk` jobs, at most `most` of them; `rest`: where the next part starts, undefined
 * when this one reached the end. Sidekiq goes on between two reads (of one part, or of two parts in
 * two tasks): a producer's push at the head moves every job not read yet up by one head index, a
 * fetcher's pop at the tail moves the boundary `from` down by one tail offset. So every read after
 * the first starts on the last job read, and when that one is not there, it is looked for further
 * up (where pushes moved it); the jobs between it and the boundary are counted from it, not from
 * `from`. Before, a job pushed between two reads had one job read (and counted) twice, and a job
 * popped had the lowest job above the boundary not read at all: the count said fewer selected jobs
 * left than there were (test/redis/transfer/selective-queue-slices.test.ts, "the end count carried
 * over slices"). The last job read found nowhere was fetched, and every job below it with it: the
 * count is done. A job byte-identical to it pushed since is found first: jobs are read again
 * (counted twice), none is stepped over.
 */
async function countSelectedAbove(
  request: QueueTransferRequest,
  at: { readonly from: number; readonly index: number; readonly last?: string; readonly rest?: number },
  chunk: number,
  most: number,
): Promise<{ selected: number; rest?: { from: number; index: number; last: string; rest: number } }> {
  const classes = new Set(request.classes);
  const key = request.sourceKeys.queue(request.queue);
  let selected = 0;
  // `pos`: the head index of the next job to read, or, once a job was read (`last`), where that one
  // is looked for (pushes only move it up); `remaining`: the jobs between it and the boundary.
  let pos: number;
  let remaining: number;
  let last: { bytes: Buffer | null; digest: string } | null = null;
  let firstRead: Buffer[] | undefined;
  if (at.index === 0) {
    // The windows are done: no claim follows, and the pass's kept start goes with the count's first
    // read (one MULTI: no call added). A dry run kept none.
    // Its ledger retired before the kept start goes: a kill in between leaves the start, which the next plan finds (retireBeforePassEnd).
    await retireBeforePassEnd(request, `queue:${request.queue}`);
    // The length and the first read in one MULTI: a push between them moved the jobs the read
    // stops short of, below the boundary, out of the count.
    const first = Math.min(chunk, most);
    const multi = request.source.multi();
    if (!request.dryRun) multi.del(originalsKey(request.sourceKeys.prefix, request.runId, `queue:${request.queue}`));
    const replies = await multi.llen(key).lrangeBuffer(key, 0, first - 1).exec();
    const skip = request.dryRun ? 0 : 1;
    [pos, remaining] = [0, replyAt<number>(replies, skip) - at.from];
    firstRead = replyAt<Buffer[]>(replies, skip + 1);
  } else if (at.last !== undefined && at.rest !== undefined) {
    [pos, remaining, last] = [at.index - 1, at.rest, { bytes: null, digest: at.last }];
  } else {
    [pos, remaining] = [at.index, (await request.source.llen(key)) - at.from - at.index];
  }
  // Counted to the tail (`from` 0: an oldest-first pass's whole queue): a job Sidekiq pushes back
  // there (a shutdown's RPUSH) while the count's parts go on is below every window, and counted only
  // here, so the count reads on until the list ends, not only the jobs the list held at its first
  // part (which said no selected job left over one pushed back between two parts).
  const toTail = at.from === 0;
  let ended = false;
  for (let read = 0; !ended && (toTail || remaining > 0) && read < most; ) {
    // After the first read, the last job read (where it should be, or above) and a whole chunk
    // after it, not only the `remaining` ones: pushes since may have moved it up past a read of
    // those (a read too short for the pushes between two reads would never get past them).
    const asked = last === null ? Math.min(toTail ? chunk : remaining, chunk, most - read) : Math.min(chunk, most - read) + 1;
    const got = firstRead ?? (await request.source.lrangeBuffer(key, pos, pos + asked - 1));
    firstRead = undefined;
    read += got.length;
    let start = 0;
    if (last !== null) {
      const seen = last;
      const h = got.findIndex((m) => (seen.bytes === null ? memberDigest(m) === seen.digest : m.equals(seen.bytes)));
      if (h < 0) {
        // Not there: fetched (and every job below it) when the list ended, else pushed up further.
        if (got.length < asked) return { selected };
        pos += got.length;
        continue;
      }
      [pos, start] = [pos + h, h + 1];
    }
    const page = got.slice(start, toTail ? undefined : start + remaining);
    selected += page.filter((m) => selectJob(m, classes).take).length;
    remaining = Math.max(0, remaining - page.length);
    if (page.length > 0) [pos, last] = [pos + (start === 0 ? 0 : 1) + page.length - 1, { bytes: page.at(-1)!, digest: memberDigest(page.at(-1)!) }];
    if (got.length < asked) [remaining, ended] = [0, true]; // the list ended (fetchers): nothing beyond
  }
  return !ended && (toTail || remaining > 0) && last !== null ? { selected, rest: { from: at.from, index: pos + 1, last: last.digest, rest: remaining } } : { selected };
}

