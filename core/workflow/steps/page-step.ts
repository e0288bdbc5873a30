import { FatalError } from '../../errors/sidekiq-migrate-error.js';
import { watchLostReplies } from '../../redis/lost-replies.js';
import { scriptCallsSentOn } from '../../redis/lua-script.js';
import { movedUncounted, replyMayBeLost } from '../../redis/redis-errors.js';
import { RunLock } from '../../redis/run-lock.js';
import type { SortedSetName } from '../../redis/sidekiq-keys.js';
import type { DriveLimits, PageResult } from '../../reroute/drive-pages.js';
import { rerouteQueue } from '../../reroute/queue-slice.js';
import { addCounters, destinationsWithin, DRY_RUN_CARRY_NAMED_IN_FULL, DRY_RUN_DESTINATION_NAME_BYTES, emptyCounters, type RerouteCounters } from '../../reroute/reroute-counters.js';
import { rerouteSet, type SetCursor } from '../../reroute/set-page.js';
import { transferQueue } from '../../transfer/queue-transfer.js';
import { RateLimiter, rateLimitedSliceSize } from '../../transfer/rate-limiter.js';
import { transferSet, type SetTransferCursor } from '../../transfer/set-transfer.js';
import { withCarriedCount } from '../../transfer/selective-set-transfer.js';
import { assertTargetKept, ensureTargetId } from '../../transfer/target-identity.js';
import { addTransferCounters, emptyTransferCounters, type TransferCounters } from '../../transfer/transfer-counters.js';
import { MAX_JOBS_PER_CLAIM } from '../../transfer/transfer-options.js';
import type { Connection, ConnectionProvider } from '../connections.js';
import { forgetPageAttempt, openPageAttempt, writePageReceipt, type PageAttempt } from '../page-receipt.js';
import { continuationExecutionName } from '../continuation-name.js';
import { addRunExecution, itemContinuationName } from '../run-executions.js';
import { generationOf } from '../run-generation.js';
import { handedApart, setGoesApart } from '../set-apart.js';
import { loadSelection } from '../stored-selection.js';
import { keepRunRecords } from '../store-run-plan.js';
import type { PageInput, WorkItem } from '../work-item.js';
import { routingOf, RUN_LOCK_TTL_MS } from './plan-step.js';

export interface PageBudget {
  /** Epoch ms after which no new page starts (the Lambda's remaining time minus a margin). */
  readonly deadline: number;
  /** Pages, or a transfer's slices; default: the run's pagesPerInvocation pages' worth. */
  readonly maxPages?: number;
  /** Called once per page (the handler logs one line per page, never per job). */
  readonly onPage?: (page: PageResult<unknown, unknown>) => void;
  /** A page failed after others of this task were written: they are returned, the error is told here. */
  readonly onFailureAfterProgress?: (error: unknown, pagesWritten: number) => void;
  /**
   * An earlier attempt of this very input ran to its end (its answer never reached the state
   * machine: page-receipt.ts): its answer is returned again, and no page runs.
   */
  readonly onReceipt?: () => void;
}

/**
 * "Re-route … / Transfer …" for one work item: pages from the item's cursor until the item is
 * done or the budget is spent, renewing the run lock as it goes, and returns the item with its
 * new cursor and summed counters. Stateless: everything it needs is in its input and in Redis.
 */
export async function pageStep(input: PageInput, connections: ConnectionProvider, budget: PageBudget): Promise<WorkItem> {
  const { settings } = input;
  const source = await connections.get(settings.source);
  const target = settings.mode === 'transfer' ? await connections.get(settings.target!) : undefined;
  // A connection that closes under a call ioredis then sends again: its first run's moves are
  // counted as done already by the second (lost-replies.ts).
  const watch = watchLostReplies([source.redis, ...(target ? [target.redis] : [])]);
  try {
    return await pageOn(input, source, target, budget, watch.lost);
  } finally {
    watch.stop();
  }
}

async function pageOn(input: PageInput, source: Connection, target: Connection | undefined, budget: PageBudget, resent: () => number): Promise<WorkItem> {
  const { settings } = input;
  const plan = await routingOf(settings, source);
  // The target as the plan found it, or one that lost its data since (a restart without
  // persistence): checked before its lock, whose absence would read as an expiry and "nothing lost".
  const targetId = target && !settings.dryRun && settings.targetId !== undefined ? await assertTargetKept(target.redis, target.keys, target.name, settings.targetId) : undefined;
  // A target lock that is gone may be one more sign of a target that lost its data (restarted
  // between the check above and the lock, or during the page): said as what it is, if it is.
  // What this step's slices wrote to the target so far: a loss seen after them says so (not "wrote nothing").
  const writtenHere = { jobs: 0 };
  const orLostTarget = async (error: unknown): Promise<never> => {
    if (targetId !== undefined) await assertTargetKept(target!.redis, target!.keys, target!.name, targetId, writtenHere.jobs);
    throw error;
  };
  // The receipt is read, and this attempt counted, beside the locks' renewal (no round trip of
  // its own), and used only once they are held: a stopped or superseded run answers nothing, not
  // even an earlier answer. A dry run writes nothing, and a retry of it counts all again.
  const [locks, attempt] = settings.dryRun ? [[], { unanswered: 0, attempts: 0 } satisfies PageAttempt] : await holdLocksAndOpen();
  async function holdLocksAndOpen(): Promise<[RunLock[], PageAttempt]> {
    const holding = holdLocks(settings, [source, ...(target ? [target] : [])]);
    const opening = openPageAttempt(source.redis, source.keys.prefix, input);
    // The run goes on: its records on the source outlive its last page by their 7 days (its
    // started-with record by its 30, when its plan found its start in it: renewsStartedWith). Sent
    // beside the open, in its round trip; best effort, as the receipt (the next task sends it again).
    const keeping = keepRunRecords(source, settings.runId, { startedWith: settings.renewsStartedWith === true }).catch(() => undefined);
    const [locks, opened] = await Promise.all([
      holding.catch(async (error: unknown) => {
        // Refused (a target lock another run took): the attempt is taken back, no key left behind.
        await forgetPageAttempt(source.redis, source.keys.prefix, input, (await opening).attempts);
        return orLostTarget(error);
      }),
      opening,
      keeping,
    ]);
    return [locks, opened];
  }
  if (attempt.receipt) {
    budget.onReceipt?.();
    return attempt.receipt;
  }
  if (setGoesApart(settings, input.item)) return handOnApart(input, source, attempt);
  // An attempt that fails before it sent a single script call (every step that moves jobs is one:
  // lua-script.ts scriptCallsSentOn) moved nothing: taken back, so that its retry does not say the
  // counts may be short for it. One that sent one may have moved jobs (its reply lost, a write
  // before a failed acknowledge) and stays counted.
  const clients = [source.redis, ...(target ? [target.redis] : [])];
  const scriptsSent = () => clients.reduce((sum, c) => sum + scriptCallsSentOn(c), 0);
  const sentBefore = scriptsSent();
  try {
    return await pagesOf(input, source, target, budget, resent, plan, targetId, locks, attempt, orLostTarget, writtenHere);
  } catch (error) {
    if (!settings.dryRun && scriptsSent() === sentBefore) await forgetPageAttempt(source.redis, source.keys.prefix, input, attempt.attempts);
    throw error;
  }
}

/** pageOn's pages, once the locks are held and this attempt is counted. */
async function pagesOf(
  input: PageInput,
  source: Connection,
  target: Connection | undefined,
  budget: PageBudget,
  resent: () => number,
  plan: Awaited<ReturnType<typeof routingOf>>,
  targetId: string | undefined,
  locks: RunLock[],
  attempt: PageAttempt,
  orLostTarget: (error: unknown) => Promise<never>,
  writtenHere: { jobs: number },
): Promise<WorkItem> {
  const { settings, item } = input;
  // What may have moved uncounted: earlier attempts of this input that never answered
  // (page-receipt.ts), and a page call that failed after the pages returned, its reply lost on a
  // dropped or timed-out connection (it may have run; the next task counts its jobs as already
  // routed, or as duplicates).
  let failedMayHaveRun = 0;
  const answered = async (answer: WorkItem): Promise<WorkItem> => {
    // A connection that closed under a call is seen twice when the call is then aborted (a
    // failure that may have run, below) rather than sent again: counted once.
    const uncounted = attempt.unanswered + (settings.dryRun ? 0 : Math.max(failedMayHaveRun, resent()));
    const counted = uncounted === 0 ? answer : { ...answer, counters: { ...answer.counters, uncountedAttempts: (answer.counters.uncountedAttempts ?? 0) + uncounted } };
    if (!settings.dryRun) await writePageReceipt(source.redis, source.keys.prefix, input, counted, attempt.attempts);
    return counted;
  };
  const limiter = new RateLimiter(settings.rateLimit);
  const sliceSize = settings.mode === 'transfer' ? rateLimitedSliceSize(settings.pageSize, settings.rateLimit, budget.deadline - Date.now()) : settings.pageSize;
  // A transfer claims at most MAX_JOBS_PER_CLAIM jobs a slice, so a page of `sliceSize` jobs takes
  // this many slices: a task still moves a page's worth `pagesPerInvocation` times, and the run
  // needs no more tasks (state transitions, history events, continuations) than its page size says.
  const slicesPerPage = settings.mode === 'transfer' ? Math.ceil(sliceSize / MAX_JOBS_PER_CLAIM) : 1;
  // The locks are renewed once a page, as before pages were split into slices: every
  // slicesPerPage slices (issue #18: a renewal is a round trip of its own on both servers; one
  // slice a default page of 1,000 since MAX_JOBS_PER_CLAIM is 1,000, several for a larger one). A stop, or the source's lock
  // taken by another run or a later execution of this one, is still seen after the slice it lands
  // in: every slice's claim then claims nothing (claim-calls.ts). A target's lock taken by another
  // run or a later execution of this one is seen by the next slice's write, which writes nothing
  // (write-to-target.ts): that slice stays in flight for the resume. A lock that is gone, or another
  // run's past its expiry, is seen at the page's end.
  // A rate-limited run renews after every slice, since each of its waits may be long; so does a
  // class-selective one. Its claims look for the stop marker and the lock too, as the others do
  // (claimSelectedQueueJobs-11.lua, claimSelectedSetEntries-11.lua): before, a lock lost between
  // the renewal and the next claim let that claim take jobs into flight for a write the target
  // then refused (test/workflow/selective-claim-lost-lock.test.ts).
  const selective = settings.inlineClasses !== undefined || settings.selected === true;
  const slicesPerRenewal = settings.rateLimit === undefined && !selective ? slicesPerPage : 1;
  let slicesSinceRenewal = 0;
  const renew = () => Promise.all(locks.map((l) => l.renew()));
  // A re-route page's renewal rides in its writes' round trip (issue #18: a round trip of its own
  // per page otherwise): sent on the same connection the moment the writes are, Redis runs it right
  // after them, as when it was sent after their reply, and it is awaited and checked at the same
  // point, before the next page writes anything. Not for a rate-limited run, whose renewal follows
  // its wait; a page that writes nothing renews on its own, as before.
  const renewals: Promise<boolean[]>[] = [];
  const alongWrites = settings.mode === 'reroute' && slicesPerRenewal === 1 && locks.length > 0 && settings.rateLimit === undefined
    ? () => {
        const renewal = renew();
        renewal.catch(() => {}); // awaited in onPage; a page whose writes failed never gets there
        renewals.push(renewal);
      }
    : undefined;
  const limits: DriveLimits = {
    deadline: budget.deadline,
    maxPages: budget.maxPages ?? settings.pagesPerInvocation * slicesPerPage,
    onPage: async (page) => {
      budget.onPage?.(page);
      writtenHere.jobs += (page.counters as { written?: number }).written ?? 0;
      // Never past the deadline: the loop then stops there and returns what this invocation did.
      await limiter.after((page.counters as { claimed?: number }).claimed ?? 0, budget.deadline);
      if (++slicesSinceRenewal < slicesPerRenewal) return;
      slicesSinceRenewal = 0;
      // Renewed last, just before the next page: a run stopped during a rate-limit wait makes the
      // renewal throw RunStoppedError here, and the page just finished (atomic) is the last one.
      // A renewal sent with the page's writes (again after a NOSCRIPT retry of them) is checked
      // here instead, every one of them.
      const sent = renewals.splice(0);
      const renewed = sent.length > 0 ? (await Promise.all(sent)).flat() : await renew();
      // Lost: another run took it, or it expired and is gone (taken and released by another run
      // while this task was paused); never taken again (renewRunLock-4.lua).
      if (renewed.includes(false)) await orLostTarget(new FatalError(`Run ${settings.runId} lost its run lock during ${item.kind} ${item.name} (another run took it, or it expired and is gone); stopping (nothing is lost: the next run resumes).`));
    },
    // A rate-limited transfer starts no slice whose wait would outlast the invocation: the next
    // invocation moves it, so the rate holds across invocations too.
    stopBefore: () => !limiter.fits(sliceSize, budget.deadline),
    // The task returns the pages it wrote before a failure rather than failing with them: the
    // state machine's Retry and Catch only know the item as the task received it, so their
    // counters would be lost (a summary saying 0 moved of jobs that moved). The next task starts
    // at the failed page, and fails as before if it fails again first. Safe as a Retry is: every
    // page is atomic or resumes what a failed one left in flight.
    onFailureAfterProgress: (error, pagesWritten) => {
      // So may calls beside a refused one of the same page, which ran (queue-slice.ts applyMoves).
      if (!settings.dryRun && (replyMayBeLost(error) || movedUncounted(error))) failedMayHaveRun++;
      budget.onFailureAfterProgress?.(error, pagesWritten);
    },
  };

  if (settings.mode === 'reroute') {
    // Every page records what it moves under the run's id, so that the run can be rolled back.
    const context = { redis: source.redis, keys: source.keys, plan: plan!, dryRun: settings.dryRun, recordMovesAs: { runId: settings.runId }, ...(alongWrites ? { alongWrites } : {}), ...limits };
    const run =
      item.kind === 'set'
        ? await rerouteSet({ ...context, set: item.name as SortedSetName, cursor: (item.cursor as SetCursor | string | null) ?? '0', count: settings.pageSize })
        : // The pass keeps where it stands on the source, by run and generation (pass-record.ts).
          await rerouteQueue({ ...context, queue: item.name, cursor: item.cursor as never, sliceSize: settings.pageSize, placement: settings.placement, unmapped: settings.unmapped, pass: { runId: settings.runId, ...generationOf(settings) }, counted: item.counters as RerouteCounters });
    // A queue's pass that found a slice on its record that its input did not know (the answer was
    // lost) counts from the record's counters instead of the item's (pass-record.ts).
    const before = 'counted' in run && run.counted !== undefined ? run.counted : (item.counters as RerouteCounters);
    const counters = addCounters(addCounters(emptyCounters(), before), run.counters);
    if (namesFewer(settings)) {
      counters.movedTo = destinationsWithin(counters.movedTo, DRY_RUN_DESTINATION_NAME_BYTES);
      if (counters.unmappedNaming) counters.unmappedNaming = destinationsWithin(counters.unmappedNaming, DRY_RUN_DESTINATION_NAME_BYTES);
    }
    return answered(await announceContinuation(settings, source, { ...item, cursor: run.cursor, done: run.done, iteration: item.iteration + 1, counters }));
  }

  const classes = settings.inlineClasses ?? (settings.selected ? await loadSelection(source.redis, source.keys.prefix, settings.runId, settings.selectionDigest) : undefined);
  const context = {
    source: source.redis,
    target: target!.redis,
    sourceKeys: source.keys,
    targetKeys: target!.keys,
    // Named in messages (a WAIT that came short names its server: replica-wait.ts).
    sourceName: source.name,
    targetName: target!.name,
    ...(settings.replicas ? { plannedReplicas: settings.replicas } : {}),
    ...(settings.askedReplicas ? { askedReplicas: settings.askedReplicas } : {}),
    // A WAIT on a connection opened again since the copy covers a renewal of the lock first (replica-wait.ts).
    ...(locks.length === 2 ? { replicationFences: { source: () => locks[0]!.renew(), target: () => locks[1]!.renew() } } : {}),
    runId: settings.runId,
    // A slice claims nothing once a later execution of the run holds the lock (claim-calls.ts).
    ...generationOf(settings),
    plan,
    ...(classes ? { classes } : {}),
    // Every batch this page claims names its target (target-identity.ts).
    ...(settings.dryRun ? {} : { targetId: targetId ?? (await ensureTargetId(target!.redis, target!.keys)) }),
    dryRun: settings.dryRun,
    sliceSize,
    // Each slice's claim rides in the acknowledge of the slice before (claim-ahead.ts), but for
    // the first of a page: its slice before ends the page, and the locks are renewed after it.
    claimAheadWithin: slicesPerRenewal,
    // A selective set pass's count of what stays, cut short by a task's time, goes on in the item's
    // next tasks, at most an execution's loop iterations of them: it adds at most one continuation
    // (continue-as-new) to the run, whatever the set's size, and keeps within its history budget.
    countTasks: settings.maxIterations,
    ...limits,
  };
  const run =
    item.kind === 'set'
      ? await transferSet({ ...context, set: item.name as SortedSetName, cursor: item.cursor as never })
      : await transferQueue({ ...context, queue: item.name, cursor: item.cursor as never, placement: settings.placement });
  const summed = addTransferCounters(addTransferCounters(emptyTransferCounters(), item.counters as TransferCounters), run.counters);
  // A selective set pass's count carried on to the next task: what it has not read yet is said (selective-set-transfer.ts).
  const counters = item.kind === 'set' ? withCarriedCount(summed, item.cursor as SetTransferCursor | null, run.cursor as SetTransferCursor | null) : summed;
  if (namesFewer(settings)) {
    counters.writtenTo = destinationsWithin(counters.writtenTo, DRY_RUN_DESTINATION_NAME_BYTES);
    if (counters.unselectedNaming) counters.unselectedNaming = destinationsWithin(counters.unselectedNaming, DRY_RUN_DESTINATION_NAME_BYTES);
  }
  return answered(await announceContinuation(settings, source, { ...item, cursor: run.cursor, done: run.done, iteration: item.iteration + 1, counters }));
}

/**
 * A dry run carrying more than DRY_RUN_CARRY_NAMED_IN_FULL bytes of routing and classes in every
 * state: its items name fewer destinations (reroute-counters.ts DRY_RUN_DESTINATION_NAME_BYTES),
 * so that a batch of ten, beside that routing, stays within a state's 256 KiB.
 */
export function namesFewer(settings: Pick<PageInput['settings'], 'dryRun' | 'inlineRouting' | 'inlineClasses'>): boolean {
  if (!settings.dryRun || (settings.inlineRouting === undefined && settings.inlineClasses === undefined)) return false;
  return Buffer.byteLength(JSON.stringify({ routing: settings.inlineRouting, classes: settings.inlineClasses }), 'utf8') > DRY_RUN_CARRY_NAMED_IN_FULL;
}

/**
 * An item at its loop cap continues in a new execution: added to the run's executions here,
 * before the state machine starts it, so that this execution's summary never finds itself the
 * last one while its continuation has yet to start (and release the run lock under it). Named
 * here (`continueAs`, a dry run's too): the state machine starts it under that name, so that a
 * retried start cannot start it twice.
 */
async function announceContinuation(settings: PageInput['settings'], source: Connection, item: WorkItem): Promise<WorkItem> {
  if (item.done || item.iteration < settings.maxIterations) return item;
  if (!settings.dryRun) {
    // Not added when a later start of the run planned meanwhile (checked in the same step): the
    // continuation's plan then finds it superseded and goes to its summary, which ends nothing of the run's.
    await addRunExecution(source.redis, source.keys.prefix, settings.runId, itemContinuationName(item), settings.plannedAt, settings.plannedBy);
  }
  return named(settings, item);
}

/** The item at its loop cap, with the name its continuation is started under. */
function named(settings: PageInput['settings'], item: WorkItem): WorkItem {
  return { ...item, continueAs: continuationExecutionName(settings, 'item', itemContinuationName(item)) };
}

/**
 * A set handed on to an execution of its own (set-apart.ts), once the locks are held: added to the
 * run's executions, as announceContinuation does, and answered with a page receipt, so that a
 * retry of this task (its answer lost) answers the same and adds nothing twice. A retry after a
 * failure before the receipt adds the same execution again (idempotent) and hands on alike. No
 * job moved: earlier unanswered attempts of this input handed on too (the decision reads the input
 * alone), so none is counted as uncounted, and a failure takes this attempt's count back.
 */
async function handOnApart(input: PageInput, source: Connection, attempt: PageAttempt): Promise<WorkItem> {
  const { settings } = input;
  const answer = named(settings, handedApart(settings, input.item));
  try {
    await addRunExecution(source.redis, source.keys.prefix, settings.runId, itemContinuationName(answer), settings.plannedAt, settings.plannedBy);
  } catch (error) {
    await forgetPageAttempt(source.redis, source.keys.prefix, input, attempt.attempts);
    throw error;
  }
  await writePageReceipt(source.redis, source.keys.prefix, input, answer, attempt.attempts);
  return answer;
}

/**
 * The run's locks, which its execution took when it planned: renewed, only while they still name
 * the run (expired or not). Refused with RunStoppedError when the run was stopped (a page task
 * that starts after the execution was stopped moves nothing), with RunSupersededError when a later
 * start of the run holds them (the lock's plannedAt is later than this execution's), with
 * RunLockLostError when one is gone or another run's past its expiry (a stale task: another run
 * may have worked these keys meanwhile; it moves nothing and takes no lock), with RunLockedError
 * while another run holds one.
 */
async function holdLocks(settings: PageInput['settings'], connections: Connection[]): Promise<RunLock[]> {
  const holder = { runId: settings.runId, operation: settings.mode, ...generationOf(settings) };
  return Promise.all(connections.map((c) => RunLock.acquire(c.redis, c.keys.prefix, holder, RUN_LOCK_TTL_MS, c.name, { mustHold: true })));
}
