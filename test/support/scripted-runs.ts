import { addCounters, emptyCounters, type RerouteCounters } from '../../core/reroute/reroute-counters.js';
import { addTransferCounters, emptyTransferCounters, type TransferCounters } from '../../core/transfer/transfer-counters.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import { StateNames } from '../../infra/constructs/state-names.js';
import { STATE_MACHINE_ARN, type FakeStepFunctions, type ScriptedEvent } from './fake-step-functions.js';

/** A set or queue in a scripted run: its size and the counters after each page. */
export interface ScriptedItem {
  readonly kind: 'set' | 'queue';
  readonly name: string;
  readonly total: number;
  /** Cumulative [scanned, moved] after each page; one page per tick. */
  readonly pages: readonly (readonly [number, number])[];
  /** Failed attempts Step Functions retries before the first page succeeds. */
  readonly retries?: number;
  /** After its pages, the item fails for good with this message. */
  readonly failsWith?: string;
  /** After this many pages, the item continues in a new execution (continue-as-new). */
  readonly continueAfter?: number;
}

export interface ScriptedRun {
  readonly runId: string;
  readonly items: readonly ScriptedItem[];
  /** The plan fails (bad input, lock held): the execution fails at once. */
  readonly planFails?: { readonly error: string; readonly message: string };
  /** The summary step fails after the items ran (a write refused): the execution fails then. */
  readonly summaryFails?: { readonly error: string; readonly message: string };
  /** The execution runs past its state machine's TimeoutSeconds once its items ran: it ends TIMED_OUT, before its summary. */
  readonly timesOut?: boolean;
  readonly dryRun?: boolean;
  /**
   * A selective transfer (its plan's settings say `selected`) instead of a re-route: items' pages
   * are cumulative [examined, written].
   */
  readonly selective?: boolean;
  /** The jobs the plan counted on the source (every job there, selected or not), when it says. */
  readonly plannedJobs?: number;
  /** What else the root's plan output says (memoryPolicies, cron, otherPrefixes: the CLI's notices). */
  readonly planNotes?: Record<string, unknown>;
  /** Totals of the Summarize output besides the items' (a transfer's leftOnSource, say). */
  readonly extraTotals?: Record<string, number>;
  /** More of the Summarize output of the chain's last execution (the one no item continued from). */
  readonly lastSummary?: Partial<RunSummary>;
  /** More of the Summarize output of the root execution (the one the run started with), after lastSummary's. */
  readonly rootSummary?: Partial<RunSummary>;
}

type Counters = RerouteCounters | TransferCounters;

const executionArn = (name: string) => `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
const lambdaCause = (message: string, name = 'FatalError') => JSON.stringify({ errorType: name, errorMessage: message });

function counters(run: ScriptedRun, scanned: number, moved: number): Counters {
  if (run.selective) return { ...emptyTransferCounters(), examined: scanned, claimed: moved, written: moved, writtenTo: moved > 0 ? { 'queue:default': moved } : {} };
  return { ...emptyCounters(), scanned, moved, alreadyRouted: scanned - moved, movedTo: moved > 0 ? { new_queue: moved } : {} };
}

function workItem(run: ScriptedRun, item: ScriptedItem, page: number, done: boolean): WorkItem {
  const [scanned, moved] = page === 0 ? [0, 0] : item.pages[page - 1]!;
  return { kind: item.kind, name: item.name, cursor: done ? '0' : String(page), total: item.total, done, iteration: page, counters: counters(run, scanned, moved) } as WorkItem;
}

/**
 * Scripts a re-route run on the fake: the root execution's plan and Distributed Map, one child
 * execution per item paging tick by tick (with retries, a final failure or a continuation in a
 * new execution, as asked), and the Summarize output the real state machine would produce.
 * The root's ExecutionStarted is already there when `start` created it; otherwise it is added.
 */
export function scriptRun(fake: FakeStepFunctions, run: ScriptedRun, options: { name?: string; startTick?: number } = {}): string {
  const arn = executionArn(options.name ?? run.runId);
  const t0 = options.startTick ?? fake.tick;
  const settings = run.selective
    ? { runId: run.runId, mode: 'transfer', source: 'source', target: 'target', dryRun: run.dryRun ?? false, pageSize: 1000, maxIterations: 1000, routed: false, selected: true }
    : { runId: run.runId, mode: 'reroute', source: 'source', dryRun: run.dryRun ?? false, pageSize: 1000, maxIterations: 1000, routed: true };
  const input = JSON.stringify(
    run.selective
      ? { runId: run.runId, mode: 'transfer', classes: ['MovingWorker'], dryRun: run.dryRun ?? false }
      : { runId: run.runId, mode: 'reroute', routing: { kind: 'renames', renames: { old: 'new_queue' } }, dryRun: run.dryRun ?? false },
  );
  return scriptExecution(fake, arn, input, settings, run, run.items, t0);
}

function scriptExecution(fake: FakeStepFunctions, arn: string, input: string, settings: Record<string, unknown>, run: ScriptedRun, items: readonly ScriptedItem[], t0: number, startPage = 0): string {
  const pageState = run.selective ? StateNames.transferQueue : StateNames.rerouteQueue;
  const planItems = items.map((item) => workItem(run, item, startPage, false));
  const root: ScriptedEvent[][] = [[{ type: 'ExecutionStarted', executionStartedEventDetails: { input } }, ...task(StateNames.plan)]];
  if (run.planFails) {
    root[0]!.splice(-1, 1, { type: 'LambdaFunctionFailed', lambdaFunctionFailedEventDetails: { error: run.planFails.error, cause: lambdaCause(run.planFails.message, run.planFails.error) } });
    root[0]!.push({ type: 'FailStateEntered', stateEnteredEventDetails: { name: 'Could not plan the migration' } }, { type: 'ExecutionFailed', executionFailedEventDetails: { error: run.planFails.error, cause: lambdaCause(run.planFails.message, run.planFails.error) } });
    fake.add(arn, input, root, { startTick: t0 });
    return arn;
  }
  const mapRunArn = `${arn.replace(':execution:', ':mapRun:')}/${StateNames.eachItem.replace(/ /g, '')}:0001`;
  root[0]!.push(exited('TaskStateExited', StateNames.plan, { plan: { settings, ...(run.plannedJobs !== undefined && startPage === 0 ? { itemCount: items.length, plannedJobs: run.plannedJobs } : {}), ...(startPage === 0 ? run.planNotes : {}), work: { batch: planItems } } }), { type: 'MapStateEntered', stateEnteredEventDetails: { name: StateNames.eachItem } }, { type: 'MapRunStarted', mapRunStartedEventDetails: { mapRunArn } });

  const results: { item: ScriptedItem; result: Record<string, unknown>; counters: Counters }[] = [];
  let lastTick = t0 + 1;
  items.forEach((item, index) => {
    const childArn = `${arn.replace(':execution:', ':execution:')}/${index}`;
    const steps: ScriptedEvent[][] = [[{ type: 'ExecutionStarted', executionStartedEventDetails: { input: JSON.stringify({ settings, item: workItem(run, item, startPage, false) }) } }]];
    const lastPage = item.continueAfter !== undefined && startPage === 0 ? item.continueAfter : item.pages.length;
    for (let page = startPage + 1; page <= lastPage; page++) {
      const done = page === item.pages.length && !item.failsWith;
      const step = task(pageState, page === startPage + 1 ? (item.retries ?? 0) : 0);
      step.push(exited('TaskStateExited', pageState, { settings, item: workItem(run, item, page, done) }));
      steps.push(step);
    }
    const final = workItem(run, item, lastPage, true);
    let result: Record<string, unknown>;
    const end: ScriptedEvent[] = [];
    if (item.failsWith) {
      const error = { Error: 'FatalError', Cause: lambdaCause(item.failsWith) };
      end.push(...task(pageState, 0, error));
      result = { kind: item.kind, name: item.name, counters: final.counters, error };
      end.push(exited('PassStateExited', StateNames.itemFailed, result));
    } else if (lastPage < item.pages.length) {
      const continuation = `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:cont-${index}-${run.runId}`.slice(0, 200);
      end.push({ type: 'TaskStateEntered', stateEnteredEventDetails: { name: StateNames.continueAsNew } }, { type: 'TaskScheduled' }, { type: 'TaskSucceeded' });
      result = { kind: item.kind, name: item.name, counters: workItem(run, item, lastPage, false).counters, continuedIn: continuation };
      end.push(exited('PassStateExited', StateNames.itemContinued, result));
      const contInput = JSON.stringify({ continuation: { settings, item: workItem(run, item, lastPage, false), from: arn } });
      scriptExecution(fake, continuation, contInput, settings, run, [item], t0 + 1 + steps.length, lastPage);
    } else {
      result = { kind: item.kind, name: item.name, counters: final.counters, done: true };
      end.push(exited('PassStateExited', StateNames.itemFinished, result));
    }
    end.push({ type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: JSON.stringify(result) } });
    steps.push(end);
    fake.add(childArn, JSON.stringify({ settings, item: workItem(run, item, startPage, false) }), steps, { mapRunArn, startTick: t0 + 1 });
    lastTick = Math.max(lastTick, t0 + 1 + steps.length - 1);
    results.push({ item, result, counters: result['counters'] as Counters });
  });

  const summary = summaryOf(run, results, startPage === 0);
  const failed = run.summaryFails;
  const ending: ScriptedEvent[] = run.timesOut
    ? [{ type: 'MapRunSucceeded' }, { type: 'ExecutionTimedOut', executionTimedOutEventDetails: { error: 'States.Timeout', cause: 'The execution ran longer than the specified timeout.' } }]
    : failed
    ? [
        { type: 'MapRunSucceeded' },
        ...task(StateNames.summarize, 0, { Error: failed.error, Cause: lambdaCause(failed.message, failed.error) }),
        { type: 'FailStateEntered', stateEnteredEventDetails: { name: 'Migration failed' } },
        { type: 'ExecutionFailed', executionFailedEventDetails: { error: failed.error, cause: lambdaCause(failed.message, failed.error) } },
      ]
    : [{ type: 'MapRunSucceeded' }, ...task(StateNames.summarize), exited('TaskStateExited', StateNames.summarize, summary), { type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: JSON.stringify(summary) } }];
  while (root.length < lastTick - t0 + 1) root.push([]);
  root.push(ending);
  fake.add(arn, input, root, { startTick: t0 });
  return arn;
}

function summaryOf(run: ScriptedRun, results: { item: ScriptedItem; result: Record<string, unknown>; counters: Counters }[], root: boolean): RunSummary {
  const totals = run.selective ? emptyTransferCounters() : emptyCounters();
  const sets: RunSummary['sets'] = {};
  const queues: RunSummary['queues'] = {};
  const failures: RunSummary['failures'] = [];
  const continuedIn: RunSummary['continuedIn'] = [];
  const counts = { finished: 0, failed: 0, continued: 0 };
  // As "Add up…" counts: an item that continued elsewhere is counted where it ends.
  for (const { item, result, counters: c } of results) {
    if (result['continuedIn']) {
      continuedIn.push({ kind: item.kind, name: item.name, execution: result['continuedIn'] as string });
      counts.continued++;
      continue;
    }
    (item.kind === 'set' ? sets : queues)[item.name] = c;
    if (run.selective) addTransferCounters(totals as TransferCounters, c as TransferCounters);
    else addCounters(totals as RerouteCounters, c as RerouteCounters);
    if (result['error']) {
      failures.push({ kind: item.kind, name: item.name, error: `FatalError: ${item.failsWith}` });
      counts.failed++;
    } else counts.finished++;
  }
  Object.assign(totals, run.extraTotals);
  const last = continuedIn.length === 0 ? run.lastSummary : undefined;
  return { runId: run.runId, mode: run.selective ? 'transfer' : 'reroute', dryRun: run.dryRun ?? false, sets, queues, totals, counts, failures, continuedIn, complete: failures.length === 0 && continuedIn.length === 0, ...last, ...(root ? run.rootSummary : undefined) };
}

/** A Task state as Lambda-backed tasks record it: entered, attempts (failing `retries` times), and (unless it fails) success. */
function task(name: string, retries = 0, failure?: { Error: string; Cause: string }): ScriptedEvent[] {
  const events: ScriptedEvent[] = [{ type: 'TaskStateEntered', stateEnteredEventDetails: { name } }];
  for (let i = 0; i < retries; i++) {
    events.push({ type: 'LambdaFunctionScheduled' }, { type: 'LambdaFunctionFailed', lambdaFunctionFailedEventDetails: { error: 'RetryableError', cause: lambdaCause('Redis connection lost', 'RetryableError') } });
  }
  events.push({ type: 'LambdaFunctionScheduled' });
  events.push(failure ? { type: 'LambdaFunctionFailed', lambdaFunctionFailedEventDetails: { error: failure.Error, cause: failure.Cause } } : { type: 'LambdaFunctionSucceeded' });
  return events;
}

function exited(type: string, name: string, output: unknown): ScriptedEvent {
  return { type, stateExitedEventDetails: { name, output: JSON.stringify(output) } };
}
