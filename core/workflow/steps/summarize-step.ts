import type { QuarantineList } from '../../drain/quarantine-lists.js';
import { leftoversLook } from '../../drain/leftover-keys.js';
import { forgetGoneInflightKeys, lookForInflightKeys } from '../../transfer/inflight-index.js';
import { walkForLooks } from '../../redis/shared-walk.js';
import { shareOf, type KeyspaceCut, type ScanBound } from '../../redis/bounded-scan.js';
import { isResumableLeftover, type InflightLeftover } from '../../transfer/resume-inflight.js';
import { RunLock } from '../../redis/run-lock.js';
import { emptyCounters, type RerouteCounters } from '../../reroute/reroute-counters.js';
import { emptyTransferCounters, type TransferCounters } from '../../transfer/transfer-counters.js';
import { SORTED_SET_NAMES, type SortedSetName } from '../../redis/sidekiq-keys.js';
import type { ConnectionProvider } from '../connections.js';
import { censusOnce, findQueuesHeardOnlyBySilent, findQueuesNobodyFetches, findUnheardQueues, type CensusOnce, type UnheardQueues, type UnheardSilentQueues } from '../unheard-queues.js';
import { leftInPlace } from '../left-in-place.js';
import { forgetPageReceipts } from '../page-receipt.js';
import { laterStartThatFinished, readRunFinishRecord, recordRunFinishReply, runFinishRecordCommand } from '../run-finish-record.js';
import { endRunExecution, finishRun } from '../run-executions.js';
import { forgetEndedQueues, readEndedQueues, readEndedSets, recordEndedQueues, recordEndedSets } from '../ended-queues.js';
import { OTHER_DESTINATIONS, type ListedItem, type RunTally, type Superseded } from '../run-tally.js';
import { ledgerKey } from '../../transfer/transfer-keys.js';
import type { RunSettings } from '../work-item.js';
import { leftBehindOf } from '../left-behind.js';
import { recordRolledBack } from '../rolled-back.js';
import { readWholeWorkList, workListKey } from '../work-list.js';
import { isDrainedQueue, isLiveQueue } from '../../routing/routing-plan.js';
import { deserializeRouting, loadRouting, storedRoutingKey, type SerializedRouting } from '../stored-routing.js';
import { loadSelection } from '../stored-selection.js';
import { selectJob } from '../../transfer/class-selection.js';
import { jobsWithinBytes, meanBytes, PROBE_JOBS } from '../../redis/page-bytes.js';
import { misplacedArrivals } from '../../reroute/rollback-arrivals.js';
import { mayMove } from '../../reroute/may-move.js';
import { countSetEntries } from './count-set-entries.js';
import { examineScheduledJob } from '../../reroute/examine-job.js';
import type { RoutingPlan } from '../../routing/routing-plan.js';
import type { Connection } from '../connections.js';
import { notLookedAtLook, type NotLookedAt } from '../not-looked-at.js';
import { heldByWorkersLook, type HeldByWorkers } from '../held-by-workers.js';
import { deadSetOverCap, type DeadSetOverCap } from '../dead-set-cap.js';
import { otherPrefixesLeftLook, type JobsUnderOtherPrefixes } from '../other-prefixes-left.js';
import { sharesKeyspace } from '../../redis/same-server.js';
import { readTargetId, targetIdKey, targetLostCopiesMessage, targetLostDataMessage, targetLostLedgersMessage } from '../../transfer/target-identity.js';
import { knownOfLoss, type TargetLoss } from '../target-loss.js';
import { routingOf } from './plan-step.js';
import { retireLedgersLeft } from '../../transfer/ledgers-left.js';

export interface RunSummary {
  readonly runId: string;
  readonly mode: 'reroute' | 'transfer';
  readonly dryRun: boolean;
  /** Counters of the sets and of the first queues (TALLY_LIMITS.listed items: see `unlisted`). */
  readonly sets: Record<string, RerouteCounters | TransferCounters>;
  readonly queues: Record<string, RerouteCounters | TransferCounters>;
  /** Items that ended here, counted in `totals` but not listed by name. */
  readonly unlisted?: number;
  /** The items that ended in this execution (a continued item counts where it ends). */
  readonly totals: RerouteCounters | TransferCounters;
  /** How many items finished, failed, or continued in another execution. */
  readonly counts?: { readonly finished: number; readonly failed: number; readonly continued: number };
  /** Items that failed after their retries (the first ones: `counts.failed` has them all). */
  readonly failures: { kind: 'set' | 'queue' | 'execution'; name: string; error: string }[];
  /** Items (or the rest of the list) that continued in a new execution (the first ones). */
  readonly continuedIn: { kind: 'set' | 'queue' | 'list'; name: string; execution: string }[];
  /** True when every item finished here, without failure or continuation. */
  readonly complete: boolean;
  /** Transfer: what the plan step finished of interrupted runs' in-flight jobs (in `totals` too). */
  readonly resumed?: TransferCounters;
  /**
   * Quarantine lists on the source, whose jobs are ones nobody runs (a transfer does not carry
   * them): the source is not drained while they exist. The first LEFT_ON_SOURCE_LISTED;
   * `leftOnSourceLists` counts them all.
   */
  readonly leftOnSource?: readonly QuarantineList[];
  readonly leftOnSourceLists?: number;
  /**
   * Re-route: jobs in every quarantine list on the Redis when the run ended (`leftOnSource` names
   * the lists). Beyond what this run quarantined, earlier runs left them: nobody runs them, so the
   * run does not say "Complete" over them.
   */
  readonly quarantinedInLists?: number;
  /**
   * Transfer: jobs on the target in the in-flight keys of an interrupted transfer out of it (the
   * other way: a shard move's step back after its step there was killed). No worker runs them and
   * this run does not finish them: only that transfer, run again, does. The first few keys named.
   */
  readonly inflightOnTarget?: { readonly jobs: number; readonly keys: readonly string[]; readonly lists: number };
  /**
   * Transfer: jobs on the source in in-flight keys of a shape no transfer writes back (a list
   * named for a sorted set, a sorted set for a queue, a key that is neither): every resume leaves
   * them, so no run finishes them. The run said 'Complete' over them. The first few keys named.
   */
  readonly inflightLeftOnSource?: { readonly jobs: number; readonly keys: readonly string[]; readonly lists: number };
  /**
   * Transfer (not a dry run): jobs still in in-flight keys a transfer writes back when the run
   * ended: a set entry kept in flight because its exact bytes are in the source set again (given
   * back as a conflict, the two would merge: acknowledgeSetBatch-10.lua), or a slice of a page that
   * failed. No worker runs them; the same move run again finishes them. The first few keys named.
   */
  readonly inflightStillOnSource?: { readonly jobs: number; readonly keys: readonly string[]; readonly lists: number };
  /**
   * Re-route: jobs on the Redis it re-routes in the in-flight keys of an interrupted transfer out of
   * it. No worker runs them and a re-route does not move them: only that transfer, run again, does.
   */
  readonly inflightOnSource?: RunSummary['inflightOnTarget'];
  /**
   * The looks for quarantine lists and in-flight keys (on the source; on a transfer's target) that
   * the summary's time bound stopped before the end of the keyspace, and how far each got: what
   * they found is above, what they did not reach is not counted, and the run does not say
   * "Complete" over it. Absent when every look reached the end.
   */
  readonly leftoverLooksCutShort?: { readonly source?: KeyspaceCut; readonly target?: KeyspaceCut };
  /**
   * A local run stopped by a signal (Ctrl-C): the signal, and how many sets and queues it left
   * unfinished (set by the CLI, never by the state machine).
   */
  readonly interrupted?: { readonly signal: string; readonly unfinished: number };
  /** Whether this execution released the run lock: the last of the run's executions to end does. */
  readonly releasedLock?: boolean;
  /**
   * This execution was the last of the run's executions to end (endRunExecution: none left): its
   * looks over the source (what is left there, in flight, arrived after an item ended) are the
   * run's, whichever execution started last (combine-summaries.ts).
   */
  readonly endedRun?: true;
  /**
   * A later start of the run superseded this execution (an old execution redriven after `start
   * --resume`): it ended nothing of the run's (its executions, list, stop marker and lock are the
   * later execution's), and is not complete.
   */
  readonly superseded?: Superseded;
  /** The source held no Sidekiq data at all (under its prefix or any other): nothing was there to move. */
  readonly nothingThere?: true;
  /**
   * Queues this execution put jobs on (would put, dry) that no live Sidekiq process fetches from,
   * on a Redis where live processes run: the source of a re-route, the target of a transfer.
   */
  readonly unheard?: UnheardQueues;
  /**
   * Queues this execution put jobs on (would put, dry) that only live Sidekiq processes not heard
   * from for more than 3 beats listen to (they may have been killed): `unheard` counts them heard.
   */
  readonly unheardSilent?: UnheardSilentQueues;
  /**
   * Queues this execution left jobs in place on (would leave, dry: left-in-place.ts) that nobody
   * fetches from: those no live Sidekiq process on the Redis they are on listens to, or, a
   * re-route's with none live, those its routing retires and nothing routes to. Those jobs never
   * run as things stand; "1 left in place" alone did not say so. `liveProcesses` 0: the routing said.
   * `unchecked`: the queues past the tally's names (run-tally.ts leftIn), not asked about.
   */
  readonly leftUnheard?: UnheardQueues & { readonly unchecked?: { readonly queues: number; readonly jobs: number } };
  /**
   * A re-route's `schedule`, `retry`, `dead` and `interrupted` entries left in place (unmapped,
   * which stay as they are) naming queues nobody fetches from, decided as for `leftUnheard`:
   * Sidekiq's poller pushes such an entry to the queue it names when it comes due (a dead one,
   * when someone retries it), where it never runs as things stand. Counted by the run's pages as
   * they read the sets (RerouteCounters.unmappedNaming), not by a reading of its own. `unchecked`:
   * the entries counted past the names the totals keep (under OTHER_DESTINATIONS), not asked about.
   * The originals of conflicts count as the unmapped entries do (left as they were, naming their
   * old queue); unparsable entries, whose queue cannot be read, are `leftInSetsUnreadable`.
   */
  readonly leftUnheardInSets?: UnheardQueues & { readonly unchecked?: { readonly jobs: number } };
  /**
   * Queues this execution left jobs in place on (as leftUnheard) that only live Sidekiq processes
   * not heard from for more than 3 beats listen to (they may have been killed): leftUnheard counts
   * them heard. Absent when none.
   */
  readonly leftUnheardSilent?: UnheardSilentQueues;
  /** Set entries left in place (as leftUnheardInSets) naming queues only such processes listen to. Absent when none. */
  readonly leftInSetsUnheardSilent?: UnheardSilentQueues;
  /**
   * A re-route's unparsable `schedule`, `retry`, `dead` and `interrupted` entries left in place
   * (RerouteCounters.unparsableInSets): their queue cannot be read, so where the poller would push
   * them, and whether anybody fetches there, is not known. Said apart from leftUnheardInSets, not
   * left out of it silently. Absent when none.
   */
  readonly leftInSetsUnreadable?: { readonly jobs: number };
  /** Jobs workers took from the queues the run empties, in their fetchers' private lists (held-by-workers.ts). */
  readonly heldByWorkers?: HeldByWorkers;
  /** Jobs in the sets and queues the run's --sets or --no-queues left out (not-looked-at.ts). */
  readonly notLookedAt?: NotLookedAt;
  /** Jobs on the source under other key prefixes than the run's (other-prefixes-left.ts): no run moves them unless told their prefix. */
  readonly underOtherPrefixes?: JobsUnderOtherPrefixes;
  /** The plan's renames whose old queue had no list and was not in `queues` (work-item.ts): said when nothing went to their new queue. */
  readonly renamesWithoutQueue?: RunSettings['renamesWithoutQueue'];
  /** A rollback's run whose jobs later runs moved on (moved-on-since.ts): not put back, named. */
  readonly movedOnSince?: RunSettings['movedOnSince'];
  /**
   * A rollback's: the run it puts back. Its retired queues are the ones that run moved jobs to,
   * and "run again" is this rollback again: its words (the CLI's, the deployed log line's,
   * left-behind.ts) say so. Absent for a run, and where the summary loaded no routing.
   */
  readonly rollbackOf?: string;
  /**
   * A selective transfer's count of its classes' jobs put back on the queues it listed after their
   * items ended (`leftOnSource`), stopped at its share of the summary's time: it reads every job
   * left on those queues (the other classes' backlog, millions on GitLab's `default`). How far it
   * got; what it did not read is not counted, and the run does not say "Complete" over it.
   */
  readonly selectedArrivalsCutShort?: SelectedArrivalsCut;
  /**
   * A re-route's count of the entries its routing moves added to its sets after their pass ended
   * (routedArrivalsInSets), stopped at its share of the summary's time: the sets not read to their
   * end, and their entries not read. Not counted, and the run does not say "Complete" over them.
   */
  readonly setArrivalsCutShort?: { readonly sets: readonly string[]; readonly unread: number };
  /**
   * Transfer: what this execution found of a target that lost data during the run (its line is
   * among `failures`): the executions of a continued run say it once (combine-summaries.ts).
   */
  readonly targetLoss?: TargetLoss;
  /**
   * Transfer (not a dry run) of `dead`: the target's dead set when it ended at Sidekiq's cap or
   * above (dead-set-cap.ts). The moved entries are all there, but the next job that dies on the
   * target makes Sidekiq drop the oldest, theirs first: said, never only "Complete".
   */
  readonly deadSetOverCap?: DeadSetOverCap;
}

/** How far a selective transfer's count of its classes' jobs put back on its queues got (RunSummary.selectedArrivalsCutShort). */
export interface SelectedArrivalsCut {
  /** Jobs read, of `jobs` on the `queues` queues it was to read (LLEN when it stopped). */
  readonly read: number;
  readonly jobs: number;
  readonly queues: number;
}

/** Retired queues without an item that a summary names for what arrived on them (a GitLab has hundreds of queues): the output stays small. */
const IDLE_QUEUES_LISTED = 20;

/** Quarantine lists a summary names (there may be one per queue): the output stays small. */
const LEFT_ON_SOURCE_LISTED = 20;

export interface SummarizeInput {
  readonly settings: RunSettings;
  /** This execution's name among the run's executions (run-executions.ts). */
  readonly execution: string;
  readonly tally: RunTally;
  /** The rest of the list continued in this execution (when the list was too long for one). */
  readonly listContinuedIn?: { readonly executionArn: string } | null;
  readonly resumed?: TransferCounters;
}

export interface SummarizeOptions {
  /**
   * Epoch ms after which the summary's walks of a whole keyspace (the source's, which feeds its
   * looks for quarantine lists and in-flight keys: leftover-keys.ts; jobs in workers' private
   * lists: held-by-workers.ts; jobs under other prefixes: other-prefixes-left.ts; --no-queues'
   * queue lists: not-looked-at.ts; and a transfer's target's) read no further SCAN page, each its
   * share of the time: on a Redis with millions of other keys each is thousands of round trips,
   * and the deployed step has its function's timeout. A look cut short says so
   * (`leftoverLooksCutShort`, `heldByWorkers.cutShort`, `underOtherPrefixes.cutShort`,
   * `notLookedAt.queuesCutShort`). Default: no bound.
   */
  readonly lookUntil?: number;
  readonly clock?: () => number;
}

/**
 * "Summarize": turns the execution's tally into its summary and ends the execution among the
 * run's executions; the last one to end releases the run lock (held by this run: a lock another
 * run took meanwhile is left alone). An execution whose items continue elsewhere is never the last:
 * its continuations were added before they were started.
 */
export async function summarizeStep(input: SummarizeInput, connections: ConnectionProvider, options: SummarizeOptions = {}): Promise<RunSummary> {
  const { settings, tally } = input;
  let releasedLock = false;
  // This execution's end left none of the run's executions: its looks are the run's (combine-summaries.ts).
  let endedRun = false;
  // The queues whose items ended in any execution of the run (the last one's look reads them).
  let ended: ListedItem[] = [];
  let idleArrivals: Record<string, number> = {};
  let lateArrivals: Record<string, number> = {};
  // A transfer's entries added to the sets it moved after their pass ended, and the sets' items wherever they ended.
  let setArrivals: Record<string, number> = {};
  let setArrivalsUnread: Record<string, number> = {};
  let endedSets: ListedItem[] = [];
  let supersededBy: number | undefined;
  // The later start's execution ARN, when known (Superseded): the one to follow.
  let supersededByArn: string | undefined;
  let selectedArrivalsCutShort: SelectedArrivalsCut | undefined;
  if (!settings.dryRun) {
    const source = await connections.get(settings.source);
    // The queues whose items ended here, for the look of the run's last execution (below), written
    // before this one ends: the last reads every other's (ended-queues.ts).
    if (settings.queues) await recordEndedQueues(source.redis, source.keys.prefix, settings, tally);
    await recordEndedSets(source.redis, source.keys.prefix, settings, tally);
    // Checked and ended in one step: a later start that plans meanwhile keeps its own `root`. One
    // its plan or an add-up found superseded ends nothing: the run's executions are the later
    // start's (which may have ended the run since, its lock released: ending this one would then
    // find none left, and take its look for the run's).
    const end = tally.superseded ? { supersededBy: tally.superseded.laterPlannedAt } : await endRunExecution(source.redis, source.keys.prefix, settings.runId, input.execution, settings.plannedAt, settings.plannedBy);
    // None left and the lock not this start's to say: a later start of the run may have ended the
    // run since (its finish deleted the executions and released the lock) when this execution was
    // superseded with no item failed (its items handed on, or done before that start planned) and
    // its summary ran late. That start's finish record tells (laterStartThatFinished); ending the
    // run here wrote this start's record over it, and this start's continuations then read it as
    // their own ("lost its run lock", FAILED: audit-review3).
    const finishedBy = !('supersededBy' in end) && end.left === 0 ? await laterStartThatFinished(source.redis, source.keys.prefix, settings) : undefined;
    if ('supersededBy' in end) {
      supersededBy = end.supersededBy;
      supersededByArn = tally.superseded?.laterPlannedBy ?? (await RunLock.laterPlannedBy(source.redis, source.keys.prefix, settings.runId, end.supersededBy));
    } else if (finishedBy !== undefined) {
      supersededBy = finishedBy.laterPlannedAt;
      supersededByArn = finishedBy.laterPlannedBy;
    } else if (end.left === 0) {
      endedRun = true;
      // A retry of this summary after an earlier attempt finished the run (its answer lost): the
      // list is gone, the lock released by it. What that attempt found is its record's.
      const earlier = await readRunFinishRecord(source.redis, source.keys.prefix, settings, input.execution);
      if (earlier) {
        idleArrivals = earlier.idleArrivals;
        lateArrivals = earlier.lateArrivals;
        setArrivals = earlier.setArrivals ?? {};
      }
      // Before the list goes: the retired queues that were no item of this run (empty when it
      // planned) may have been given jobs since (Sidekiq's shutdown requeue, a producer on old rules).
      // A transfer's (every class: a selective one leaves the other classes' jobs by design) the same.
      else if (settings.queues && (settings.mode === 'reroute' ? settings.routed : !settings.selected)) {
        const plan = settings.mode === 'reroute' ? await loadRouting(source.redis, source.keys.prefix, settings.runId, settings.routingDigest) : undefined;
        idleArrivals = await arrivalsOnUnlistedRetiredQueues(source, settings, plan);
        // Every queue whose item ended, in whichever execution (ended-queues.ts): an execution with
        // a failed item recorded none (its queue still holds what it did not move).
        ended = await readEndedQueues(source.redis, source.keys.prefix, settings);
        lateArrivals = await arrivalsAfterTheirItemEnded(source, settings.mode, ended, plan);
      } else if (settings.queues && settings.mode === 'transfer' && settings.selected) {
        // A selective one's: only jobs of its classes count (Sidekiq's shutdown requeue of one).
        const classes = new Set(await loadSelection(source.redis, source.keys.prefix, settings.runId, settings.selectionDigest));
        ended = await readEndedQueues(source.redis, source.keys.prefix, settings);
        const counted = await selectedArrivalsAfterTheirItemEnded(source, ended, classes, halfTheLookTime(options));
        lateArrivals = counted.found;
        selectedArrivalsCutShort = counted.cutShort;
      }
      // A transfer's sets: entries added after their pass ended (a retry handler, a scheduler, the
      // source's Sidekiq retrying a failing job), which their pass, bounded by the set's size at its
      // start, did not take. Every set whose item ended, in whichever execution (ended-queues.ts).
      if (!earlier && settings.mode === 'transfer') {
        endedSets = await readEndedSets(source.redis, source.keys.prefix, settings);
        const selective = settings.selected === true;
        const classes = selective ? new Set(await loadSelection(source.redis, source.keys.prefix, settings.runId, settings.selectionDigest)) : undefined;
        // A selective one reads the entries (its classes' only count): half the time the looks over the keyspace have.
        const counted = await arrivalsInSetsAfterTheirPassEnded(source, endedSets, classes, halfTheLookTime(options));
        setArrivals = counted.found;
        setArrivalsUnread = counted.unread;
      }
      // A re-route's and a rollback's: entries its routing moves, added to a set after its pass
      // ended (a retry, a client still on the rules it undoes), left naming the queue it drains.
      // A rollback's entries of other classes stay by design: its routing moves none of them.
      if (!earlier && settings.mode === 'reroute' && settings.routed) {
        const plan = await loadRouting(source.redis, source.keys.prefix, settings.runId, settings.routingDigest);
        endedSets = await readEndedSets(source.redis, source.keys.prefix, settings);
        const counted = await routedArrivalsInSets(source, endedSets, plan, halfTheLookTime(options));
        setArrivals = counted.found;
        setArrivalsUnread = counted.unread;
      }
      // The ledgers of passes an earlier start ended but never added up (killed in between, its
      // queue empty since): no item of this start retires them; an earlier start's pass records
      // (a transfer's: counts) its plan forgot (older-starts.ts), and the ledgers they name; and
      // those of other runs out of this source that nothing retired (one whose jobs in flight this
      // run's plan finished, killed before it gave that ledger its TTL: this start's plan may be
      // the one killed, so a first start looks too): ledgers-left.ts. Found in the target's index
      // of ledgers (one SMEMBERS, ledger-index.ts), not by walking a keyspace that may hold millions
      // of other keys; one bounded walk only on a target whose index lacks its mark (an older
      // version's ledgers), as before.
      // Not on a target that lost its data since the plan (its id gone or another): no ledger of
      // this run is there, and the summary says it wrote nothing there (the index's mark would be).
      if (settings.mode === 'transfer' && settings.target && !settings.dryRun) {
        const target = await connections.get(settings.target);
        const sameTarget = settings.targetId === undefined || (await readTargetId(target.redis, target.keys)) === settings.targetId;
        if (sameTarget) await retireLedgersLeft({ source: source.redis, target: target.redis, sourceKeys: source.keys, targetKeys: target.keys, runId: settings.runId }, shareOf(boundOf(options), 8));
      }
      // The last execution of the run: nothing reads the run's list any more. Deleted with the
      // lock's release, in one step, unless a later start of the run planned meanwhile (its list).
      // With the record of it, for a retry of this summary (run-finish-record.ts).
      const record = runFinishRecordCommand(source.keys.prefix, settings, input.execution, { idleArrivals, lateArrivals, setArrivals });
      const finished = await finishRun(source.redis, source.keys.prefix, settings.runId, settings.plannedAt, settings.plannedBy, [record]);
      if ('supersededBy' in finished) {
        // A later start planned between this end and the finish: the run, and what this one's
        // looks found left since, are that start's to move and tell; this one ended no run.
        supersededBy = finished.supersededBy;
        supersededByArn = await RunLock.laterPlannedBy(source.redis, source.keys.prefix, settings.runId, finished.supersededBy);
        endedRun = false;
        idleArrivals = {};
        lateArrivals = {};
        setArrivals = {};
        setArrivalsUnread = {};
        selectedArrivalsCutShort = undefined;
      } else {
        await forgetPageReceipts(source.redis, source.keys.prefix, settings.runId);
        await forgetEndedQueues(source.redis, source.keys.prefix, settings.runId);
        // A retry finds the lock gone: the earlier attempt released it, as its record says (one
        // without the reply, its attempt ended just after the finish: the lock is gone all the same).
        if (!earlier) await recordRunFinishReply(source.redis, source.keys.prefix, settings, input.execution, { idleArrivals, lateArrivals, setArrivals }, finished.released);
        releasedLock = (await releaseOnTarget(settings, connections)) || finished.released || (earlier !== undefined && earlier.released !== false);
      }
    }
  }
  const idleTotal = [...Object.values(idleArrivals), ...Object.values(lateArrivals), ...Object.values(setArrivals)].reduce((a, b) => a + b, 0);
  const counted = settings.mode === 'reroute' ? 'arrived' : 'leftOnSource';
  // A selective count of a set's entries cut short by the summary's time: what it did not read (its number is then a floor, "at least").
  const unreadInSets = Object.values(setArrivalsUnread).reduce((a, b) => a + b, 0);
  const withArrivals = idleTotal > 0 ? { ...tally.totals, [counted]: ((tally.totals as unknown as Record<string, number>)[counted] ?? 0) + idleTotal } : tally.totals;
  // Its part said apart (leftUncountedBySummary): the summary's time stopped it, not a page task's.
  const bySummary = (c: TransferCounters, unread: number) => ({ leftUncounted: (c.leftUncounted ?? 0) + unread, leftUncountedBySummary: (c.leftUncountedBySummary ?? 0) + unread });
  const totals = unreadInSets > 0 && settings.mode === 'transfer' ? { ...withArrivals, ...bySummary(withArrivals as TransferCounters, unreadInSets) } : withArrivals;
  // A re-route's: said apart (its counters have no such count).
  const setArrivalsCutShort = unreadInSets > 0 && settings.mode === 'reroute' ? { sets: Object.keys(setArrivalsUnread).sort(), unread: unreadInSets } : undefined;
  // One census of each Redis's Sidekiq processes for the whole summary (unheard-queues.ts
  // CensusOnce): every question about who listens, and the workers' private lists, read the same
  // processes, so the summary's lines cannot disagree over a process that came or went between reads.
  const censuses = new Map<string, CensusOnce>();
  const censusOf = async (name: string): Promise<CensusOnce> => {
    let census = censuses.get(name);
    if (!census) {
      const c = await connections.get(name);
      census = censusOnce(c.redis, c.keys);
      censuses.set(name, census);
    }
    return census;
  };
  const unheard = await unheardDestinations(settings, tally, censusOf, findUnheardQueues);
  const unheardSilent = await unheardDestinations(settings, tally, censusOf, findQueuesHeardOnlyBySilent);
  const source = await connections.get(settings.source);
  const sourceCensus = await censusOf(settings.source);
  // The sets and queues the scope left out; with no data at all, there is nothing to name. Not
  // for a superseded execution: the run is the later one's, and so is its stored routing (a
  // resume may have stored another, which loading this execution's would refuse).
  const looks = !settings.nothingThere && supersededBy === undefined;
  const routing = settings.mode === 'reroute' && looks ? await routingOf(settings, source) : undefined;
  // Its words only (never what it moves or counts): a superseded execution's from the routing the run stored.
  const words = routing ? routingWords(routing) : supersededBy !== undefined ? await supersededRoutingWords(settings, source) : {};
  const rollbackOf = words.rollbackOf;
  const leftUnheard = await leftWhereNobodyFetches(tally, sourceCensus, words.heardWithoutProcesses);
  const leftUnheardInSets = await leftInSetsWhereNobodyFetches(settings, tally, sourceCensus, words.heardWithoutProcesses);
  // Heard only by processes not heard from for several beats (they may have been killed): said apart.
  const leftUnheardSilent = await findQueuesHeardOnlyBySilent(sourceCensus, tally.leftIn ?? {});
  const leftInSetsUnheardSilent = await findQueuesHeardOnlyBySilent(sourceCensus, namedEntriesLeft(settings, tally));
  const unreadableInSets = (settings.mode === 'reroute' ? (tally.totals as RerouteCounters).unparsableInSets : (tally.totals as TransferCounters).unparsableInSets) ?? 0;
  // The private lists of the queues it empties (a re-route's retired ones, a transfer's all; a
  // selective transfer's: its classes' jobs there). Not a rollback's: its queues are live, what
  // comes back there runs. With --no-queues too: the jobs workers took from those queues are left
  // as their queues are, and a gone worker's, which nobody runs, ended under "Complete".
  const emptiesQueues = looks && (settings.mode === 'transfer' || (routing !== undefined && routing.kind !== 'reverse'));
  const target = settings.mode === 'transfer' ? await connections.get(settings.target!) : undefined;
  // A target that lost its data after the run wrote there (restarted empty after its last page)
  // holds none of it: said as a failure, never "Complete" (target-identity.ts).
  const targetNow = target && !settings.dryRun && settings.targetId !== undefined ? await readTargetId(target.redis, target.keys) : undefined;
  // A slice's copy lost there (copy-kept.ts) says what the id says too (below), in one line.
  const recopied = settings.mode === 'transfer' && !settings.dryRun ? ((totals as TransferCounters).recopied ?? 0) : 0;
  const idLost = target !== undefined && targetNow !== undefined && targetNow !== settings.targetId;
  const targetLost = target && idLost && recopied === 0 ? targetLostDataMessage(settings.runId, target.name, settings.targetId!, targetNow) : undefined;
  // A target that lost what the run wrote there but kept its id (reloaded an older snapshot, or
  // flushed in part): the run's ledger of a set or queue it wrote to is gone. Ledgers have no TTL
  // while the run lives (7 days once retired), so one missing there is a loss, said as a failure.
  const ledgersGone = target && !settings.dryRun && settings.mode === 'transfer' && !idLost ? await ledgersGoneFrom(target, settings.runId, tally.listed) : [];
  const lostLedgers = target && ledgersGone.length > 0 ? targetLostLedgersMessage(settings.runId, target.name, ledgersGone) : undefined;
  // A target that lost a slice's copy between the copy and the acknowledge (copy-kept.ts): the
  // slice was written again, but the target lost data. A failure too, whatever its id says now;
  // it names what may have gone with the data, as the items' counters know it.
  // A dry run's forecast: what is there now and what its count says a run would write to `dead`.
  const deadWouldWrite = settings.dryRun ? ((totals as TransferCounters).writtenTo?.dead ?? 0) : 0;
  const deadOverCap = target && supersededBy === undefined && settings.sets.includes('dead') && (!settings.dryRun || deadWouldWrite > 0) ? await deadSetOverCap(target, deadWouldWrite) : undefined;
  const lostCopies = target && recopied > 0 ? targetLostCopiesMessage(settings.runId, target.name, recopied, { ...(idLost ? { id: { planned: settings.targetId!, here: targetNow ?? null } } : {}), ...knownOfLoss(tally.listed), unlisted: tally.unlisted }) : undefined;
  // A same-server move's target prefix is the run's own (not "another prefix"), and its target's
  // in-flight keys are in the source's keyspace: the source's walk finds them too.
  const sharedTarget = target !== undefined && (await sameKeyspaceTarget(source, target)).length > 0;
  const selection = !emptiesQueues || settings.mode !== 'transfer' ? undefined : settings.selected ? await loadSelection(source.redis, source.keys.prefix, settings.runId, settings.selectionDigest) : settings.inlineClasses;
  // Every look over the source's keyspace is fed by ONE walk of it (shared-walk.ts): each SCAN
  // visits every key of the database whatever it matches, and four looks that walked apart (the
  // quarantine lists and in-flight keys; the private lists, two patterns; other prefixes' jobs;
  // --no-queues' queue lists) cost four times the round trips on a Redis of millions of keys.
  // Quarantine lists: a transfer does not carry them; a re-route's earlier runs may have filled them.
  // In-flight keys: a transfer finishes its source's (the plan resumes them) or refuses to start,
  // but for shapes no resume writes; a re-route leaves them.
  const onSourceLook = leftoversLook(source.redis, source.keys, { quarantine: true, inflight: true });
  const onTargetLook = target ? leftoversLook(target.redis, target.keys, { quarantine: false, inflight: true }) : undefined;
  const notLookedAtOf = looks ? notLookedAtLook(settings, source, routing) : undefined;
  const heldLook = emptiesQueues ? await heldByWorkersLook(source, routing, sourceCensus, selection && new Set(selection)) : undefined;
  const ownPrefixes = [source.keys.prefix, ...(sharedTarget ? [target.keys.prefix] : [])];
  const elsewhereLook = looks ? otherPrefixesLeftLook(source.redis, ownPrefixes) : undefined;
  const fed = [onSourceLook, ...(sharedTarget ? [onTargetLook!] : []), ...(notLookedAtOf && notLookedAtOf.heads.length > 0 ? [notLookedAtOf] : []), ...(heldLook ? [heldLook] : []), ...(elsewhereLook ? [elsewhereLook] : [])];
  // The summary's time: the source's walk, and a transfer's target's own walk of its keyspace
  // (another Redis), each its fair part of what is left.
  const bound = boundOf(options);
  const walks = 1 + (target && !sharedTarget ? 1 : 0);
  const extents = await walkForLooks(source.redis, fed, shareOf(bound, walks), `Looking over the keys of ${settings.mode === 'reroute' ? 'the Redis' : 'the source'} (SCAN)`);
  const extentOf = (look: object) => extents[fed.indexOf(look as (typeof fed)[number])] ?? { pages: 0 };
  const onSource = await onSourceLook.result(extentOf(onSourceLook));
  const leftOnSource = onSource.quarantine;
  const quarantinedInLists = leftOnSource.reduce((n, l) => n + l.size, 0);
  // The target's own: read from its index of in-flight keys (inflight-index.ts), no walk of its
  // keyspace once one walk marked it; the mark not written by a dry run, nor on a target that lost
  // its data since the plan (the summary says it wrote nothing there).
  const markTarget = !settings.dryRun && !idLost;
  const onTarget = onTargetLook ? (sharedTarget ? await onTargetLook.result(extentOf(onTargetLook)) : await lookForInflightKeys(target!.redis, target!.keys, bound, { mark: markTarget })) : undefined;
  const inflightOnTarget = onTarget ? heldInFlight(onTarget.inflight) : undefined;
  // The names left in the source's index of in-flight keys whose keys are gone since (an older
  // version's acknowledges; this version's take out what they empty): taken out, each only while
  // its key is gone (inflight-index.ts), so the index names what may still be in flight and no
  // more (a run that finished leaves none). One SMEMBERS when there are none.
  if (settings.mode === 'transfer' && !settings.dryRun && supersededBy === undefined) await forgetGoneInflightKeys(source.redis, source.keys.prefix);
  const inflightLeftOnSource = settings.mode === 'transfer' ? heldInFlight(onSource.inflight.filter((l) => !isResumableLeftover(l))) : undefined;
  // A dry run leaves them all where they were (its resume, counted, would finish them first).
  const inflightStillOnSource = settings.mode === 'transfer' && !settings.dryRun ? heldInFlight(onSource.inflight.filter(isResumableLeftover)) : undefined;
  const inflightOnSource = settings.mode === 'reroute' ? heldInFlight(onSource.inflight) : undefined;
  const leftoverLooksCutShort = onSource.cutShort || onTarget?.cutShort ? { ...(onSource.cutShort ? { source: onSource.cutShort } : {}), ...(onTarget?.cutShort ? { target: onTarget.cutShort } : {}) } : undefined;
  const notLookedAt = notLookedAtOf ? await notLookedAtOf.result(extentOf(notLookedAtOf)) : undefined;
  const held = heldLook ? await heldLook.result(extentOf(heldLook)) : undefined;
  // Jobs under other prefixes of the source.
  const elsewhere = elsewhereLook?.result(extentOf(elsewhereLook));
  const sets: RunSummary['sets'] = {};
  const queues: RunSummary['queues'] = {};
  for (const listed of tally.listed) (listed.kind === 'set' ? sets : queues)[listed.name] = listed.counters;
  // Named in the summary's list, the largest first, as many as keep its state small (all in the totals).
  const idleNamed = Object.entries(idleArrivals).sort((x, y) => y[1] - x[1]).slice(0, IDLE_QUEUES_LISTED);
  for (const [queue, found] of idleNamed) queues[queue] = settings.mode === 'reroute' ? { ...emptyCounters(), arrived: found } : { ...emptyTransferCounters(), leftOnSource: found };
  // A queue whose item ended in another execution: listed here with its counters as it ended
  // there, and what arrived since (the combined summary takes this one's: combine-summaries.ts),
  // the largest first, as many as keep the state small (all in the totals).
  let endedElsewhere = 0;
  for (const [queue, found] of Object.entries(lateArrivals).sort((x, y) => y[1] - x[1])) {
    const own = queues[queue] !== undefined;
    if (!own && endedElsewhere >= IDLE_QUEUES_LISTED) continue;
    const c = (queues[queue] ?? ended.find((l) => l.name === queue)?.counters) as unknown as Record<string, number> | undefined;
    if (!c) continue;
    if (!own) endedElsewhere++;
    queues[queue] = { ...c, [counted]: (c[counted] ?? 0) + found } as unknown as RerouteCounters | TransferCounters;
  }
  // A set whose item ended here or in another execution, with what was added since (combine-summaries.ts takes this one's).
  for (const set of new Set([...Object.keys(setArrivals), ...Object.keys(setArrivalsUnread)])) {
    const c = (sets[set] ?? endedSets.find((l) => l.name === set)?.counters) as unknown as Record<string, number> | undefined;
    if (!c) continue;
    const [found, unread] = [setArrivals[set] ?? 0, setArrivalsUnread[set] ?? 0];
    const uncounted = unread > 0 && settings.mode === 'transfer' ? bySummary(c as unknown as TransferCounters, unread) : {};
    sets[set] = { ...c, [counted]: (c[counted] ?? 0) + found, ...uncounted } as unknown as RerouteCounters | TransferCounters;
  }
  const continuedIn: RunSummary['continuedIn'] = [...tally.continuedIn];
  const counts = { ...tally.counts };
  if (input.listContinuedIn) {
    continuedIn.push({ kind: 'list', name: 'the rest of the sets and queues', execution: input.listContinuedIn.executionArn });
    counts.continued++;
  }
  const summary: RunSummary = {
    runId: settings.runId,
    mode: settings.mode,
    dryRun: settings.dryRun,
    sets,
    queues,
    unlisted: tally.unlisted,
    totals: totals as RunSummary['totals'],
    counts,
    failures: [
      ...tally.failures,
      ...(targetLost ? [{ kind: 'execution' as const, name: settings.runId, error: `TargetLostDataError: ${targetLost}` }] : []),
      ...(lostCopies ? [{ kind: 'execution' as const, name: settings.runId, error: `TargetLostDataError: ${lostCopies}` }] : []),
      ...(lostLedgers ? [{ kind: 'execution' as const, name: settings.runId, error: `TargetLostDataError: ${lostLedgers}` }] : []),
    ],
    continuedIn,
    complete: counts.failed === 0 && counts.continued === 0 && supersededBy === undefined && targetLost === undefined && lostCopies === undefined && lostLedgers === undefined,
    ...(settings.mode === 'reroute' || !input.resumed ? {} : { resumed: input.resumed }),
    ...(leftOnSource.length > 0 ? { leftOnSource: leftOnSource.slice(0, LEFT_ON_SOURCE_LISTED), leftOnSourceLists: leftOnSource.length } : {}),
    ...(settings.mode === 'reroute' && quarantinedInLists > 0 ? { quarantinedInLists } : {}),
    ...(inflightOnTarget ? { inflightOnTarget } : {}),
    ...(inflightLeftOnSource ? { inflightLeftOnSource } : {}),
    ...(inflightStillOnSource ? { inflightStillOnSource } : {}),
    ...(inflightOnSource ? { inflightOnSource } : {}),
    ...(leftoverLooksCutShort ? { leftoverLooksCutShort } : {}),
    ...(notLookedAt ? { notLookedAt } : {}),
    ...(held ? { heldByWorkers: held } : {}),
    ...(elsewhere ? { underOtherPrefixes: elsewhere } : {}),
    releasedLock,
    ...(endedRun ? { endedRun: true as const } : {}),
    ...(supersededBy !== undefined ? { superseded: { laterPlannedAt: supersededBy, ...(supersededByArn !== undefined ? { laterPlannedBy: supersededByArn } : {}) } } : {}),
    ...(input.settings.nothingThere ? { nothingThere: true as const } : {}),
    ...(unheard ? { unheard } : {}),
    ...(unheardSilent ? { unheardSilent } : {}),
    ...(leftUnheard ? { leftUnheard } : {}),
    ...(leftUnheardInSets ? { leftUnheardInSets } : {}),
    ...(leftUnheardSilent ? { leftUnheardSilent } : {}),
    ...(leftInSetsUnheardSilent ? { leftInSetsUnheardSilent } : {}),
    ...(unreadableInSets > 0 ? { leftInSetsUnreadable: { jobs: unreadableInSets } } : {}),
    ...(settings.renamesWithoutQueue ? { renamesWithoutQueue: settings.renamesWithoutQueue } : {}),
    ...(settings.movedOnSince ? { movedOnSince: settings.movedOnSince } : {}),
    ...(rollbackOf !== undefined ? { rollbackOf } : {}),
    ...(selectedArrivalsCutShort ? { selectedArrivalsCutShort } : {}),
    ...(setArrivalsCutShort ? { setArrivalsCutShort } : {}),
    ...(target && (targetLost || lostCopies || lostLedgers)
      ? { targetLoss: { target: target.name, ...(idLost ? { id: { planned: settings.targetId!, here: targetNow ?? null } } : {}), recopied, ledgersGone } }
      : {}),
    ...(deadOverCap ? { deadSetOverCap: deadOverCap } : {}),
  };
  // A rollback that ended its run having put back everything its run moved (every set and queue
  // looked at, nothing left behind: "Complete"): recorded for good (30 days), for the plans of later
  // rollbacks (rolled-back.ts). Not a continuation's summary (it saw only its own items).
  if (endedRun && routing?.kind === 'reverse' && wholeRollback(settings, input.execution) && summary.complete && leftBehindOf(summary).verdict === 'none') {
    await recordRolledBack(source.redis, source.keys.prefix, routing.of, settings.runId);
  }
  return summary;
}

/** A rollback over every set and queue, summarized by an execution that is no continuation (continuation-name.ts). */
function wholeRollback(settings: RunSettings, execution: string): boolean {
  return settings.queues && SORTED_SET_NAMES.every((set) => settings.sets.includes(set)) && !/-[il]-[0-9a-f]{32}$/.test(execution);
}

/**
 * Jobs now on retired queues (a transfer: any source queue) this run had no item for (they had no
 * list when it planned, so no item counted what arrived there): Sidekiq's shutdown requeue puts the jobs its fetchers held
 * back on the queue they came from, a node on old rules keeps pushing. Without this the run said
 * 'Complete' over them. Candidates: Sidekiq's `queues` set and a rename's old queue.
 */
async function arrivalsOnUnlistedRetiredQueues(source: Connection, settings: RunSettings, plan: RoutingPlan | undefined): Promise<Record<string, number>> {
  const runId = settings.runId;
  // A transfer drains every queue of the source (`plan` undefined); a re-route those its routing retires.
  const listed = new Set(
    (await readWholeWorkList(source.redis, workListKey(source.keys.prefix, runId)))
      .filter((w) => w.kind === 'queue')
      .map((w) => w.name),
  );
  const candidates = new Set(await source.redis.smembers(source.keys.queues));
  if (plan?.kind === 'renames') for (const [from] of plan.renames) candidates.add(from);
  // A rollback's: the queues the rolled-back run moved jobs to, which a stopping Sidekiq's requeue
  // (RPUSH, no SADD to `queues`) may fill after its plan found no list there.
  if (plan?.kind === 'reverse') for (const to of plan.drained) candidates.add(to);
  const unlisted = [...candidates].filter((q) => !listed.has(q) && (plan === undefined || isDrainedQueue(plan, q))).sort();
  if (unlisted.length === 0) return {};
  const pipeline = source.redis.pipeline();
  for (const q of unlisted) pipeline.llen(source.keys.queue(q));
  const replies = (await pipeline.exec()) ?? [];
  const found: Record<string, number> = {};
  for (const [i, q] of unlisted.entries()) {
    const [error, length] = replies[i] ?? [null, 0];
    if (error !== null || typeof length !== 'number' || length === 0) continue;
    // A rollback's queues are live: only jobs of a class it puts back are out of place there.
    const misplaced = plan ? await misplacedArrivals(source.redis, source.keys.queue(q), q, plan, length) : length;
    if (misplaced > 0) found[q] = misplaced;
  }
  return found;
}

/**
 * Jobs put on a queue this run listed after its item ended (an item counts what arrived when it
 * ends): Sidekiq's shutdown requeue of jobs its fetchers held, a late producer. What the queue
 * holds now beyond what its item left there (counted arrivals, jobs left in place, a rollback's
 * jobs of other classes) arrived since. The queues of every execution of the run (ended-queues.ts),
 * each the items its tally lists by name (their counters are known); a lower bound while a worker
 * still fetches from the queue.
 */
async function arrivalsAfterTheirItemEnded(source: Connection, mode: 'reroute' | 'transfer', listed: readonly ListedItem[], plan: RoutingPlan | undefined): Promise<Record<string, number>> {
  const items = listed.filter((l) => l.kind === 'queue');
  if (items.length === 0) return {};
  const pipeline = source.redis.pipeline();
  for (const item of items) pipeline.llen(source.keys.queue(item.name));
  const replies = (await pipeline.exec()) ?? [];
  const found: Record<string, number> = {};
  for (const [i, item] of items.entries()) {
    const [error, length] = replies[i] ?? [null, 0];
    if (error !== null || typeof length !== 'number') continue;
    const c = item.counters as unknown as Partial<Record<string, number>>;
    // A rollback leaves the jobs of classes it does not put back on the live queues it drains
    // (`already`): there since before, they did not arrive.
    const kept = mode === 'reroute' ? (c['alreadyRouted'] ?? 0) : 0;
    // And the originals an append pass did not reach (queue-slice.ts): still there, counted apart.
    const unreached = mode === 'reroute' ? (c['unreached'] ?? 0) : 0;
    const left = (c[mode === 'reroute' ? 'arrived' : 'leftOnSource'] ?? 0) + leftInPlace(c, mode === 'reroute') + kept + unreached;
    if (length <= left) continue;
    // And its producers keep pushing other classes there: only a class it puts back is out of place.
    const misplaced = plan ? await misplacedArrivals(source.redis, source.keys.queue(item.name), item.name, plan, length - left) : length - left;
    if (misplaced > 0) found[item.name] = misplaced;
  }
  return found;
}

/**
 * Jobs of a selective transfer's classes put on a queue it listed after its item ended (Sidekiq's
 * shutdown requeue of jobs its fetchers held, a late producer), while other items still ran:
 * those on the queue now beyond the ones its item counted as left there. Without this the run
 * said 'Complete' over them. Reads each listed queue once, paged by bytes: O(the jobs left on
 * them, the other classes' included), as the plan's count of the selection before the move does.
 * A lower bound while a worker still fetches from the queue. `bound.until`: no read starts after
 * it (a queue of 10,000,000 jobs is minutes of reads); what it did not read is `cutShort`, and a
 * queue it did not read to its end counts nothing.
 */
async function selectedArrivalsAfterTheirItemEnded(
  source: Connection,
  listed: readonly ListedItem[],
  classes: ReadonlySet<string>,
  bound: ScanBound,
): Promise<{ found: Record<string, number>; cutShort?: SelectedArrivalsCut }> {
  const found: Record<string, number> = {};
  const clock = bound.clock ?? Date.now;
  const queues = listed.filter((l) => l.kind === 'queue');
  let read = 0;
  for (const [i, item] of queues.entries()) {
    const key = source.keys.queue(item.name);
    let selected = 0;
    let bytesPerJob: number | undefined;
    for (let from = 0; ; ) {
      if (bound.until !== undefined && clock() >= bound.until) {
        // The jobs on the queues it did not finish, as they are now.
        const rest = queues.slice(i);
        const pipeline = source.redis.pipeline();
        for (const q of rest) pipeline.llen(source.keys.queue(q.name));
        const lengths = ((await pipeline.exec()) ?? []).map(([, n]) => (typeof n === 'number' ? n : 0));
        const jobs = read + lengths.reduce((a, b) => a + b, 0) - from;
        return { found, cutShort: { read, jobs: Math.max(read, jobs), queues: queues.length } };
      }
      // A few first, to learn their size (page-bytes.ts).
      const want = bytesPerJob === undefined ? PROBE_JOBS : jobsWithinBytes(bytesPerJob, SELECTED_ARRIVALS_PAGE);
      const page = await source.redis.lrangeBuffer(key, from, from + want - 1);
      for (const job of page) if (selectJob(job, classes).take) selected++;
      read += page.length;
      if (page.length < want) break;
      from += page.length;
      bytesPerJob = meanBytes(page, bytesPerJob);
    }
    const late = selected - ((item.counters as TransferCounters).leftOnSource ?? 0);
    if (late > 0) found[item.name] = late;
  }
  return { found };
}

/**
 * Entries of a transfer's sets added after their pass ended (their item's counters, `ended`): a
 * retry handler, a scheduler, the source's Sidekiq retrying a failing job. The pass took as many
 * entries as the set held when it started; one added later stays on the source. Without this the
 * run said 'Complete' over them (cli-set-arrivals-before-summary.test.ts). A whole-set pass's: the
 * set's size now beyond what its pass left there (conflicts given back, those added while it ran:
 * the count of what stays at its end, set-leftovers.ts), one ZCARD each. A selective one's: its
 * classes' entries now beyond those its pass left (leftOnSource, conflicts), read in pages as the
 * queues' count reads (selectedArrivalsAfterTheirItemEnded), no read started after `bound.until`;
 * a set it did not read to its end counts nothing and its entries not read are `unread` (its
 * number a floor); not one whose pass's own count was cut short (already a floor, said so). A
 * lower bound while the source's Sidekiq polls due entries out of the set.
 */
async function arrivalsInSetsAfterTheirPassEnded(
  source: Connection,
  ended: readonly ListedItem[],
  classes: ReadonlySet<string> | undefined,
  bound: ScanBound,
): Promise<{ found: Record<string, number>; unread: Record<string, number> }> {
  const found: Record<string, number> = {};
  const unread: Record<string, number> = {};
  const sets = ended.filter((l) => l.kind === 'set' && (SORTED_SET_NAMES as readonly string[]).includes(l.name));
  if (sets.length === 0) return { found, unread };
  const keyOf = (name: string) => source.keys.sortedSet(name as SortedSetName);
  if (classes === undefined) {
    const pipeline = source.redis.pipeline();
    for (const item of sets) pipeline.zcard(keyOf(item.name));
    const replies = (await pipeline.exec()) ?? [];
    for (const [i, item] of sets.entries()) {
      const [error, size] = replies[i] ?? [null, 0];
      if (error !== null || typeof size !== 'number') continue;
      const c = item.counters as TransferCounters;
      const countedAtEnd = Object.values(c.leftInSets?.[item.name] ?? {}).reduce((a, b) => a + b, 0);
      const left = Math.max(countedAtEnd, (c.leftOnSource ?? 0) + (c.conflicts ?? 0) + (c.unparsableLeft ?? 0));
      if (size > left) found[item.name] = size - left;
    }
    return { found, unread };
  }
  for (const item of sets) {
    // A pass whose own count was cut short (leftUncounted): its number is already a floor, said so,
    // and never "Complete"; its set may hold millions of other classes' entries, not read again here.
    if (((item.counters as TransferCounters).leftUncounted ?? 0) > 0) continue;
    const counted = await countSetEntries(source.redis, keyOf(item.name), (member) => selectJob(member, classes).take, bound);
    if ('unread' in counted) {
      if (counted.unread > 0) unread[item.name] = counted.unread;
      continue;
    }
    // What its pass left of them: those it counted as added while it ran, and the conflicts it gave back.
    const c = item.counters as TransferCounters;
    const late = counted.matching - (c.leftOnSource ?? 0) - (c.conflicts ?? 0);
    if (late > 0) found[item.name] = late;
  }
  return { found, unread };
}

/**
 * A re-route's (a rollback's too) entries added to its sets after their pass ended (their item's
 * counters, `ended`) that its routing moves (examine-job.ts: 'move'; a rollback's: of a class it
 * puts back, its entries of other classes never): left naming their old queue, where the poller
 * pushes them when due (a dead one, when retried). Those on the set now beyond the originals its
 * pass left of them (conflicts: their rewrite was already there). Read in pages, no read started
 * after `bound.until`: a set not read to its end counts nothing, its entries not read `unread`.
 */
async function routedArrivalsInSets(source: Connection, ended: readonly ListedItem[], plan: RoutingPlan, bound: ScanBound): Promise<{ found: Record<string, number>; unread: Record<string, number> }> {
  const found: Record<string, number> = {};
  const unread: Record<string, number> = {};
  for (const item of ended.filter((l) => l.kind === 'set' && (SORTED_SET_NAMES as readonly string[]).includes(l.name))) {
    const key = source.keys.sortedSet(item.name as SortedSetName);
    // mayMove first: a cheap look that rejects only entries examine cannot call 'move' (may-move.ts),
    // nearly all of them here (the pass's own rewrites), the full examination for the rest.
    const counted = await countSetEntries(source.redis, key, (member) => mayMove(member, plan) && examineScheduledJob(member, plan, true).kind === 'move', bound);
    if ('unread' in counted) {
      if (counted.unread > 0) unread[item.name] = counted.unread;
      continue;
    }
    const late = counted.matching - ((item.counters as RerouteCounters).conflicts ?? 0);
    if (late > 0) found[item.name] = late;
  }
  return { found, unread };
}

/** Most jobs a read of selectedArrivalsAfterTheirItemEnded takes (fewer when they are large). */
const SELECTED_ARRIVALS_PAGE = 1000;

/**
 * The queues jobs went to that nobody fetches from: a re-route's on the source, a transfer's on the
 * target (a transfer's set entries keep their set: `writtenTo` names those sets, which are not
 * queues; a queue named like a set is not checked). The totals' named destinations, and those
 * counted under OTHER_DESTINATIONS that were unheard when their batch was added up (never the
 * bucket itself: it is no queue). `find` says which: findUnheardQueues, or findQueuesHeardOnlyBySilent.
 */
async function unheardDestinations<T extends UnheardQueues | UnheardSilentQueues>(
  settings: RunSettings,
  tally: RunTally,
  censusOf: (name: string) => Promise<CensusOnce>,
  find: (census: CensusOnce, jobsTo: Record<string, number>) => Promise<T | undefined>,
): Promise<T | undefined> {
  const named = (settings.mode === 'reroute' ? (tally.totals as RerouteCounters).movedTo : (tally.totals as TransferCounters).writtenTo) ?? {};
  const sets = new Set<string>(settings.mode === 'reroute' ? [] : SORTED_SET_NAMES);
  const jobsTo = { ...Object.fromEntries(Object.entries(named).filter(([name]) => name !== OTHER_DESTINATIONS && !sets.has(name))), ...tally.unheard };
  return find(await censusOf(settings.mode === 'reroute' ? settings.source : settings.target!), jobsTo);
}

/**
 * The queues the tally says jobs were left in place on that nobody fetches from (RunSummary.leftUnheard):
 * unheard-queues.ts decides, as for the queues jobs went to. On the Redis they were left on, the
 * source; with no live process there, a re-route's routing says (a queue it retires that nothing
 * routes to: no process started on the new rules listens to it); a transfer's source is left to
 * its own live processes, or none (a selective move leaves the other classes there by design).
 */
async function leftWhereNobodyFetches(tally: RunTally, sourceCensus: CensusOnce, heardWithoutProcesses: RoutingWords['heardWithoutProcesses']): Promise<RunSummary['leftUnheard']> {
  const found = await findQueuesNobodyFetches(sourceCensus, tally.leftIn ?? {}, heardWithoutProcesses);
  if (!found) return undefined;
  return { ...found, ...(tally.leftInUnnamed ? { unchecked: tally.leftInUnnamed } : {}) };
}

/** The named queues of the set entries a run left in place (leftInSetsWhereNobodyFetches reads the same counters). */
function namedEntriesLeft(settings: RunSettings, tally: RunTally): Record<string, number> {
  const naming = settings.mode === 'reroute' ? (tally.totals as RerouteCounters).unmappedNaming : (tally.totals as TransferCounters).unselectedNaming;
  return Object.fromEntries(Object.entries(naming ?? {}).filter(([queue]) => queue !== OTHER_DESTINATIONS));
}

/**
 * A re-route's set entries left in place naming queues nobody fetches from (RunSummary.leftUnheardInSets):
 * the queues its pages counted them under (RerouteCounters.unmappedNaming), asked as the queues
 * jobs were left on are (leftWhereNobodyFetches): the summary's one census of the source's processes.
 */
async function leftInSetsWhereNobodyFetches(settings: RunSettings, tally: RunTally, sourceCensus: CensusOnce, heardWithoutProcesses: RoutingWords['heardWithoutProcesses']): Promise<RunSummary['leftUnheardInSets']> {
  // A transfer's: the entries its class-selective set passes read and left (TransferCounters.unselectedNaming),
  // polled by the source's Sidekiq onto the source's queues: its live processes say, or none (no
  // routing: every queue is unheard while Sidekiq is stopped). A whole-set pass reads no entry.
  const naming = settings.mode === 'reroute' ? (tally.totals as RerouteCounters).unmappedNaming : (tally.totals as TransferCounters).unselectedNaming;
  const { [OTHER_DESTINATIONS]: unnamed = 0, ...named } = naming ?? {};
  const found = await findQueuesNobodyFetches(sourceCensus, named, heardWithoutProcesses);
  if (!found) return undefined;
  return { ...found, ...(unnamed > 0 ? { unchecked: { jobs: unnamed } } : {}) };
}

/**
 * What a summary's words take of a re-route's routing, and nothing it moves or counts by: the run a
 * rollback puts back (RunSummary.rollbackOf), by which its words are a rollback's where no view says
 * so (watch, status, the summarize log line); and, with no live Sidekiq process on its Redis, which
 * queues a process will fetch from once Sidekiq runs on the run's rules (leftUnheard,
 * leftUnheardInSets: those it does not drain or still routes to; a rollback's are all live).
 */
interface RoutingWords {
  readonly rollbackOf?: string;
  readonly heardWithoutProcesses?: (queue: string) => boolean;
}

function routingWords(routing: RoutingPlan): RoutingWords {
  return {
    ...(routing.kind === 'reverse' ? { rollbackOf: routing.of } : {}),
    heardWithoutProcesses: (queue: string) => !isDrainedQueue(routing, queue) || isLiveQueue(routing, queue),
  };
}

/**
 * A superseded re-route execution's RoutingWords. It loads no routing (a resume may have stored the
 * same routing in another text, which its digest refuses), but a run's routing is fixed by its
 * first plan (a resume with other routing is refused: plan-other-routing): its own settings carry
 * it (a dry run's; a recorded rollback's run), else the routing stored for the run, whichever plan
 * wrote it. Without this, a superseded rollback said a run's words ("no destination for their
 * class", "run again") over jobs it cannot put back (audit-review), and a superseded re-route named
 * no queue nobody fetches where its run's summary names them (audit-superroute).
 */
async function supersededRoutingWords(settings: RunSettings, source: Connection): Promise<RoutingWords> {
  if (settings.mode !== 'reroute') return {};
  if (settings.inlineRouting) return routingWords(deserializeRouting(settings.inlineRouting));
  // A rollback's queues are all live (isLiveQueue): no need to read the rolled-back run's moves.
  if (settings.recordedRollback) return { rollbackOf: settings.recordedRollback.of, heardWithoutProcesses: () => true };
  if (!settings.routed) return {};
  // Only words hang on it: a stored routing that cannot be read (another type at its key, text that
  // is no routing) leaves the words of no routing, never a failed summary; a lost connection still fails it (retried).
  const text = await source.redis.get(storedRoutingKey(source.keys.prefix, settings.runId)).catch((error: unknown) => {
    if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return null;
    throw error;
  });
  try {
    return text === null ? {} : routingWords(deserializeRouting(JSON.parse(text) as SerializedRouting));
  } catch {
    return {};
  }
}

/** In-flight keys of a transfer out of the target named in a summary, at most. */
const INFLIGHT_ON_TARGET_NAMED = 5;

/**
 * Jobs held in in-flight keys (RunSummary.inflightOnTarget, inflightLeftOnSource, inflightOnSource),
 * named in key order (the look sorts them: SCAN's order is not stable, a summary's words should
 * be), or undefined when none.
 */
function heldInFlight(found: readonly InflightLeftover[]): RunSummary['inflightOnTarget'] {
  const held = found.filter((l) => l.size > 0);
  if (held.length === 0) return undefined;
  return { jobs: held.reduce((n, l) => n + l.size, 0), keys: held.slice(0, INFLIGHT_ON_TARGET_NAMED).map((l) => l.key), lists: held.length };
}

/** The target's prefix when the target is in the source's keyspace (a namespace move on one Redis), else none. */
async function sameKeyspaceTarget(source: Connection, target: Connection): Promise<string[]> {
  return (await sharesKeyspace(source, target, targetIdKey(target.keys))) ? [target.keys.prefix] : [];
}

/** A transfer's lock on the target, when this run holds it (the source's goes with finishRun). */
async function releaseOnTarget(settings: RunSettings, connections: ConnectionProvider): Promise<boolean> {
  if (!settings.target) return false;
  const c = await connections.get(settings.target);
  return RunLock.releaseIfHeld(c.redis, c.keys.prefix, settings.runId, settings.plannedAt, settings.plannedBy);
}

/** "Release the run lock": also the failure path's last step. */
export async function releaseLockStep(input: { readonly settings: RunSettings }, connections: ConnectionProvider): Promise<{ released: boolean }> {
  if (input.settings.dryRun) return { released: false };
  const names = [input.settings.source, ...(input.settings.target ? [input.settings.target] : [])];
  let released = false;
  for (const name of names) {
    const c = await connections.get(name);
    released = (await RunLock.releaseIfHeld(c.redis, c.keys.prefix, input.settings.runId, input.settings.plannedAt, input.settings.plannedBy)) || released;
  }
  return { released };
}

/**
 * The sets and queues of `listed` the run wrote jobs to whose ledger on the target is gone
 * (transfer-keys.ts ledgerKey): one EXISTS each, in one pipeline. Only the items the summary lists.
 */
async function ledgersGoneFrom(target: Connection, runId: string, listed: readonly ListedItem[]): Promise<string[]> {
  const wrote = listed.filter((item) => ((item.counters as TransferCounters).written ?? 0) > 0).map((item) => (item.kind === 'set' ? item.name : `queue:${item.name}`));
  if (wrote.length === 0) return [];
  const pipeline = target.redis.pipeline();
  for (const sourceKey of wrote) pipeline.exists(ledgerKey(target.keys.prefix, runId, sourceKey));
  const replies = (await pipeline.exec()) ?? [];
  return wrote.filter((_, i) => replies[i]?.[0] === null && replies[i]?.[1] === 0);
}

/**
 * The bound of a count of arrivals that reads jobs (a selective transfer's queues, the sets):
 * half the time the looks over the keyspace have from now (they come after it, with what is left).
 */
function halfTheLookTime(options: SummarizeOptions): ScanBound {
  if (options.lookUntil === undefined) return {};
  const clock = options.clock ?? Date.now;
  const now = clock();
  return { until: now + Math.max(0, options.lookUntil - now) / 2, clock };
}

/** The bound of the summary's walks of a keyspace (SummarizeOptions.lookUntil). */
function boundOf(options: SummarizeOptions): ScanBound {
  return { ...(options.lookUntil === undefined ? {} : { until: options.lookUntil }), ...(options.clock ? { clock: options.clock } : {}) };
}
