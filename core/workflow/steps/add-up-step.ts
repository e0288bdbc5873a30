import { censusProcesses } from '../../drain/live-processes.js';
import { RunLock } from '../../redis/run-lock.js';
import { SORTED_SET_NAMES } from '../../redis/sidekiq-keys.js';
import type { RerouteCounters } from '../../reroute/reroute-counters.js';
import { retireRunLedgers } from '../../transfer/retire-ledger.js';
import type { TransferCounters } from '../../transfer/transfer-counters.js';
import { DEFAULT_LEDGER_TTL_SECONDS } from '../../transfer/transfer-options.js';
import type { Connection, ConnectionProvider } from '../connections.js';
import { continuationExecutionName } from '../continuation-name.js';
import { addRunExecution, endRunExecution, itemContinuationName, listContinuationName, runExecutionsKey } from '../run-executions.js';
import { readFailedItemTrails } from '../page-receipt.js';
import { setGoesApart } from '../set-apart.js';
import { foldResults, OTHER_DESTINATIONS, TALLY_LIMITS, type RunTally, type Superseded } from '../run-tally.js';
import { laterStartThatFinished } from '../run-finish-record.js';
import type { ItemResult, RunSettings } from '../work-item.js';
import { BATCH_SIZE, BATCHES_PER_EXECUTION, readWork, type WorkState } from '../work-list.js';
import { routingOf } from './plan-step.js';

export interface AddUpInput {
  readonly settings: RunSettings;
  readonly work: WorkState;
  /** The Map's results for the batch just done: one small result per item. */
  readonly results: readonly ItemResult[];
}

/**
 * "Add up and list the next sets and queues": folds a batch's results into the execution's
 * bounded tally, retires the transfer ledgers of the items that ended, and reads the next batch
 * from the run's list — or, after BATCHES_PER_EXECUTION batches, hands the rest of the list to a
 * new execution (added to the run's executions first, like an item's continuation).
 */
export interface AddUpOptions {
  /**
   * The epoch ms by which a dry run's walk of the source's keyspace for its queue lists (readWork:
   * a dry run stores no list, and a process that has not got it lists again) must reach its end,
   * or stop the dry run with DryRunListTooLongError. The add-up runs in a task with its
   * function's timeout. Default: no bound.
   */
  readonly listUntil?: number;
  readonly clock?: () => number;
}

export async function addUpStep(input: AddUpInput, connections: ConnectionProvider, options: AddUpOptions = {}): Promise<WorkState> {
  const { settings, work } = input;
  // Superseded: the loop ends here, writing nothing, and the execution goes to its summary, which
  // says so and leaves the run alone. (Failing instead would make the execution-ended clean-up
  // judge it by its end, later than the later start's plan: it would stop that start.)
  const later = await superseded(settings, connections, input.results);
  if (later !== undefined) return { batch: [], next: null, more: false, batches: work.batches + 1, tally: { ...foldResults(structuredClone(work.tally), settings.mode, input.results), superseded: later } };
  const results = await whatFailedItemsLeft(input, connections);
  const tally = foldResults(structuredClone(work.tally), settings.mode, results);
  await retireEndedLedgers(input, connections);
  await keepUnheardUnnamed(tally, input, connections);
  const batches = work.batches + 1;
  if (work.next === null) return { batch: [], next: null, more: false, batches, tally };

  const source = await connections.get(settings.source);
  if (batches >= BATCHES_PER_EXECUTION) {
    if (!settings.dryRun) {
      // Checked and added in one step: a later start that planned since the look above ends the loop as it would have.
      const added = await addRunExecution(source.redis, source.keys.prefix, settings.runId, listContinuationName(work.next), settings.plannedAt, settings.plannedBy);
      if (added.supersededBy !== undefined) return { batch: [], next: null, more: false, batches, tally: { ...tally, superseded: await supersededAt(settings, source, added.supersededBy) } };
    }
    // Named here: the state machine starts it under this name, so that a retried start cannot start it twice.
    return { batch: [], next: work.next, more: false, batches, continueAt: work.next, continueAs: continuationExecutionName(settings, 'list', listContinuationName(work.next)), tally };
  }
  // A dry run lists again: it goes on after this batch's last item (readWork).
  const last = work.batch.at(-1);
  const after = settings.dryRun && last ? { kind: last.kind, name: last.name } : undefined;
  const listBound = { ...(options.listUntil === undefined ? {} : { until: options.listUntil }), ...(options.clock ? { clock: options.clock } : {}) };
  const next = await readWork(settings, source, await routingOf(settings, source), work.next, BATCH_SIZE, after, listBound);
  // Looked for again once the list is read: a later start that planned since the look above has
  // written the run's list anew, and what was read may be its items, never this execution's (their
  // page tasks refused, the summary listed them as failed). The later start takes the lock before
  // it writes its list, so a list read before this look shows it; one that plans after this look
  // leaves this batch this execution's own (its items read from its own list).
  const laterSinceRead = await superseded(settings, connections);
  if (laterSinceRead !== undefined) return { batch: [], next: null, more: false, batches, tally: { ...tally, superseded: laterSinceRead } };
  return { batch: next.items, next: next.next, more: next.items.length > 0, batches, tally };
}

/**
 * When the later start of the run that superseded this execution planned (undefined: none did; an old execution redriven after
 * `start --resume`): retiring ledgers the later execution still writes, reading its list, or adding
 * a continuation to its executions (which would keep its summary from ever being the last) are the
 * later execution's to do.
 */
async function superseded(settings: RunSettings, connections: ConnectionProvider, results: readonly ItemResult[] = []): Promise<Superseded | undefined> {
  if (settings.dryRun || settings.plannedAt === undefined) return undefined;
  const source = await connections.get(settings.source);
  const later = await RunLock.supersedingPlan(source.redis, source.keys.prefix, settings.runId, settings.plannedAt, settings.plannedBy);
  if (later) return { laterPlannedAt: later.plannedAt, ...(later.plannedBy !== undefined ? { laterPlannedBy: later.plannedBy } : {}) };
  if (!results.some((r) => r.error)) return undefined;
  // An item failed (its page found the lock gone): the later start may have ended the run since,
  // its lock released, and the lock no longer tells. Its finish record does. Not superseded, this
  // execution's summary found none of the run's executions left and took the run as its own to
  // end: `endedRun`, its finish record written over the later start's, "run the same command
  // again" over a run the later start had completed.
  return laterStartThatFinished(source.redis, source.keys.prefix, settings);
}

/** The later start a Lua step's refusal named by its plannedAt, with its execution's ARN while the lock names it (Superseded). */
async function supersededAt(settings: RunSettings, source: Connection, laterPlannedAt: number): Promise<Superseded> {
  const by = await RunLock.laterPlannedBy(source.redis, source.keys.prefix, settings.runId, laterPlannedAt);
  return { laterPlannedAt, ...(by !== undefined ? { laterPlannedBy: by } : {}) };
}

/**
 * What an item that failed here left behind that its failure does not say (the Catch keeps the
 * item the failed task was given, nothing of what it did):
 *
 * - the continuation its last task had added to the run's executions (an item at its loop cap:
 *   page-step.ts announceContinuation; a set handed on to an execution of its own: handOnApart)
 *   before it failed for good (its answer lost on every retry). The state machine starts a
 *   continuation only after a task's answer, so this one never started, and no execution would
 *   ever end it: the run was left with no last execution, its lock held until it expired, its list
 *   and records kept, and its summary's look at the source taken from an execution that ended
 *   while another still moved (`3 job(s) still in flight` over a run that had acknowledged every
 *   slice). Ended here, as the execution itself would have ended (endRunExecution, which leaves a
 *   later start's executions alone); the failure says so (`neverStarted`). An item's continuation
 *   is named by its item (itemContinuationName): no other execution of the run bears that name;
 * - the pages that failed task did: its receipt, when it wrote one, holds their counters (the
 *   summary said the item had written 10 where it had written 20), and attempts that never
 *   answered are counted as such (`uncountedAttempts`: the counts may be short).
 */
async function whatFailedItemsLeft(input: AddUpInput, connections: ConnectionProvider): Promise<readonly ItemResult[]> {
  const { settings, work } = input;
  // Each failed item as the batch gave it to the Map (its `continues`, which the failure does not carry).
  const failed = input.results.flatMap((result, i) => {
    const item = result.error ? work.batch.find((b) => b.kind === result.kind && b.name === result.name) : undefined;
    return item ? [{ i, result, item }] : [];
  });
  if (settings.dryRun || failed.length === 0) return input.results;
  const source = await connections.get(settings.source);
  const key = runExecutionsKey(source.keys.prefix, settings.runId);
  const trails = await readFailedItemTrails(source.redis, source.keys.prefix, settings, failed.map((f) => f.item));
  const results = [...input.results];
  for (const [k, { i, result, item }] of failed.entries()) {
    const trail = trails[k]!;
    let counters = result.counters;
    if (trail.answer && counters && progressOf(trail.answer.counters) > progressOf(counters)) counters = trail.answer.counters;
    // A set handed on (its only task here, set-apart.ts) moves no job: its attempts can have moved none.
    if (counters && trail.unanswered > 0 && !setGoesApart(settings, item)) counters = { ...counters, uncountedAttempts: (counters.uncountedAttempts ?? 0) + trail.unanswered };
    const name = itemContinuationName(item);
    let neverStarted = false;
    if ((await source.redis.hexists(key, name)) === 1) {
      const end = await endRunExecution(source.redis, source.keys.prefix, settings.runId, name, settings.plannedAt, settings.plannedBy);
      if ('supersededBy' in end) return input.results;
      neverStarted = true;
    }
    results[i] = { ...result, ...(counters ? { counters } : {}), ...(neverStarted ? { neverStarted: true as const } : {}) };
  }
  return results;
}

/**
 * How far an item's counters have got: the sum of their numbers, which each page only adds to.
 * A receipt later than the counters the failed task was given counts more.
 */
function progressOf(counters: RerouteCounters | TransferCounters): number {
  return Object.values(counters).reduce<number>((sum, v) => sum + (typeof v === 'number' ? v : 0), 0);
}

/**
 * A transfer's ledgers get their TTL once their item has ended with nothing of the run in flight
 * (retire-ledger.ts): before that, no TTL, so that no volatile-* eviction can take them. Usually
 * the end of the item's pass gave it already (retireBeforePassEnd); this is for a pass killed in between.
 *
 * Not guarded by the lock, and need not be: a later start (`start --resume`) may plan after this
 * execution's look for one (`superseded`, above) and write the same ledgers (they are the run's,
 * `<run>:ledger:<key>`) while this runs. The retirement is safe against any writer of the run, in
 * any interleaving with its three steps (look on the target, in-flight key on the source, retire
 * on the target, if unchanged): a batch claimed before the source's look and not acknowledged
 * makes it refuse; one claimed after it and copied before the retire changes the ledger (a new
 * entry), so the retire refuses; one copied after the retire takes the TTL off in the same step
 * as it records the batch (PERSIST). So a ledger never has a TTL while it records a batch in
 * flight: at worst one of the later start's, with only acknowledged batches, gets its TTL before
 * that start's own add-up would give it (test/redis/superseded-ledger-retire.test.ts).
 */
async function retireEndedLedgers(input: AddUpInput, connections: ConnectionProvider): Promise<void> {
  const { settings } = input;
  if (settings.mode !== 'transfer' || settings.dryRun || !settings.target) return;
  const keys = input.results.filter((r) => !r.continuedIn).map((r) => (r.kind === 'set' ? r.name : `queue:${r.name}`));
  if (keys.length === 0) return;
  const [source, target] = [await connections.get(settings.source), await connections.get(settings.target)];
  const context = { source: source.redis, target: target.redis, sourceKeys: source.keys, targetKeys: target.keys, runId: settings.runId };
  await retireRunLedgers(context, keys, DEFAULT_LEDGER_TTL_SECONDS);
}

/**
 * The totals name the first TALLY_LIMITS.destinations destinations; the rest are only counted,
 * so the summary cannot ask the live processes about them by name (it named the bucket itself a
 * queue nobody fetches from, in every move of a GitLab with a queue per worker). While the batch's
 * results still name them, those no live process fetches from now are kept by name for the
 * summary to check again. One census per batch, only when some destination went unnamed. (An
 * item names MAX_DESTINATIONS itself: what it counts under OTHER_DESTINATIONS goes unchecked.)
 */
async function keepUnheardUnnamed(tally: RunTally, input: AddUpInput, connections: ConnectionProvider): Promise<void> {
  const { settings } = input;
  const named = (settings.mode === 'reroute' ? (tally.totals as RerouteCounters).movedTo : (tally.totals as TransferCounters).writtenTo) ?? {};
  const unnamed = new Map<string, number>();
  for (const result of input.results) {
    if (result.continuedIn || !result.counters) continue;
    const to = (settings.mode === 'reroute' ? (result.counters as RerouteCounters).movedTo : (result.counters as TransferCounters).writtenTo) ?? {};
    for (const [queue, jobs] of Object.entries(to)) {
      // A transfer's set entries keep their set: `writtenTo` names it, and it is no queue.
      if (jobs > 0 && queue !== OTHER_DESTINATIONS && !(queue in named) && !(settings.mode === 'transfer' && (SORTED_SET_NAMES as readonly string[]).includes(queue))) unnamed.set(queue, (unnamed.get(queue) ?? 0) + jobs);
    }
  }
  if (unnamed.size === 0) return;
  const c = await connections.get(settings.mode === 'reroute' ? settings.source : settings.target!);
  const census = await censusProcesses(c.redis, c.keys, Date.now() / 1000);
  if (!census.processes.some((p) => p.live && !p.quiet)) return;
  const kept = (tally.unheard ??= {});
  for (const [queue, jobs] of unnamed) {
    // Heard only by processes not heard from: kept too, for the summary to say apart (unheardSilent).
    if ((census.beatingListeners.get(queue) ?? 0) > 0) continue;
    // Past the bound a few unheard queues go unnamed: the warning is given all the same.
    if (queue in kept || Object.keys(kept).length < TALLY_LIMITS.destinations) kept[queue] = (kept[queue] ?? 0) + jobs;
  }
}
