import { inflightIndexKey } from './inflight-index.js';
import { retireBeforePassEnd } from './retire-ledger.js';
import type { Redis, RedisKey } from 'ioredis';
import { generationFieldsOf } from '../redis/generation-arg.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import { runLockKey, runStopMarkerKey } from '../redis/run-lock.js';
import { claimRefusal } from './claim-refusal.js';
import { drivePages, type DriveLimits, type PageResult } from '../reroute/drive-pages.js';
import type { Placement } from '../reroute/queue-slice.js';
import { carryQueuedJob, carryQueuedJobs } from './carry-job.js';
import { addTransferCounters, emptyTransferCounters, tallyCarried, type TransferCounters } from './transfer-counters.js';
import { acknowledgeQueueJobs } from './acknowledge.js';
import { claimQueueSlice, type SliceClaim } from './claim-calls.js';
import { SlicesAhead, sentAhead, takenAhead, type ClaimAhead, type ClaimAheadWithin } from './claim-ahead.js';
import { newBatchId, parseBatch } from './ledger-id.js';
import { SliceRenewal, stillHeld, type RenewedSlice } from './slice-renewal.js';
import { batchKey, claimChainKey, inflightKey, ledgerKey, originalsKey } from './transfer-keys.js';
import { claimReplicated, sourceSocket } from './replicated-steps.js';
import { copyKept, queueCopyRecorded } from './copy-kept.js';
import { MAX_JOBS_PER_CLAIM, type TransferContext } from './transfer-options.js';
import { expectedBytesPerJob, jobsWithinBytes, meanBytes, sizeAndBytesPerJob } from '../redis/page-bytes.js';
import { targetLockOf, writeJobsToQueues } from './write-to-target.js';
import { transferSelectedQueueSlice, type SelectiveListCursor } from './selective-queue-transfer.js';

/** A queue transfer's progress: at most `limit` jobs (the queue's length at the start) are claimed. */
export interface QueueTransferCursor {
  readonly limit: number;
  readonly claimed: number;
  /** The mean payload size seen so far, which bounds the next slice (page-bytes.ts); absent before the first. */
  readonly bytesPerJob?: number;
  /** A class-selective pass only (request.classes): where it stands (selective-queue-transfer.ts). */
  readonly selection?: SelectiveListCursor;
  /**
   * The pass keeps its count of originals on the source (claimQueueJobs-14.lua KEYS[7]), which
   * its claims go by, and deletes it when done: a cursor of such a pass that finds no count is of
   * a pass that is done. Absent: an older version's cursor, which counts by `limit` and `claimed`.
   */
  readonly kept?: true;
}

export interface QueueTransferRequest extends TransferContext {
  readonly queue: string;
  readonly cursor: QueueTransferCursor | null;
  readonly sliceSize: number;
  /** `front` (default): ahead of the target's backlog; `append`: behind it. See queue-slice.ts. */
  readonly placement?: Placement;
  /** The claim the slice before sent with its acknowledge (claim-ahead.ts): this slice's, instead of one of its own. */
  readonly claimedAhead?: ClaimAhead<Buffer>;
  /** This slice may send the next one's claim with its acknowledge: the caller runs the next slice in any case (claim-ahead.ts). */
  readonly mayClaimAhead?: () => boolean;
  /** A class-selective pass: the most jobs a slice reads for its end count (default END_COUNT_JOBS, selective-queue-transfer.ts); tests make it small. */
  readonly endCountJobs?: number;
}

/** A slice's result, with the next slice's claim when it sent it ahead (then `holdsNext`). */
export type QueueSliceResult = PageResult<QueueTransferCursor, TransferCounters> & RenewedSlice & { readonly ahead?: ClaimAhead<Buffer> };

/**
 * One slice of `queue:NAME` moved to the target: claim (Lua on the source, atomic) → write (Lua
 * on the target, once per job thanks to the run's ledger) → acknowledge (delete the in-flight
 * list). A crash anywhere leaves each job in the source queue, the in-flight list or the target,
 * and the next attempt finishes the in-flight list first, writing nothing twice.
 *
 * For `front` placement the newest jobs are claimed first and pushed onto the consumer end of the
 * target queue, which keeps their order across slices (as re-routing does); old-side fetchers
 * keep taking the oldest ones meanwhile, from the other end. "Newest" means the newest of the jobs
 * the queue held when its transfer started: jobs a producer pushes meanwhile are left above the
 * window (claimQueueJobs-14.lua), so every original job is claimed, and what arrived is reported.
 */
export async function transferQueueSlice(request: QueueTransferRequest): Promise<QueueSliceResult> {
  const { source, sourceKeys, queue } = request;
  const placement = request.placement ?? 'front';
  const counters = emptyTransferCounters();
  const sourceKey = sourceKeys.queue(queue);
  const rewriteActiveJobQueueName = request.rewriteActiveJobQueueName ?? true;
  const carry = (job: Buffer) => carryQueuedJob(job, queue, request.plan, rewriteActiveJobQueueName);
  try {
    if (request.classes !== undefined) return await transferSelectedQueueSlice(request, new Set(request.classes));
    // Fewer jobs a slice when they are large (page-bytes.ts); front placement claims from the head.
    // A pass's first slice reads the queue's length and that size in one round trip.
    const end = placement === 'front' || request.dryRun ? 'list-head' : 'list-tail';
    const start = request.cursor == null ? await sizeAndBytesPerJob(source, sourceKey, end) : undefined;
    const cursor = request.cursor ?? { limit: start!.size, claimed: 0 };
    const ahead = request.dryRun ? undefined : request.claimedAhead;
    // A claim sent ahead was sized by the slice before, from the same cursor.
    const bytesPerJob = ahead ? ahead.bytesPerJob : start ? start.bytesPerJob : cursor.limit > cursor.claimed ? await expectedBytesPerJob(source, sourceKey, end, cursor.bytesPerJob) : cursor.bytesPerJob;
    const want = ahead ? ahead.want : sliceWant(request.sliceSize, cursor, bytesPerJob);

    if (request.dryRun) {
      // Nothing is claimed, so read by position.
      const jobs = want === 0 ? [] : await source.lrangeBuffer(sourceKey, cursor.claimed, cursor.claimed + want - 1);
      const carried = jobs.map(carry);
      tallyCarried(counters, carried);
      counters.claimed = jobs.length;
      for (const job of carried) counters.writtenTo[job.queue] = (counters.writtenTo[job.queue] ?? 0) + 1;
      counters.written = jobs.length;
      const next = { limit: cursor.limit, claimed: cursor.claimed + jobs.length, bytesPerJob: meanBytes(jobs, bytesPerJob) };
      return { cursor: next, done: jobs.length < want || next.claimed >= next.limit, counters };
    }

    const inflight = inflightKey(sourceKeys.prefix, request.runId, `queue:${queue}`);
    const batch = batchKey(sourceKeys.prefix, request.runId, `queue:${queue}`);
    // Front placement takes the newest originals first, counted from the oldest end.
    const chain = claimChainKey(sourceKeys.prefix, request.runId, `queue:${queue}`);
    const [stopMarker, lock] = [runStopMarkerKey(sourceKeys.prefix, request.runId), runLockKey(sourceKeys.prefix)];
    // The pass's count of originals not claimed yet lives on the source, changed by each claim in
    // the same step (claimQueueJobs-14.lua KEYS[7]): a slice whose reply was lost, or that failed
    // after its claim, leaves the cursor short of it, never the count. An `append` pass also keeps
    // its mark there, the newest original, and claims up to that job: jobs Sidekiq pushes back at
    // the tail (its requeue) or fetches there do not move where the pass ends, as they move a count.
    const originals = originalsKey(sourceKeys.prefix, request.runId, `queue:${queue}`);
    const counted = request.cursor === null ? 'start' : request.cursor.kept ? 'kept' : undefined;
    const claim = (count: number, from: QueueTransferCursor, inflightCounted: boolean, originalsCount: 'start' | 'kept' | undefined): Promise<SliceClaim<Buffer>> =>
      claimQueueSlice(source, { queue: sourceKey, inflight, batch, chain, stopMarker, lock, originals, inflightIndex: inflightIndexKey(sourceKeys.prefix) }, {
        want: count,
        newBatch: newBatchId(request.targetId),
        runId: request.runId,
        ...generationFieldsOf(request),
        newest: placement === 'front',
        remaining: from.limit - from.claimed,
        inflightCounted,
        ...(originalsCount ? { originalsCount } : {}),
      });
    // Past the pass's first slice, jobs in flight before this slice's own claim are a slice of this
    // pass that failed after its claim (the task returned the slices before it): originals its
    // cursor still counts as on the queue. They are counted now (resumed), and the claim takes
    // that many fewer (claim-calls.ts inflightCounted): else as many jobs that arrived since would
    // be taken as originals, and missing from what the summary says arrived.
    const inflightCounted = request.cursor !== null && !ahead;
    const claimedOn = ahead ? ahead.sentOn : sourceSocket(request);
    const { claimed, stored, held, ranOut, refused, originalsLeft } = ahead ? await takenAhead(ahead, () => claim(0, cursor, false, 'kept')) : await claim(want, cursor, inflightCounted, counted);
    if (refused) throw claimRefusal(refused, request.runId, `on source ${request.sourceName ?? ''}`.trimEnd());
    counters.claimed = claimed;
    counters.resumed = held.length - claimed;
    const { id: batchId, base } = parseBatch(stored);
    const carried = carryQueuedJobs(held, queue, request.plan, rewriteActiveJobQueueName);
    tallyCarried(counters, carried);
    const ledger = ledgerKey(request.targetKeys.prefix, request.runId, `queue:${queue}`);
    // The source's replicas have the claim before its copy exists (replicated-steps.ts).
    if (held.length > 0) await claimReplicated(request, `queue:${queue}`, claimedOn, claimed === 0);
    // The run locks are renewed along with the write on the target and the acknowledge on the source.
    // The write writes nothing once another run holds the target's lock: the slice stays in flight.
    const renewal = new SliceRenewal(request.renewLocks);
    // The target's replicas have the copy, and the target still has it, before the source forgets
    // the jobs (copy-kept.ts: written again if it lost it).
    const write = () => writeJobsToQueues(request.target, request.targetKeys, ledger, placement === 'front' ? 'RPUSH' : 'LPUSH', { id: batchId, first: base }, carried, counters, targetLockOf(request));
    await copyKept(request, `queue:${queue}`, held.length, counters, () => renewal.with('target', write()), () => queueCopyRecorded(request.target, ledger, batchId, base + held.length));
    const claimedSoFar = cursor.claimed + (inflightCounted ? held.length : claimed);
    // The cursor's bound follows the count the claim kept on the source, when it replied with one.
    const next: QueueTransferCursor = originalsLeft === undefined
      ? { limit: cursor.limit, claimed: claimedSoFar, bytesPerJob: meanBytes(held, bytesPerJob) }
      : { limit: claimedSoFar + originalsLeft, claimed: claimedSoFar, bytesPerJob: meanBytes(held, bytesPerJob), kept: true };
    const done = ranOut || next.claimed >= next.limit;
    let claimsNext: ClaimAhead<Buffer> | undefined;
    if (held.length > 0) {
      // Acknowledge exactly what was written: the jobs read, not any claimed into the batch since.
      const acknowledged = renewal.with('source', acknowledgeQueueJobs(source, inflight, batch, batchId, base + held.length, inflightIndexKey(sourceKeys.prefix)));
      // The next slice's claim rides in the acknowledge's round trip, written after it (claim-ahead.ts).
      const nextWant = sliceWant(request.sliceSize, next, next.bytesPerJob);
      if (!done && nextWant > 0 && request.mayClaimAhead?.() === true) {
        const sentOn = sourceSocket(request);
        claimsNext = sentAhead(claim(nextWant, next, false, next.kept ? 'kept' : undefined), nextWant, next.bytesPerJob, sentOn);
      }
      await acknowledged;
    }
    // What is still there was pushed during the transfer (or left behind by it): said, not hidden.
    // The pass is done once its last slice is acknowledged: its count goes, in the same round trip
    // (a retry of a slice after it finds none, and claims nothing more). Not before: a slice that
    // failed after its claim is retried with the count it left.
    // Its ledger retired first: a kill in between leaves the count, which the next plan finds (retireBeforePassEnd).
    // Only once this slice's renewals said both locks are still held (their replies ride in the
    // write's and the acknowledge's round trips): under a lost lock the run writes nothing more.
    const locks = await renewal.outcome();
    if (done && stillHeld(locks)) {
      await retireBeforePassEnd(request, `queue:${queue}`);
      counters.leftOnSource = await endPass(source, sourceKey, originals);
    }
    return { cursor: next, done, counters, locks, ...(claimsNext ? { ahead: claimsNext, holdsNext: true } : {}) };
  } catch (error) {
    throw classifyRedisError(error, `Transferring ${sourceKey}`);
  }
}

/** Deletes a done pass's count of originals and reads what is left on its queue: both sent at once, one round trip. */
async function endPass(source: Redis, queue: RedisKey, originals: RedisKey): Promise<number> {
  const [, left] = await Promise.all([source.del(originals), source.llen(queue)]);
  return left;
}

/**
 * How many jobs a slice from `cursor` asks for: fewer when those seen so far were large (page-bytes.ts).
 * A guess: the claim itself stops at MAX_PAGE_BYTES of payloads whatever it meets (claim-calls.ts).
 */
function sliceWant(sliceSize: number, cursor: QueueTransferCursor, bytesPerJob: number | undefined): number {
  return Math.max(0, Math.min(sliceSize, MAX_JOBS_PER_CLAIM, jobsWithinBytes(bytesPerJob, MAX_JOBS_PER_CLAIM), cursor.limit - cursor.claimed));
}

export interface QueueTransferRun extends Omit<QueueTransferRequest, 'cursor' | 'claimedAhead' | 'mayClaimAhead'>, DriveLimits, ClaimAheadWithin {
  readonly cursor?: QueueTransferCursor | null;
}

/** Slices from `cursor` until the queue is done, the deadline passes or `maxPages` is reached. */
export function transferQueue(request: QueueTransferRun): Promise<PageResult<QueueTransferCursor | null, TransferCounters> & { pages: number }> {
  const ahead = new SlicesAhead<Buffer>(request);
  return drivePages((cursor: QueueTransferCursor | null) => ahead.slice((aheadOptions) => transferQueueSlice({ ...request, cursor, ...aheadOptions })), request.cursor ?? null, request, {
    empty: emptyTransferCounters,
    add: addTransferCounters,
  });
}
