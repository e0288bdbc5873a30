import { assertCommandsAllowed, type ConnectionUse } from '../../redis/command-permissions.js';
import { assertRunCommandsExist } from '../../redis/server-commands.js';
import { randomUUID } from 'node:crypto';
import { validateConfig } from '../../config/validate-config.js';
import { cronLeftOf } from '../../cron/cron-left.js';
import { planCron, type CronReport } from '../../cron/plan-cron.js';
import { assertTransferSafe, readEvictionPolicy } from '../../redis/eviction-policy.js';
import { replicasSeen } from '../../redis/replica-wait.js';
import { assertWaitAccepted } from '../../redis/wait-accepted.js';
import { RunSupersededError } from '../../errors/run-superseded-error.js';
import { RunLock, RunLockedError, RunLockLostError, runLockKey } from '../../redis/run-lock.js';
import { lockHeldByAnotherRun } from '../../redis/lock-held-by-another.js';
import type { RoutingPlan } from '../../routing/routing-plan.js';
import { assertDistinctEnds, sharesKeyspace } from '../../redis/same-server.js';
import { otherSidekiqPrefixes, type OtherPrefix } from '../../redis/sidekiq-prefixes.js';
import { refuseTargetPrefixMismatch } from '../target-prefix-mismatch.js';
import type { ScanBound } from '../../redis/bounded-scan.js';
import { emptyTransferCounters, type TransferCounters } from '../../transfer/transfer-counters.js';
import { ensureTargetId, readTargetId, TargetLostDataError, targetIdKey } from '../../transfer/target-identity.js';
import { refuseLeftoversForOtherTargets, resumeInflight, type InflightLeftover } from '../../transfer/resume-inflight.js';
import { displayName } from '../../redis/key-name.js';
import { conflictsKey } from '../../transfer/transfer-keys.js';
import { SORTED_SET_NAMES } from '../../redis/sidekiq-keys.js';
import type { Connection, ConnectionProvider } from '../connections.js';
import { assertDryRunCarries } from '../dry-run-carry.js';
import { resolveRouting } from '../resolve-routing.js';
import { addRunExecution, finishRun, itemContinuationName, listContinuationName, ROOT_EXECUTION, runExecutionsKey } from '../run-executions.js';
import { InputError } from '../../errors/input-error.js';
import { refuseForeignSidekiqSets } from '../../redis/sidekiq-set-types.js';
import { refuseNamespacedDestinations } from '../namespaced-destinations.js';
import { generationOf, withRecordedGeneration } from '../run-generation.js';
import { addToTotals, emptyTally, foldResults, type RunTally } from '../run-tally.js';
import { laterStartThatFinished } from '../run-finish-record.js';
import { loadRecordedRollback, recordedMovesDigest } from '../recorded-rollback.js';
import { deserializeRouting, loadRouting, readStoredRouting, rememberRouting, routingJson, serializeRouting, storedDigest } from '../stored-routing.js';
import { rememberSelection, selectionJson } from '../stored-selection.js';
import { forgetRunConflicts, forgetStartedWith, storeRunPlan } from '../store-run-plan.js';
import { refuseUnlessStillHeld, type Planner } from '../planner-guard.js';
import { forgetOlderStarts } from '../older-starts.js';
import { forgetOtherRunsPasses } from '../../transfer/other-runs-passes.js';
import { recordStartedWith, startedWith } from '../started-with.js';
import { forgetRolledBackOfRollback, refuseRollbackOfRolledBack, rolledBackBy } from '../rolled-back.js';
import { readRunStart, recordedAsk, runAsk } from '../asked-replicas.js';
import type { LockRenewals } from '../../transfer/slice-renewal.js';
import { refuseOtherRoutingOfExecution } from '../other-routing.js';
import { deadProcessOfThisHost, isRollbackOf, refuseDryRunOfRunningRun, rollbackOfWhich } from '../dry-run-of-running-run.js';
import { movedOnSinceAmong, sharedPlaceError, sharedPlacesAmong } from '../moved-on-since.js';
import { walkPlanKeyspace, type PlanWalk } from '../plan-walk.js';
import type { IterableStates } from '../../transfer/iterable-states.js';
import { withOwnInflight } from '../own-inflight.js';
import type { ItemResult, RenameWithoutQueue, RunSettings, WorkItem } from '../work-item.js';
import { BATCH_SIZE, countJobs, listWork, readWork, refuseUnlistableQueues, rememberDryRunList, type WorkState } from '../work-list.js';
import { setsMayGoApart } from '../set-apart.js';
import { continuationInputSchema, workflowInputSchema, type WorkflowInput } from '../workflow-input.js';

/** How long a run's lock lives without renewal: longer than any one page step (Lambda ≤ 15 min). */
export const RUN_LOCK_TTL_MS = 20 * 60_000;

export interface PlanOutput {
  readonly settings: RunSettings;
  /** How many sets and queues this execution has to work on (they are listed on the source). */
  readonly itemCount: number;
  /** Jobs in those sets and queues when the run was planned (a new run's plan only), for progress. */
  readonly plannedJobs?: number;
  /** The first batch and where the list goes on: what the state machine loops on. */
  readonly work: WorkState;
  /** This execution's name among the run's executions (run-executions.ts). */
  readonly execution: string;
  /** Set by the state machine when the rest of the list continues in a new execution. */
  readonly listContinuedIn: { readonly executionArn: string } | null;
  /** What this step finished of transfers left in flight by interrupted runs (zeros otherwise). */
  readonly resumed: TransferCounters;
  /** Sidekiq data on the source under other prefixes (GitLab's namespace move leaves both): not touched by this run. */
  readonly otherPrefixes?: readonly OtherPrefix[];
  /** sidekiq-cron definitions on the source and what this run did with them (null: none there). */
  readonly cron?: CronReport | null;
  /** A transfer: Sidekiq 7.3+ iterable jobs' states (`it-<jid>`) on the source, which it does not carry (iterable-states.ts). */
  readonly iterableStates?: IterableStates;
  /** Each Redis's `maxmemory-policy` (null: not reported), shown and warned about by the CLI. */
  readonly memoryPolicies?: { readonly source: string | null; readonly target?: string | null };
}

/** The execution the plan runs in, as Step Functions names it to the plan task (`$$.Execution.Id`). */
export interface PlanExecution {
  /**
   * Its ARN: a new run's plan records it in the lock and the settings (`plannedBy`), so that the
   * clean-up after an execution's end tells the execution that holds the run from an older one
   * redriven after a later start. A continuation's plan keeps its run's (in the settings).
   */
  readonly executionArn?: string;
}

/**
 * "Plan migration": validates the execution input (every problem at once), connects, takes the
 * run lock (unless a dry run), stores the routing once, finishes transfers left in flight, and
 * lists the work items — every selected set, and every queue to drain (re-route: those that are
 * not routing destinations; transfer: all) — on the source, returning only the first batch: the
 * state stays small whatever the number of queues. A continued execution gets back its one item,
 * or the rest of the list.
 */
export interface PlanOptions {
  /**
   * The epoch ms after which a look over the whole source keyspace that starts now reads no
   * further SCAN page (called at each one's start): the look for Sidekiq data under the prefix
   * (checkSidekiqPrefix's, fed by the plan's one walk: it is fed no more after it) and the note's
   * count of jobs under other prefixes (otherSidekiqPrefixes, a walk of its own). Each reads keys
   * from every part of the database (on GitLab's Redis, millions) inside the plan task, which has
   * its function's timeout. A look cut short says so. Default: no bound.
   */
  readonly lookUntil?: () => number;
  /**
   * The epoch ms by which the plan's one walk of the source's keyspace (plan-walk.ts), starting
   * now, must reach its end: it looks for what a run must find whole (every queue list, in-flight
   * keys, cron definitions), so one that does not stops the plan, before any lock or write, with
   * PlanWalkTooLongError. Default: no bound.
   */
  readonly walkUntil?: () => number;
  /**
   * The epoch ms, asked when it starts, after which the plan's resume of what interrupted
   * transfers left in flight (resumeInflight) starts no further in-flight key: one that has more
   * to do stops the plan with PlanResumeTooLongError (retried: the next try goes on with the
   * rest), rather than the function's timeout killing it half-way. Default: no bound.
   */
  readonly resumeUntil?: () => number;
  readonly clock?: () => number;
}

/** The connection's user may do all `use` does (command-permissions.ts), unless checked so on connecting. */
async function assertPermissions(connection: Connection, use: ConnectionUse, role: string): Promise<void> {
  if (connection.checkedFor !== undefined && (connection.checkedFor === use || use === 'read')) return;
  const replicas = use === 'read' ? 0 : await replicasSeen(connection.redis);
  await assertCommandsAllowed(connection.redis, connection.redis.options.username, use, connection.keys.prefix, `${role} ${connection.name}`, { replicas: replicas > 0 });
}

export async function planStep(rawInput: unknown, connections: ConnectionProvider, execution: PlanExecution = {}, options: PlanOptions = {}): Promise<PlanOutput> {
  if (typeof rawInput === 'object' && rawInput !== null && 'continuation' in rawInput) return continuePlan(rawInput, connections, options);
  const given = validateConfig(workflowInputSchema, rawInput, (path) => `input.${path.join('.')}`);
  const source = await connections.get(given.source);
  const target = given.mode === 'transfer' ? await connections.get(given.target!) : undefined;
  // A run waits for the replicas its first plan recorded (asked-replicas.ts): a resume without
  // --from-replicas / --to-replicas waited for what INFO reports (none behind a hiding proxy);
  // one asking for other counts is refused here, before anything is written. A dry run waits for none.
  const input = given.dryRun ? given : runAsk(given, await readRunStart(source, given.runId, given.mode), 'execution');

  // Before anything is read or written: a Redis older than 6.2 took a deployed re-route's first
  // pages and failed half-way (the CLI's permission check names them too, on connecting).
  await assertRunCommandsExist(source.redis, `source ${source.name}`);
  if (target) await assertRunCommandsExist(target.redis, `target ${target.name}`);
  // Before anything is read or written: a user without a command or a key family the run sends
  // or writes (an ACL) had the run move some families and fail on the others. The CLI checks on
  // connecting; a Lambda's connections are checked here, by the first task of every execution.
  await assertPermissions(source, input.dryRun ? 'read' : 'migrate-source', 'source');
  if (target) await assertPermissions(target, input.dryRun ? 'read' : 'migrate-target', 'target');
  // Before anything is claimed (the resume below claims): replicas asked for on a server that
  // refuses WAIT (a proxy's "unknown command") would fail every slice at its WAIT.
  if (input.fromReplicas !== undefined) await assertWaitAccepted(source.redis, `source ${source.name}`, '--from-replicas', input.fromReplicas);
  if (target && input.toReplicas !== undefined) await assertWaitAccepted(target.redis, `target ${target.name}`, '--to-replicas', input.toReplicas);
  // Before anything is read or written: a destination given with the namespace is never meant.
  refuseNamespacedDestinations(input.routing, [source.keys.prefix, ...(target ? [target.keys.prefix] : [])]);
  if (target) await assertDistinctEnds(source, target);
  if (target) await refuseRunFromTarget(source, target, input.runId);
  // A run's routing, classes and target are fixed by its first plan (started-with.ts): a resume with
  // others (`start --resume`) would move the rest of its jobs elsewhere; refused before any lock or write.
  await refuseOtherRoutingOfExecution(source, input, target);
  // A dry-run rollback of a run still running, or while a rollback of it runs, would count a
  // moving target: refused, whoever started either (the lock says), as the local command refuses it.
  if (input.dryRun && input.routing?.kind === 'rollback') await refuseDryRunOfRunningRun(source, input.routing.of, input.runId, deadProcessOfThisHost);
  // A namespace move on one Redis writes under its target prefix: that one is the run's own, not
  // "another prefix" of the source (named by the plan's note).
  const alsoOurs = target && (await sharesKeyspace(source, target, targetIdKey(target.keys))) ? [target.keys.prefix] : [];
  // Read before anything is written: a transfer refuses a Redis that may evict any key.
  const memoryPolicies = { source: await readEvictionPolicy(source.redis), ...(target ? { target: await readEvictionPolicy(target.redis) } : {}) };
  const lookBound = (): ScanBound => ({ ...(options.lookUntil ? { until: options.lookUntil() } : {}), ...(options.clock ? { clock: options.clock } : {}) });
  // ONE walk of the source's keyspace for every look of the plan but the one for other prefixes'
  // jobs (plan-walk.ts), before any lock or write: one that cannot finish in time stops the plan here.
  // A wrong prefix finds nothing and would report success: refused when Sidekiq data is elsewhere.
  // Cut short with none found ('unknown'): the run goes on, and says nothing of "nothing there".
  const wants = { queues: input.queues, leftovers: input.mode === 'transfer', moveRecords: input.mode === 'reroute' && input.routing?.kind === 'rollback', iterableStates: input.mode === 'transfer', ...(input.dryRun ? {} : { olderStartsOf: input.runId }), ...(input.mode === 'transfer' && !input.dryRun ? { otherRunsPassesBesides: input.runId } : {}) };
  const walkBound = { ...(options.walkUntil ? { until: options.walkUntil() } : {}), ...(options.clock ? { clock: options.clock } : {}) };
  const walk = await walkPlanKeyspace(source, wants, { name: `source ${source.name}`, option: '--namespace' }, walkBound, lookBound().until);
  // Sidekiq's `queues` and `processes` of another type failed a run half-way (sidekiq-set-types.ts).
  await refuseForeignSidekiqSets(source.redis, source.keys, `source ${source.name}`);
  if (target) await refuseForeignSidekiqSets(target.redis, target.keys, `target ${target.name}`);
  // A forgotten --to-namespace: every job would go where the target's Sidekiq does not fetch.
  if (target) await refuseTargetPrefixMismatch(source, target, alsoOurs.length > 0);
  if (input.mode === 'transfer' && !input.dryRun) {
    assertTransferSafe(`source ${source.name}`, memoryPolicies.source);
    assertTransferSafe(`target ${target!.name}`, memoryPolicies.target ?? null);
  }
  // Refusals decided before any lock or write, from what the walk found (reads only), so that a
  // refused run leaves both servers as they were, not even a lock taken (a transfer's plan named
  // its target first, SET NX, then refused): a rollback of a run that recorded no moves here, jobs
  // in flight for another target than this one, a queue the run cannot take. Each is asked again
  // under the locks (a rollback's moves are read again there: that run may have moved on since).
  // A rollback of a run a rollback already put back whole (rolled-back.ts): refused, dry run too.
  if (input.routing?.kind === 'rollback') await refuseRollbackOfRolledBack(source.redis, source.keys.prefix, input.routing.of);
  const resolved = input.routing ? await resolveRouting(input.routing, source, input.runId, lookBound()) : undefined;
  // A lock another run holds (unexpired: the server's clock) refuses the run as locked
  // (RunLockedError) here, from reads, as taking it would: taken in turn, the source's lock was
  // written and released when the target's refused. Only a race still writes: another run that
  // takes a lock between this read and RunLock.acquire below refuses the run there; a source lock
  // taken by then is released by the clean-up below, guarded by this plan's generation, and no job
  // has been touched (the locks come before every other write).
  const ends: { c: Connection; role: string }[] = [{ c: source, role: 'source' }, ...(target ? [{ c: target, role: 'target' }] : [])];
  if (!input.dryRun) for (const { c, role } of ends) {
    const held = await lockHeldByAnotherRun(c.redis, c.keys.prefix, input.runId, `${role} ${c.name}`);
    if (held) throw held;
  }
  // Jobs in flight while another run holds the source's lock, unexpired, are not an interrupted
  // run's (a dry run takes no lock: it is not refused as locked). A dead run's lock past its
  // expiry is nobody's (it stays as a key, its expiry in its value): its jobs in flight are asked
  // about here, before its lock would be taken over and released.
  if (input.mode === 'transfer' && target && !(await lockHeldByAnotherRun(source.redis, source.keys.prefix, input.runId, `source ${source.name}`))) {
    await refuseLeftoversForOtherTargets({ source: source.redis, target: target.redis, sourceKeys: source.keys, targetKeys: target.keys, targetName: target.name }, walk.leftovers ?? []);
  }
  refuseUnlistableQueues(input, source, resolved, walk.queues);
  // A rollback of a run that shares a (class, queue) it moved jobs to with another run, which moved
  // them there from another queue: it cannot tell their jobs apart, and would put back the other's.
  if (input.mode === 'reroute' && resolved?.kind === 'reverse') {
    // A rollback's moves put jobs back where they were before its run moved them: not another run's
    // jobs on that queue (r1 a→b, r2 b→c, its rollback c→b: those on b are r1's again). Nor a run
    // a rollback put back whole since (rolled-back.ts): none of its jobs is on those queues.
    const reroutes: string[] = [];
    for (const id of walk.moveRecordRunIds ?? []) if (id !== resolved.of && !(await isRollbackOf(source, id)) && (await rolledBackBy(source.redis, source.keys.prefix, id)) === undefined) reroutes.push(id);
    const shared = await sharedPlacesAmong(source.redis, source.keys.prefix, resolved, reroutes);
    if (shared.length > 0) throw sharedPlaceError(resolved.of, shared);
  }
  const locks: RunLock[] = [];
  // Whether this plan recorded what the run was started with (its first), and may have moved something since.
  const progress: PlanProgress = { recordedStartedWith: false, mayHaveMoved: false };
  let planner: Planner | undefined;
  try {
    if (!input.dryRun) {
      // A new execution: it may resume a stopped run of the same id (see stopRunStep).
      // One plannedAt for every lock of the run: the execution's generation (RunSettings.plannedAt).
      const holder = { runId: input.runId, operation: input.mode, plannedAt: Date.now(), ...(execution.executionArn !== undefined ? { plannedBy: execution.executionArn } : {}) };
      const options = { newExecution: true };
      locks.push(await RunLock.acquire(source.redis, source.keys.prefix, holder, RUN_LOCK_TTL_MS, `source ${source.name}`, options));
      if (target) locks.push(await RunLock.acquire(target.redis, target.keys.prefix, holder, RUN_LOCK_TTL_MS, `target ${target.name}`, options));
    }
    // Every write of the plan from here on goes through only while the lock still carries this
    // plan's plannedAt and plannedBy (PlanSupersededError): a plan paused after it took the lock,
    // while a later start of the run took it and planned, writes nothing over what that one wrote.
    planner = locks[0] ? { runId: input.runId, plannedAt: locks[0].holder.plannedAt!, ...generationOf(locks[0].holder) } : undefined;
    const bounds = { look: lookBound, ...(options.resumeUntil ? { until: options.resumeUntil } : {}), ...(options.clock ? { clock: options.clock } : {}) };
    // A write of the plan's own on each server, for the WAITs of its resume of in-flight keys (replica-wait.ts `fence`).
    const fences = locks.length === 2 ? { source: () => locks[0]!.rewrite(), target: () => locks[1]!.rewrite() } : undefined;
    const work = await planWork(input, source, target, walk, progress, bounds, resolved, planner, fences);
    const generation = locks[0] ? generationOf(locks[0].holder) : undefined;
    const planned = generation === undefined ? work : { ...work, settings: { ...work.settings, ...generation } };
    // Only now, holding every lock and planned, lift a stop: a plan that fails leaves the run stopped.
    for (const lock of locks) await lock.resume();
    // A prefix whose look was cut short is named too: its jobs are not known to be none.
    const otherPrefixes = (await otherSidekiqPrefixes(source.redis, source.keys, alsoOurs, lookBound())).filter((p) => p.jobs > 0 || (p.unreadable ?? 0) > 0 || p.lookCutShort !== undefined);
    // "No Sidekiq data on this Redis" is not known where this user may not read some of it, nor
    // where the look for another prefix's jobs stopped early.
    if (planned.settings.nothingThere && otherPrefixes.some((p) => (p.unreadable ?? 0) > 0 || p.lookCutShort !== undefined)) {
      const { nothingThere: _unknown, ...settings } = planned.settings;
      return { ...planned, settings, memoryPolicies, otherPrefixes };
    }
    return { ...planned, memoryPolicies, otherPrefixes };
  } catch (error) {
    // The state machine only releases locks of a run whose plan it has; a failed plan cleans up
    // here, its list of items and executions too: with the source's lock, in one step, and only
    // while no later start of the run (a retried plan task, another start --resume) holds it.
    // A first plan that moved nothing forgets what it recorded the run was started with: kept 30
    // days, it would refuse a start of the run id with other routing, as if the run had moved jobs.
    // A target that lost its data while the plan ran (restarted empty during its resume of
    // in-flight keys): said as what it is, not as a run lock that was lost ("nothing is lost").
    const lost = target && progress.targetId !== undefined && !(error instanceof TargetLostDataError) ? await targetLostWhilePlanning(input.runId, target, progress.targetId, progress.recopied ?? 0, error) : undefined;
    if (planner && progress.recordedStartedWith && !progress.mayHaveMoved) await Promise.allSettled([forgetStartedWith(source, planner)]);
    if (locks.length > 0) await Promise.allSettled([finishRun(source.redis, source.keys.prefix, input.runId, locks[0]!.holder.plannedAt, locks[0]!.holder.plannedBy)]);
    await Promise.allSettled(locks.slice(1).map((l) => l.release()));
    throw lost ?? error;
  }
}

/**
 * The error a failed transfer plan throws instead of `error` when its target no longer carries
 * the id the plan found there (TargetLostDataError); undefined when it does, or cannot be read.
 */
async function targetLostWhilePlanning(runId: string, target: Connection, planned: string, recopied: number, error: unknown): Promise<TargetLostDataError | undefined> {
  const here = await readTargetId(target.redis, target.keys).catch(() => planned);
  if (here === planned) return undefined;
  const again = recopied > 0 ? ` The plan had written ${recopied} job(s) in flight there again, the target having lost their copy before the source acknowledged them: none of those is lost.` : '';
  return new TargetLostDataError(
    `The target ${target.name} lost its data while run ${runId} planned (its target id ${planned} is ${here === null ? 'gone' : `now ${here}`}: restarted empty, flushed or failed over); any job written there before and acknowledged on the source went with it.${again} ` +
      `To move the rest to it as it is now, run the same command again.`,
    { cause: error },
  );
}

/** When the plan's work after its walk stops: its resume of in-flight keys (PlanOptions.resumeUntil), and a look over the keyspace starting now (lookUntil). */
interface PlanBounds {
  readonly until?: () => number;
  readonly look: () => ScanBound;
  readonly clock?: () => number;
}

/** How far a new run's plan got, for its clean-up when it fails. */
interface PlanProgress {
  /** It wrote the run's started-with record (its first plan: SET NX). */
  recordedStartedWith: boolean;
  /** It may have moved something of the run (cron definitions) since. */
  mayHaveMoved: boolean;
  /** A transfer's: the target's id as the plan found it (target-identity.ts), once known. */
  targetId?: string;
  /** Jobs its resume of in-flight keys wrote to the target again, the target having lost their copy (copy-kept.ts). */
  recopied?: number;
}

/**
 * A transfer given the id of an unfinished run that started from its target (its executions are
 * recorded on its source: run-executions.ts): a shard move's step back under the id of the step
 * there (`--run-id`, or `start --resume`) would take that run's locks, leave its jobs in flight,
 * and write its own in-flight keys and ledgers under the same id on both servers. Refused before
 * any lock is taken.
 */
async function refuseRunFromTarget(source: Connection, target: Connection, runId: string): Promise<void> {
  if ((await target.redis.exists(runExecutionsKey(target.keys.prefix, runId))) === 0) return;
  throw new InputError(
    `Run ${runId} is an unfinished run that started from the target ${target.name} (its executions are recorded there); this transfer goes from ${source.name} to it, the other way, and cannot resume it. ` +
      `Finish that run with its own move (from ${target.name}), or give this one another run id. Nothing was touched.`,
  );
}

/** Renames named in a run's state at most: the settings travel with every page. */
const RENAMES_WITHOUT_QUEUE_KEPT = 20;

/**
 * The renames whose old queue has no list and is not in `queues` (Sidekiq adds every queue it
 * pushes to, and never removes one): nothing on this Redis was ever queued there, but for set
 * entries naming it. A typo in `--rename` looked like a run with nothing to do, "Complete".
 */
async function findRenamesWithoutQueue(source: Connection, plan: RoutingPlan | undefined): Promise<RenameWithoutQueue[]> {
  if (plan?.kind !== 'renames') return [];
  const renames = [...plan.renames];
  const pipeline = source.redis.pipeline();
  for (const [from] of renames) pipeline.exists(source.keys.queue(from)).sismember(source.keys.queues, from);
  const replies = (await pipeline.exec()) ?? [];
  const known = (i: number) => replies.slice(2 * i, 2 * i + 2).some(([error, found]) => error !== null || found !== 0);
  return renames.flatMap(([from, to], i) => (known(i) ? [] : [{ from, to }])).slice(0, RENAMES_WITHOUT_QUEUE_KEPT);
}

/**
 * `planner`: the plan's generation in the run's lock (none for a dry run, which writes nothing).
 * Writes after the lock, in order: the target's id (SET NX, no run's own: any run may name it);
 * the run's conflicts (forgetRunConflicts, guarded); what resumeInflight finishes of interrupted
 * runs (each job through its run's ledger: written once whoever finishes it, see its comment; each
 * leftover only while both locks carry this plan's generation, and each write to the target only
 * while its lock carries no later start of the run, nor one of the same plannedAt by another plannedBy);
 * cron definitions (planCron: each a compare-and-set, guarded); the run's routing, selection, list
 * and executions (storeRunPlan, guarded, one step).
 */
async function planWork(input: WorkflowInput, source: Connection, target: Connection | undefined, walk: PlanWalk, progress: PlanProgress, bounds: PlanBounds, resolved: RoutingPlan | undefined, planner?: Planner, fences?: LockRenewals): Promise<PlanOutput> {
  const sourceHasData = walk.hasData !== false;
  // The routing as resolved before the locks; a rollback's moves read again now that they no
  // longer change (a rollback whose record is not under its prefix looks for it under others: a
  // walk of its own, bounded).
  const plan = input.routing?.kind === 'rollback' && planner ? await resolveRouting(input.routing, source, input.runId, bounds.look()) : resolved;

  const renamesWithoutQueue = input.mode === 'reroute' ? await findRenamesWithoutQueue(source, plan) : [];
  // A rollback of a run whose jobs a later run moved on finds them gone: said, never "Complete".
  const movedOn = input.mode === 'reroute' && plan?.kind === 'reverse' ? await movedOnSinceAmong(source.redis, source.keys.prefix, plan, walk.moveRecordRunIds ?? []) : undefined;
  // Asked by the operator for a Redis whose INFO hides its replicas: every WAIT asks for at least these.
  const askedReplicas = input.mode === 'transfer' && (input.fromReplicas ?? input.toReplicas) !== undefined ? { source: input.fromReplicas ?? 0, target: input.toReplicas ?? 0 } : undefined;
  const planned: RunSettings = {
    runId: input.runId,
    mode: input.mode,
    source: input.source,
    target: input.target,
    dryRun: input.dryRun,
    pageSize: input.pageSize,
    rateLimit: input.rateLimit,
    unmapped: input.unmapped,
    placement: input.placement,
    pagesPerInvocation: input.pagesPerInvocation,
    maxIterations: input.maxIterations,
    sets: input.sets,
    queues: input.queues,
    routed: plan !== undefined,
    ...(plan && input.dryRun ? dryRunRouting(plan) : {}),
    ...(input.classes ? (input.dryRun ? { inlineClasses: input.classes } : { selected: true as const }) : {}),
    ...(input.dryRun ? { planId: randomUUID() } : {}),
    ...(sourceHasData ? {} : { nothingThere: true as const }),
    ...(renamesWithoutQueue.length > 0 ? { renamesWithoutQueue } : {}),
    ...(movedOn ? { movedOnSince: movedOn } : {}),
  };

  if (input.dryRun) assertDryRunCarries(planned);

  let resumed = emptyTransferCounters();
  // What the walk found in flight; this run's own claims since (an execution this start superseded) too, now that the locks are held.
  const leftovers = planner ? await withOwnInflight(source.redis, source.keys, input.runId, walk.leftovers ?? [], walk.queues?.queues ?? []) : (walk.leftovers ?? []);
  // Jobs in flight for another target are refused before the target is named (reads only): a
  // refused move leaves it as it was (asked before the locks too, of what the walk found).
  if (input.mode === 'transfer' && target && !input.dryRun) await refuseLeftoversForOtherTargets({ source: source.redis, target: target.redis, sourceKeys: source.keys, targetKeys: target.keys, targetName: target.name }, leftovers);
  // A run that writes names its target first: every batch it claims carries that name, and its
  // first plan records it (started-with.ts), so that no later plan resumes it to another Redis.
  const targetId = input.mode === 'transfer' && target && !input.dryRun ? await ensureTargetId(target.redis, target.keys) : undefined;
  if (targetId !== undefined) progress.targetId = targetId;
  // A dry run writes nothing, but counts what a run would finish first.
  if (input.mode === 'transfer' && target) {
    // Leftovers are routed as the runs that claimed them stored (before this plan stores its own).
    const leftoverRouting = (runId: string) => readStoredRouting(source.redis, source.keys.prefix, runId);
    // With this plan's plannedAt and plannedBy, its writes to the target are refused once a later
    // start of the run holds the target's lock, or one that planned in the same millisecond
    // (write-to-target.ts, in the same call as each write; plannedAt alone let those through).
    const context = { source: source.redis, target: target.redis, sourceKeys: source.keys, targetKeys: target.keys, runId: input.runId, plan, dryRun: input.dryRun, leftoverRouting, ...(askedReplicas ? { askedReplicas } : {}), ...(planner ? generationOf(planner) : {}) };
    // The conflicts an earlier attempt of this run gave back are forgotten: the claim would step
    // over them and this attempt's summary would not count them (it said 'Complete' over jobs left
    // on the source). Claimed again, they are found on the target again and given back, counted.
    if (planner) await forgetRunConflicts(source, planner, SORTED_SET_NAMES.map((set) => conflictsKey(source.keys.prefix, input.runId, set)));
    // What is in flight under this run's id may be a later start's slice between its claim and its
    // acknowledge by the time this plan gets to it (it paused after its lock): each leftover is
    // resumed only while both locks still carry this plan's generation.
    const guards = planner ? [source, target].map((c, i) => ({ redis: c.redis, guard: { lockKey: runLockKey(c.keys.prefix), planner, where: `${i === 0 ? 'source' : 'target'} ${c.name}` } })) : [];
    const beforeLeftover = async (leftover: InflightLeftover) => {
      for (const { redis, guard } of guards) await refuseUnlessStillHeld(redis, guard, `resumed ${displayName(leftover.key)}`);
    };
    // Bounded by its share of the plan task's time: stopped between two keys, the plan is retried.
    const bound = { ...(bounds.until ? { until: bounds.until() } : {}), ...(bounds.clock ? { clock: bounds.clock } : {}) };
    // Each of its WAITs covers a write of the plan's own first (the claims and copies it finishes were an earlier attempt's).
    resumed = await resumeInflight({ ...context, ...(targetId ? { targetId } : {}), ...(fences ? { replicationFences: fences } : {}), sourceName: source.name, targetName: target.name }, input.placement, { beforeLeftover, leftovers, ...bound });
    // Leftovers finished here may be this run's own (a run planned before its record was kept).
    if (resumed.written > 0 || resumed.resumed > 0) progress.mayHaveMoved = true;
    if ((resumed.recopied ?? 0) > 0) progress.recopied = resumed.recopied;
  }
  // What earlier starts of the run left that no item of this one ends (a pass killed at its end,
  // its queue empty since): forgotten now, holding the locks, after their in-flight jobs were
  // finished (a ledger is retired only once nothing of it is in flight: older-starts.ts).
  if (planner) await forgetOlderStarts(input.mode, source, target, planner, walk.olderStarts?.passes ?? []);
  // Other (dead) runs' pass counts no item, no resume and no ledger of theirs ends (a `--classes`
  // pass whose claims took nothing yet), found by the same walk: forgotten now, after their jobs in
  // flight were finished, their ledgers here retired first (other-runs-passes.ts).
  if (planner && target && targetId !== undefined && walk.otherRunsPasses && walk.otherRunsPasses.size > 0) {
    await forgetOtherRunsPasses({ source: source.redis, target: target.redis, sourceKeys: source.keys, targetKeys: target.keys, targetId }, planner, walk.otherRunsPasses);
  }
  // Listed before anything of this run is written: a queue it cannot take refuses the run whole.
  const listed = await listWork(planned, source, plan, walk.queues);
  // A dry run's first batch reads this list, rather than walking the keyspace for it again.
  if (input.dryRun) rememberDryRunList(planned, source, listed);
  // Before anything of the run moves: its first plan fixes what it was started with, and when (started-with.ts;
  // SET NX: a later plan, stale or not, never replaces it; it adds the start to an older version's).
  const started = input.dryRun ? undefined : await recordStartedWith(source.redis, source.keys.prefix, input.runId, startedWith(input.mode, plan, input.classes, targetId, input.mode === 'transfer' ? recordedAsk(input) : undefined));
  if (started) progress.recordedStartedWith = started.wrote;
  // A rollback of a rollback that put back everything its run moved: that record no longer holds
  // once this one moves (rolled-back.ts forgetRolledBackOfRollback), whatever this one ends with.
  if (!input.dryRun && input.routing?.kind === 'rollback') await forgetRolledBackOfRollback(source.redis, source.keys.prefix, await rollbackOfWhich(source, input.routing.of), input.routing.of);
  const routingText = plan && planner ? routingJson(plan) : undefined;
  const selectionText = input.classes && planner ? selectionJson(input.classes) : undefined;
  const routingDigest = routingText === undefined ? undefined : storedDigest(routingText);
  const selectionDigest = selectionText === undefined ? undefined : storedDigest(selectionText);
  // Read after the plan's own waits (resumeInflight): the most replicas its connections saw.
  const replicas = input.mode === 'transfer' && target && !input.dryRun ? { source: await replicasSeen(source.redis), target: await replicasSeen(target.redis) } : undefined;
  const settings: RunSettings = { ...planned, ...(routingDigest ? { routingDigest } : {}), ...(selectionDigest ? { selectionDigest } : {}), ...(replicas ? { replicas } : {}), ...(askedReplicas ? { askedReplicas } : {}), ...(targetId ? { targetId } : {}), ...(started?.keepsStart ? { renewsStartedWith: true as const } : {}), ...((started && !started.wrote) || walk.olderStarts?.startedBefore ? { startedBefore: true as const } : {}), ...(setsMayGoApart(listed.length, planned) ? { setsApart: true as const } : {}) };
  // Rewriting or carrying cron definitions is the run's first move: from here a failed plan keeps its record.
  if (input.cron !== 'report') progress.mayHaveMoved = true;
  const cronPlanned = await planCron(input.cron, input.dryRun, source, target, plan, planner, walk.cronNamespaces);
  const cron = cronPlanned && input.mode === 'transfer' && input.classes ? { ...cronPlanned, selective: true as const } : cronPlanned;
  // What it left of the definitions it was asked to write: every execution's summary log says it.
  const cronLeft = cronLeftOf(cron, input.mode);
  if (planner) {
    await storeRunPlan(source, planner, { ...(routingText ? { routing: routingText } : {}), ...(selectionText ? { selection: selectionText } : {}), work: listed });
    if (plan && routingText) rememberRouting(source.keys.prefix, input.runId, routingText, plan);
    if (input.classes && selectionText) rememberSelection(source.keys.prefix, input.runId, selectionText, input.classes);
  }
  const first = await readWork(settings, source, plan, 0, BATCH_SIZE);
  const plannedJobs = await countJobs(source, listed);
  const tally = emptyTally(input.mode);
  if (input.mode === 'transfer') addToTotals(tally, 'transfer', resumed);
  return { settings: cronLeft ? { ...settings, cronLeft } : settings, itemCount: listed.length, plannedJobs, work: { batch: first.items, next: first.next, more: first.items.length > 0, batches: 0, tally }, execution: ROOT_EXECUTION, listContinuedIn: null, resumed, cron, ...(walk.iterableStates ? { iterableStates: walk.iterableStates } : {}) };
}

/**
 * A continued execution: the same run (its lock renewed, its routing is stored), and
 * either one item, its loop count back to zero, or the rest of the run's list from a position.
 */
async function continuePlan(rawInput: unknown, connections: ConnectionProvider, options: PlanOptions): Promise<PlanOutput> {
  const { continuation } = validateConfig(continuationInputSchema, rawInput, (path) => `input.${path.join('.')}`);
  // Settings of an older version name no generation: earlier than any start that records one.
  const settings = withRecordedGeneration(continuation.settings as unknown as RunSettings);
  const source = await connections.get(settings.source);
  const item = continuation.item as unknown as WorkItem | undefined;
  // Named as the execution that started it named it (run-executions.ts), before this one ran.
  const execution = item ? itemContinuationName(item) : listContinuationName(continuation.list!.next);
  const tally = emptyTally(settings.mode);
  const resumed = emptyTransferCounters();
  if (!settings.dryRun) {
    // Refused when the run lost its lock (gone, or another run's): the execution that announced
    // this one held it, and no other execution of the run releases it while this one is announced.
    // A later start of the run that superseded the execution this one continues (it planned after
    // that one announced this one) is found at the lock, or in the same step as the add.
    const superseded = await holdAndAdd(settings, connections, source, execution);
    if (superseded) return supersededPlan(settings, item, execution, tally, resumed, superseded);
  }
  if (item) {
    // Its name (`continueAs`) was this execution's: the item's next continuation gets its own.
    const { continueAs: _started, ...carried } = item;
    const batch = [{ ...carried, iteration: 0, continues: continuation.from ?? item.continues }];
    return { settings, itemCount: 1, work: { batch, next: null, more: true, batches: 0, tally }, execution, listContinuedIn: null, resumed };
  }
  const plan = await routingOf(settings, source);
  const from = continuation.list!.next;
  // A dry run lists again, its walk for queue lists bounded as the plan's (DryRunListTooLongError).
  const listBound = { ...(options.walkUntil ? { until: options.walkUntil() } : {}), ...(options.clock ? { clock: options.clock } : {}) };
  const first = await readWork(settings, source, plan, from, BATCH_SIZE, undefined, listBound);
  return { settings, itemCount: first.items.length, work: { batch: first.items, next: first.next, more: first.items.length > 0, batches: 0, tally }, execution, listContinuedIn: null, resumed };
}

/**
 * A continuation's hold of the run's locks and its entry among the run's executions; the error
 * that says so when a later start of the run superseded the execution it continues (undefined:
 * held and added).
 */
async function holdAndAdd(settings: RunSettings, connections: ConnectionProvider, source: Connection, execution: string): Promise<RunSupersededError | undefined> {
  const holder = { runId: settings.runId, operation: settings.mode, ...generationOf(settings) };
  try {
    for (const name of [settings.source, ...(settings.target ? [settings.target] : [])]) {
      const c = await connections.get(name);
      await RunLock.acquire(c.redis, c.keys.prefix, holder, RUN_LOCK_TTL_MS, `${name} ${c.name}`, { mustHold: true });
    }
  } catch (error) {
    if (error instanceof RunSupersededError && error.laterPlannedAt !== undefined) return error;
    // The lock gone (or another run's since): the later start may have ended the run before this
    // plan ran (its Lambda throttled, retried, started late). Its finish record says so: this
    // execution was superseded, not a run that lost its lock ("run it again to resume", FAILED,
    // the item's earlier moves in no summary).
    if (error instanceof RunLockLostError || error instanceof RunLockedError) {
      const finishedBy = await laterStartThatFinished(source.redis, source.keys.prefix, settings);
      if (finishedBy !== undefined) return new RunSupersededError(settings.runId, `on ${settings.source} ${source.name}, which has ended the run since`, finishedBy.laterPlannedAt, finishedBy.laterPlannedBy);
    }
    throw error;
  }
  // Checked again in the same step as the add: a later start may have planned since.
  const added = await addRunExecution(source.redis, source.keys.prefix, settings.runId, execution, settings.plannedAt, settings.plannedBy);
  return added.supersededBy === undefined ? undefined : new RunSupersededError(settings.runId, `on ${settings.source} ${source.name}`, added.supersededBy);
}

/**
 * A continuation whose plan found its execution superseded: it moves nothing and goes straight to
 * its summary, which says so and leaves the run alone (the tally's `superseded`), as one that
 * meets the supersession at its first page task does (the page task's failure, then the add-up).
 * The item it carried ends here, as that page task's failure ends it: with the counters the
 * executions before it gave it (what they moved of it is counted in no other summary) and the
 * error. Failing the execution instead ("Could not plan the migration") left those moves in no
 * summary, and had the execution-ended clean-up judge the run by an execution that was no longer its.
 */
function supersededPlan(settings: RunSettings, item: WorkItem | undefined, execution: string, tally: RunTally, resumed: TransferCounters, error: RunSupersededError): PlanOutput {
  const results: ItemResult[] = item ? [{ kind: item.kind, name: item.name, counters: item.counters, error: { Error: 'FatalError', Cause: error.message } }] : [];
  const folded = foldResults(tally, settings.mode, results);
  folded.superseded = { laterPlannedAt: error.laterPlannedAt!, ...(error.laterPlannedBy !== undefined ? { laterPlannedBy: error.laterPlannedBy } : {}) };
  return { settings, itemCount: 0, work: { batch: [], next: null, more: false, batches: 0, tally: folded }, execution, listContinuedIn: null, resumed };
}

/**
 * How a dry run carries its routing (it stores nothing): inline, or for a rollback, which record
 * of moves to read again (recorded-rollback.ts) — thousands of moves would pass 256 KiB a state.
 */
function dryRunRouting(plan: RoutingPlan): Pick<RunSettings, 'inlineRouting' | 'recordedRollback'> {
  if (plan.kind === 'reverse') return { recordedRollback: { of: plan.of, digest: recordedMovesDigest(plan.moves) } };
  return { inlineRouting: serializeRouting(plan) };
}

/** The run's routing as the page steps read it: carried by a dry run (or read from a rolled-back run's record), stored otherwise. */
export async function routingOf(settings: RunSettings, source: Connection): Promise<RoutingPlan | undefined> {
  if (settings.inlineRouting) return deserializeRouting(settings.inlineRouting);
  if (settings.recordedRollback) return loadRecordedRollback(source.redis, source.keys.prefix, settings.recordedRollback);
  return settings.routed ? loadRouting(source.redis, source.keys.prefix, settings.runId, settings.routingDigest) : undefined;
}
