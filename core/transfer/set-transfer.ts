import { inflightIndexKey } from './inflight-index.js';
import { retireBeforePassEnd } from './retire-ledger.js';
import type { RedisKey } from 'ioredis';
import { generationFieldsOf } from '../redis/generation-arg.js';
import { inspectJob } from '../payload/inspect-job.js';
import { reportedSample } from '../reroute/reroute-counters.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import { runLockKey, runStopMarkerKey } from '../redis/run-lock.js';
import { claimRefusal } from './claim-refusal.js';
import type { SortedSetName } from '../redis/sidekiq-keys.js';
import { drivePages, type DriveLimits, type PageResult } from '../reroute/drive-pages.js';
import { carryScheduledJob, ledgerScheduledEntries } from './carry-job.js';
import { addTransferCounters, emptyTransferCounters, tallyCarried, type TransferCounters } from './transfer-counters.js';
import { acknowledgeSetEntries } from './acknowledge.js';
import { claimSetSlice, type ClaimedEntry, type SetSliceClaim } from './claim-calls.js';
import { SlicesAhead, sentAhead, takenAhead, type ClaimAhead, type ClaimAheadWithin } from './claim-ahead.js';
import { newBatchId } from './ledger-id.js';
import { SliceRenewal, stillHeld, type RenewedSlice } from './slice-renewal.js';
import { acknowledgedKey, batchKey, claimChainKey, conflictsKey, inflightKey, inflightSealKey, ledgerKey, originalsKey } from './transfer-keys.js';
import { claimReplicated, sourceSocket } from './replicated-steps.js';
import { copyKept, setCopyRecorded } from './copy-kept.js';
import { MAX_JOBS_PER_CLAIM, type TransferContext } from './transfer-options.js';
import { expectedBytesPerJob, jobsWithinBytes, meanBytes, sizeAndBytesPerJob } from '../redis/page-bytes.js';
import { targetLockOf, writeEntriesToSet, type LedgeredEntry, type TargetLock } from './write-to-target.js';
import { transferSelectedSetSlice, type SelectiveSetCursor } from './selective-set-transfer.js';
import { countLeftInSet } from './set-leftovers.js';
import { readDryRunSlice, type DryRunPosition } from './set-dry-run-read.js';

/** A set transfer's progress: at most `limit` entries (the set's size at the start) are claimed. */
export interface SetTransferCursor {
  readonly limit: number;
  readonly claimed: number;
  /** The mean payload size seen so far, which bounds the next slice (page-bytes.ts); absent before the first. */
  readonly bytesPerJob?: number;
  /** A class-selective pass only (request.classes): where it stands (selective-set-transfer.ts). */
  readonly selection?: SelectiveSetCursor;
  /** A dry run only: its last entry counted (set-dry-run-read.ts), from which its next slice reads. */
  readonly at?: DryRunPosition;
  /** The pass keeps its count of entries not claimed yet on the source (claimSetEntries-16.lua KEYS[10]), as a queue's does (queue-transfer.ts). */
  readonly kept?: true;
}

export interface SetTransferRequest extends TransferContext {
  readonly set: SortedSetName;
  readonly cursor: SetTransferCursor | null;
  readonly sliceSize: number;
  /** The claim the slice before sent with its acknowledge (claim-ahead.ts): this slice's, instead of one of its own. */
  readonly claimedAhead?: ClaimAhead<ClaimedEntry, SetSliceClaim>;
  /** This slice may send the next one's claim with its acknowledge: the caller runs the next slice in any case (claim-ahead.ts). */
  readonly mayClaimAhead?: () => boolean;
  /**
   * The page task's deadline and clock (DriveLimits, given through transferSet): a class-selective
   * pass's count of what stays at its end reads no further page past it (selected-left-count.ts).
   */
  readonly deadline?: number;
  readonly now?: () => number;
  /**
   * That count, cut short, is carried on by the next task of the item (selective-set-transfer.ts
   * SelectiveSetCursor.count) over at most this many tasks in all, then said cut short ("at least").
   * Absent: one task, as a caller that cannot carry it on (no next task) needs.
   */
  readonly countTasks?: number;
}

/** A slice's result, with the next slice's claim when it sent it ahead (then `holdsNext`). */
export type SetSliceResult = PageResult<SetTransferCursor, TransferCounters> & RenewedSlice & { readonly ahead?: ClaimAhead<ClaimedEntry, SetSliceClaim> };

/**
 * One slice of `schedule`, `retry` or `dead` moved to the same set on the target: the entries due
 * soonest are claimed first (Lua, atomic, into the run's in-flight set, with their scores), written
 * to the target once each (the run's ledger), then acknowledged. Member bytes and scores are kept
 * exactly, unless routing rewrites the queue value.
 */
export async function transferSetSlice(request: SetTransferRequest): Promise<SetSliceResult> {
  const { source, sourceKeys, set } = request;
  const sourceKey = sourceKeys.sortedSet(set);
  const counters = emptyTransferCounters();
  const carry = (member: Buffer) => carryScheduledJob(member, request.plan, request.rewriteActiveJobQueueName ?? true);
  try {
    if (request.classes !== undefined) return await transferSelectedSetSlice(request, new Set(request.classes));
    // A pass's first slice reads the set's size and its entries' mean size in one round trip.
    const start = request.cursor == null ? await sizeAndBytesPerJob(source, sourceKey, 'zset') : undefined;
    const cursor = request.cursor ?? { limit: start!.size, claimed: 0 };
    const ahead = request.dryRun ? undefined : request.claimedAhead;
    // Fewer entries a slice when they are large (page-bytes.ts); a claim sent ahead was sized by the slice before.
    const bytesPerJob = ahead ? ahead.bytesPerJob : start ? start.bytesPerJob : cursor.limit > cursor.claimed ? await expectedBytesPerJob(source, sourceKey, 'zset', cursor.bytesPerJob) : cursor.bytesPerJob;
    const want = ahead ? ahead.want : sliceWant(request.sliceSize, cursor, bytesPerJob);

    if (request.dryRun) {
      // After the last entry counted, wherever Sidekiq moved it meanwhile (set-dry-run-read.ts); a
      // cursor of the previous version (no `at`): from the rank it had read to, as it would have.
      const read = want === 0 ? { members: [], ended: false, at: cursor.at } : await readDryRunSlice(source, sourceKey, cursor.at, want, cursor.claimed);
      const { members } = read;
      tallyCarried(counters, members.map(carry));
      counters.claimed = counters.written = members.length;
      if (members.length > 0) counters.writtenTo[set] = members.length;
      const next: SetTransferCursor = { limit: cursor.limit, claimed: cursor.claimed + members.length, bytesPerJob: meanBytes(members, bytesPerJob), ...(read.at ? { at: read.at } : {}) };
      return { cursor: next, done: read.ended || next.claimed >= next.limit, counters };
    }

    const inflight = inflightKey(sourceKeys.prefix, request.runId, set);
    const batch = batchKey(sourceKeys.prefix, request.runId, set);
    const conflicts = conflictsKey(sourceKeys.prefix, request.runId, set);
    const chain = claimChainKey(sourceKeys.prefix, request.runId, set);
    const [stopMarker, lock] = [runStopMarkerKey(sourceKeys.prefix, request.runId), runLockKey(sourceKeys.prefix)];
    const seal = inflightSealKey(sourceKeys.prefix, request.runId, set);
    const acknowledged = acknowledgedKey(sourceKeys.prefix, request.runId, set);
    // The pass's count of entries not claimed yet lives on the source, changed by each claim in the
    // same step (claimSetEntries-16.lua KEYS[10]): a slice whose reply was lost, or that failed
    // after its claim, leaves the cursor short of it, never the count.
    const originals = originalsKey(sourceKeys.prefix, request.runId, set);
    const claim = (count: number, originalsCount: 'start' | 'kept' | undefined): Promise<SetSliceClaim> =>
      claimSetSlice(source, { set: sourceKey, inflight, batch, conflicts, chain, stopMarker, lock, seal, acknowledged, originals, inflightIndex: inflightIndexKey(sourceKeys.prefix) }, { want: count, newBatch: newBatchId(request.targetId), runId: request.runId, ...generationFieldsOf(request), ...(originalsCount ? { originalsCount } : {}) });
    const counted = request.cursor === null ? 'start' : request.cursor.kept ? 'kept' : undefined;
    const claimedOn = ahead ? ahead.sentOn : sourceSocket(request);
    const { claimed, stored: batchId, held, ranOut, refused, seal: sealed, originalsLeft } = ahead ? await takenAhead(ahead, () => claim(0, 'kept')) : await claim(want, counted);
    if (refused) throw claimRefusal(refused, request.runId, `on source ${request.sourceName ?? ''}`.trimEnd());
    counters.claimed = claimed;
    counters.resumed = held.length - claimed;
    const entries = ledgerScheduledEntries(held, batchId, request.plan, request.rewriteActiveJobQueueName ?? true);
    tallyCarried(counters, entries);
    // The source's replicas have the claim before its copy exists (replicated-steps.ts).
    if (held.length > 0) await claimReplicated(request, set, claimedOn, claimed === 0);
    // The run locks are renewed along with the write on the target and the acknowledge on the source.
    const renewal = new SliceRenewal(request.renewLocks);
    const bytes = meanBytes(held.map((e) => e.member), bytesPerJob);
    const next: SetTransferCursor = originalsLeft === undefined
      ? { limit: cursor.limit, claimed: cursor.claimed + claimed, bytesPerJob: bytes }
      : { limit: cursor.claimed + claimed + originalsLeft, claimed: cursor.claimed + claimed, bytesPerJob: bytes, kept: true };
    const done = ranOut || next.claimed >= next.limit;
    // The next slice's claim rides in the acknowledge's round trip, written after it (claim-ahead.ts).
    const nextWant = sliceWant(request.sliceSize, next, next.bytesPerJob);
    let claimsNext: ClaimAhead<ClaimedEntry, SetSliceClaim> | undefined;
    const sendNext = () => {
      if (!done && nextWant > 0 && request.mayClaimAhead?.() === true) {
        const sentOn = sourceSocket(request);
        claimsNext = sentAhead(claim(nextWant, next.kept ? 'kept' : undefined), nextWant, next.bytesPerJob, sentOn);
      }
    };
    await copyAndAcknowledgeSet({ ...request, targetLock: targetLockOf(request) }, set, batchId, entries, counters, renewal, sealed, sendNext);

    // What is still there was added during the transfer (the retry handler, a scheduler): said, not hidden.
    // The pass is done: its count goes in the same step (a retry of a slice after it claims nothing more).
    // Its ledger retired first: a kill in between leaves the count, which the next plan finds (retireBeforePassEnd).
    // Only once this slice's renewals said both locks are still held (their replies ride in the
    // write's and the acknowledge's round trips): under a lost lock the run writes nothing more.
    const locks = await renewal.outcome();
    if (done && stillHeld(locks)) {
      await retireBeforePassEnd(request, set);
      const { added, size } = await addedDuringPass(source, sourceKey, conflicts, originals);
      counters.leftOnSource = added;
      // Which queues' entries stay there (set-leftovers.ts): read only when the set is not empty.
      const left = size > 0 ? leftInSetOf(set, await countLeftInSet(source, sourceKey, next.bytesPerJob)) : undefined;
      if (left) counters.leftInSets = left;
    }
    return { cursor: next, done, counters, locks, ...(claimsNext ? { ahead: claimsNext, holdsNext: true } : {}) };
  } catch (error) {
    throw classifyRedisError(error, `Transferring ${sourceKey}`);
  }
}

/**
 * Entries still in the source set when its pass ended, but for the conflicts this run gave back
 * (reported as conflicts; the claim steps over them): entries added while the pass ran, which the
 * pass, bounded by the set's size at its start, did not take. Read in one MULTI. A conflict that
 * left the set meanwhile (the poller) makes this a lower bound.
 */
async function addedDuringPass(source: SetTransferRequest['source'], sourceKey: RedisKey, conflicts: RedisKey, originals: RedisKey): Promise<{ added: number; size: number }> {
  const replies = await source.multi().zcard(sourceKey).scard(conflicts).del(originals).exec();
  if (replies === null) throw new Error('MULTI aborted'); // only after a WATCH, which is never sent
  for (const [error] of replies) if (error) throw error;
  const [[, size], [, givenBack]] = replies as [[null, number], [null, number]];
  return { added: Math.max(0, size - givenBack), size };
}

/** One set's count of entries left by queue, as TransferCounters.leftInSets holds it; absent when none. */
export function leftInSetOf(set: SortedSetName, byQueue: Record<string, number>): TransferCounters['leftInSets'] {
  return Object.keys(byQueue).length > 0 ? { [set]: byQueue } : undefined;
}

/**
 * Writes a set batch to the target (ledger, ZADD NX), then acknowledges on the source exactly the
 * entries handled: written ones leave the in-flight set, conflicts go back to the source set.
 * Shared by the slices and the resume of interrupted runs (`runId`: the run that claimed them;
 * `conflictsRunId`: the run whose claims must step over the conflicts given back, the one resuming:
 * recorded under the claiming run's id, they were claimed again and counted twice; `targetLock`:
 * the writing run's lock on the target, without which nothing is written, write-to-target.ts).
 * `renewal`: a slice's run-lock renewals, sent along with the write and the acknowledge.
 * `seal`: the seal the slice's claim left, when `entries` are exactly what it held (claim-calls.ts
 * SetSliceClaim.seal): with no conflict, the acknowledge sends the seal instead of the members.
 * `acknowledgeSent`: called right after the acknowledge is written, to write the next slice's claim
 * behind it (claim-ahead.ts); not called when there is nothing to acknowledge.
 */
export async function copyAndAcknowledgeSet(
  context: Pick<TransferContext, 'source' | 'target' | 'sourceKeys' | 'targetKeys' | 'sourceName' | 'targetName'> & { readonly runId: string; readonly conflictsRunId?: string; readonly targetLock: TargetLock },
  set: SortedSetName,
  batchId: string,
  entries: readonly LedgeredEntry[],
  counters: TransferCounters,
  renewal = new SliceRenewal(undefined),
  seal?: string,
  acknowledgeSent?: () => void,
): Promise<void> {
  if (entries.length === 0) return;
  const { sourceKeys, targetKeys, runId } = context;
  const ledger = ledgerKey(targetKeys.prefix, runId, set);
  // The target's replicas have the copy (replicated-steps.ts), and the target still has it, before
  // the source forgets the entries (copy-kept.ts: written again if it lost it).
  const conflicts = await copyKept(
    context,
    set,
    entries.length,
    counters,
    () => renewal.with('target', writeEntriesToSet(context.target, targetKeys.sortedSet(set), set, ledger, entries, counters, context.targetLock)),
    (conflicted, duplicates) => {
      const skip = new Set(conflicted);
      return setCopyRecorded(context.target, ledger, entries.filter((e) => !skip.has(e)).map((e) => e.id), duplicates);
    },
  );
  const conflicting = new Set(conflicts);
  const inflight = inflightKey(sourceKeys.prefix, runId, set);
  await renewal.with(
    'source',
    acknowledgeSetEntries(
      context.source,
      {
        inflight,
        batch: batchKey(sourceKeys.prefix, runId, set),
        source: sourceKeys.sortedSet(set),
        conflicts: conflictsKey(sourceKeys.prefix, context.conflictsRunId ?? runId, set),
        seal: inflightSealKey(sourceKeys.prefix, runId, set),
        acknowledged: acknowledgedKey(sourceKeys.prefix, runId, set),
        inflightIndex: inflightIndexKey(sourceKeys.prefix),
      },
      batchId,
      entries.filter((e) => !conflicting.has(e)).map((e) => e.member),
      conflicts.map((e) => e.member),
      seal,
      acknowledgeSent,
    ),
  );
  if (conflicts.length > 0) await uncountKeptConflicts(context.source, inflight, conflicts, counters);
}

/**
 * Conflicts the acknowledge kept in flight (their exact bytes are in the source set again: giving
 * them back would merge the two, acknowledgeSetBatch-10.lua) are not left on the source: the
 * summary names them as still in flight. They leave the conflict count and its samples (one
 * sample of the same class and jid each), which say "left on the source". One read, only for a
 * slice that met conflicts.
 */
async function uncountKeptConflicts(source: TransferContext['source'], inflight: RedisKey, conflicts: readonly LedgeredEntry[], counters: TransferCounters): Promise<void> {
  const still = await source.zmscore(inflight, ...conflicts.map((e) => e.member));
  const kept = conflicts.filter((_, i) => still[i] !== null);
  counters.conflicts -= kept.length;
  for (const entry of kept) {
    // As writeEntriesToSet made the sample (write-to-target.ts).
    const job = inspectJob(entry.member);
    const sample = reportedSample({ jid: job.kind === 'job' ? job.jid : null, className: job.kind === 'job' ? job.className : null, reason: '' });
    const at = counters.conflictSamples.findIndex((s) => s.jid === sample.jid && s.className === sample.className);
    if (at >= 0) counters.conflictSamples.splice(at, 1);
  }
}

/**
 * How many entries a slice from `cursor` asks for: fewer when those seen so far were large (page-bytes.ts).
 * A guess: the claim itself stops at MAX_PAGE_BYTES of payloads whatever it meets (claim-calls.ts).
 */
function sliceWant(sliceSize: number, cursor: SetTransferCursor, bytesPerJob: number | undefined): number {
  return Math.max(0, Math.min(sliceSize, MAX_JOBS_PER_CLAIM, jobsWithinBytes(bytesPerJob, MAX_JOBS_PER_CLAIM), cursor.limit - cursor.claimed));
}

export interface SetTransferRun extends Omit<SetTransferRequest, 'cursor' | 'claimedAhead' | 'mayClaimAhead'>, DriveLimits, ClaimAheadWithin {
  readonly cursor?: SetTransferCursor | null;
}

/** Slices from `cursor` until the set is done, the deadline passes or `maxPages` is reached. */
export function transferSet(request: SetTransferRun): Promise<PageResult<SetTransferCursor | null, TransferCounters> & { pages: number }> {
  const ahead = new SlicesAhead<ClaimedEntry, SetSliceClaim>(request);
  return drivePages((cursor: SetTransferCursor | null) => ahead.slice((aheadOptions) => transferSetSlice({ ...request, cursor, ...aheadOptions })), request.cursor ?? null, request, {
    empty: emptyTransferCounters,
    add: addTransferCounters,
  });
}
