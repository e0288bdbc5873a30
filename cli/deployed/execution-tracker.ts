import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import type { ItemResult, WorkItem } from '../../core/workflow/work-item.js';
import { StateNames } from '../../infra/constructs/state-names.js';
import type { PlanNotes } from '../workflow/plan-notices.js';
import type { FailedAttempt } from '../workflow/retry-notice.js';
import { isTerminal, type ExecutionProgress, type ExecutionStatus, type ItemProgress } from './execution-progress.js';
import type { StepFunctions } from './step-functions.js';

const PAGE_STATES = new Set<string>([StateNames.rerouteSet, StateNames.rerouteQueue, StateNames.transferSet, StateNames.transferQueue]);
const END_EVENTS: Record<string, ExecutionStatus> = { ExecutionSucceeded: 'SUCCEEDED', ExecutionFailed: 'FAILED', ExecutionAborted: 'ABORTED', ExecutionTimedOut: 'TIMED_OUT' };

/** Events that schedule one attempt of a Task; a second one in the same state is a retry. */
const ATTEMPT_EVENTS = new Set(['LambdaFunctionScheduled', 'TaskScheduled']);
/** Events of an attempt that failed, and where their error is. */
const FAILED_ATTEMPT_EVENTS = ['LambdaFunctionFailed', 'LambdaFunctionTimedOut', 'TaskFailed', 'TaskTimedOut'] as const;
/** Distinct failed attempts kept for the notices: a failover failing every page of 10,000 queues must not grow the view. */
const MAX_FAILED_ATTEMPTS = 20;

/** Where an execution's history has been read up to, and what it said. */
interface Reading {
  readonly arn: string;
  lastEventId: number;
  status?: ExecutionStatus;
  attemptsInState: number;
  /** The Task state the execution is in, for the failed attempts' notices. */
  task?: string;
}

/** An execution of the migration state machine: the root, or one a work item continued in. */
interface ChainExecution extends Reading {
  state?: string;
  startedAt?: Date;
  stoppedAt?: Date;
  /**
   * The Distributed Map's runs, one per batch of items, in order: `ended` once the root's history
   * shows the run's end, `settled` once its children were listed after that and all had ended.
   */
  readonly mapRuns: Map<string, { ended: boolean; settled: boolean }>;
  currentMapRun?: string;
  /** The Distributed Map's child executions, one per work item. */
  readonly children: Map<string, Reading>;
  output?: RunSummary;
  error?: string;
}

interface TrackedItem {
  progress: ItemProgress;
  first?: { at: number; seen: number };
}

/**
 * Follows one run on Step Functions: the root execution, the Distributed Map's child executions
 * (one per set or queue) and the executions items continued in (continue-as-new), reading only
 * new history events at each poll. It turns them into an ExecutionProgress; it never writes.
 *
 * Calls per poll: one history read per running execution (plan, map children, continuations)
 * and one listing per map run (one per batch of items) not yet read to its end; finished
 * executions and map runs are read to their end once. The rest of a long list continued in a new
 * execution ("Continue the list in a new execution") is followed like an item's continuation.
 */
export class ExecutionTracker {
  private readonly chain = new Map<string, ChainExecution>();
  private readonly items = new Map<string, TrackedItem>();
  private runId?: string;
  private mode?: 'reroute' | 'transfer';
  private dryRun?: boolean;
  private selective = false;
  private retries = 0;
  private planned?: ExecutionProgress['planned'];
  private planNotes?: PlanNotes;
  private readonly failedAttempts = new Map<string, FailedAttempt>();

  constructor(
    private readonly sfn: StepFunctions,
    readonly executionArn: string,
  ) {
    this.chain.set(executionArn, newChainExecution(executionArn));
  }

  /** Reads what is new and returns the progress. */
  async poll(): Promise<ExecutionProgress> {
    // New continuations are added while iterating: Map iteration visits them in the same poll.
    for (const execution of this.chain.values()) {
      if (this.settled(execution)) continue;
      await this.readExecution(execution);
    }
    return this.progress();
  }

  private settled(execution: ChainExecution): boolean {
    return isTerminal(execution.status) && [...execution.mapRuns.values()].every((run) => run.settled);
  }

  private async readExecution(execution: ChainExecution): Promise<void> {
    for (const event of await this.sfn.eventsAfter(execution.arn, execution.lastEventId)) {
      execution.lastEventId = event.id ?? execution.lastEventId;
      this.applyRootEvent(execution, event);
    }
    for (const [mapRunArn, run] of execution.mapRuns) {
      if (run.settled) continue;
      // Ended: its end is in the root's history, or the root itself has ended (stopped mid-batch).
      const ended = run.ended || isTerminal(execution.status);
      let allEnded = true;
      // Status first, then events: a child that had ended when listed is read to its very end.
      for (const listed of await this.sfn.listExecutions({ mapRunArn })) {
        const arn = listed.executionArn!;
        let child = execution.children.get(arn);
        const status = listed.status as ExecutionStatus;
        // Ended and read to its end, unless redriven since (running again under the same ARN).
        if (child && isTerminal(child.status) && isTerminal(status)) continue;
        child ??= { arn, lastEventId: 0, attemptsInState: 0 };
        execution.children.set(arn, child);
        for (const event of await this.sfn.eventsAfter(arn, child.lastEventId)) {
          child.lastEventId = event.id ?? child.lastEventId;
          this.applyItemEvent(child, event);
        }
        child.status = status;
        allEnded &&= isTerminal(status);
      }
      // A batch's map run is read no more once it had ended when its children were listed.
      run.settled = ended && allEnded;
    }
  }

  private applyRootEvent(execution: ChainExecution, event: HistoryEvent): void {
    const type = event.type ?? '';
    this.countAttempt(execution, event);
    if (type === 'ExecutionStarted') {
      execution.startedAt = event.timestamp;
      this.learnSettings(parse(event.executionStartedEventDetails?.input));
    } else if (type.endsWith('StateEntered')) {
      execution.state = event.stateEnteredEventDetails?.name;
    } else if (type === 'TaskStateExited' && (event.stateExitedEventDetails?.name === StateNames.plan || event.stateExitedEventDetails?.name === StateNames.addUp)) {
      const output = parse(event.stateExitedEventDetails.output) as { plan?: PlanNotes & { itemCount?: number; plannedJobs?: number; settings?: SelectiveSettings; work?: { batch?: WorkItem[] } } } | undefined;
      this.learnSelection(output?.plan?.settings);
      // The root's plan is the run's: a continued execution's plan lists only what it continues.
      if (event.stateExitedEventDetails.name === StateNames.plan && execution.arn === this.executionArn && output?.plan?.itemCount !== undefined) {
        this.planned = { items: output.plan.itemCount, ...(output.plan.plannedJobs === undefined ? {} : { jobs: output.plan.plannedJobs }) };
      }
      if (event.stateExitedEventDetails.name === StateNames.plan && execution.arn === this.executionArn && output?.plan) {
        const { memoryPolicies, cron, otherPrefixes, iterableStates, settings } = output.plan;
        this.planNotes = {
          ...(memoryPolicies ? { memoryPolicies } : {}),
          ...(cron ? { cron } : {}),
          ...(otherPrefixes ? { otherPrefixes } : {}),
          ...(iterableStates ? { iterableStates } : {}),
          ...(settings?.dryRun ? { settings: { dryRun: true } } : {}),
        };
      }
      for (const item of output?.plan?.work?.batch ?? []) this.update(item, event);
    } else if (type === 'MapRunStarted') {
      const arn = event.mapRunStartedEventDetails?.mapRunArn;
      if (arn) {
        execution.mapRuns.set(arn, { ended: false, settled: false });
        execution.currentMapRun = arn;
      }
    } else if (type === 'MapRunRedriven') {
      // The parent's redrive goes on with the map run it stopped in: read its children again.
      const arn = event.mapRunRedrivenEventDetails?.mapRunArn ?? execution.currentMapRun;
      const run = arn ? execution.mapRuns.get(arn) : undefined;
      if (arn && run) {
        run.ended = false;
        run.settled = false;
        execution.currentMapRun = arn;
      }
    } else if (type === 'ExecutionRedriven') {
      // RedriveExecution (the console's "Redrive"): the same execution runs again from the state
      // it ended in, and its earlier end no longer holds.
      execution.status = undefined;
      execution.stoppedAt = undefined;
      execution.error = undefined;
      execution.output = undefined;
    } else if (type === 'MapRunSucceeded' || type === 'MapRunFailed' || type === 'MapRunAborted') {
      const run = execution.currentMapRun ? execution.mapRuns.get(execution.currentMapRun) : undefined;
      if (run) run.ended = true;
    } else if (
      (type === 'TaskStateExited' && event.stateExitedEventDetails?.name === StateNames.continueList) ||
      (type === 'PassStateExited' && event.stateExitedEventDetails?.name === StateNames.listContinuationStartedEarlier)
    ) {
      // The rest of the run's list continues in a new execution (started by this attempt, or by an
      // earlier one whose answer was lost: its name taken, the Pass says which): follow it too.
      const output = parse(event.stateExitedEventDetails.output) as { plan?: { listContinuedIn?: { executionArn?: string } } } | undefined;
      const arn = output?.plan?.listContinuedIn?.executionArn;
      if (arn && !this.chain.has(arn)) this.chain.set(arn, newChainExecution(arn));
    } else if (type in END_EVENTS) {
      execution.status = END_EVENTS[type];
      execution.stoppedAt = event.timestamp;
      execution.state = undefined;
      if (type === 'ExecutionSucceeded') execution.output = parse(event.executionSucceededEventDetails?.output) as RunSummary | undefined;
      const details = event.executionFailedEventDetails ?? event.executionAbortedEventDetails ?? event.executionTimedOutEventDetails;
      if (type !== 'ExecutionSucceeded') execution.error = describeError(END_EVENTS[type]!, details?.error, details?.cause);
    }
  }

  private applyItemEvent(child: Reading, event: HistoryEvent): void {
    const type = event.type ?? '';
    this.countAttempt(child, event);
    if (type === 'ExecutionStarted') {
      const input = parse(event.executionStartedEventDetails?.input) as { item?: WorkItem; settings?: SelectiveSettings } | undefined;
      this.learnSelection(input?.settings);
      if (input?.item) this.update(input.item, event, true);
    } else if (type === 'TaskStateExited' && PAGE_STATES.has(event.stateExitedEventDetails?.name ?? '')) {
      const output = parse(event.stateExitedEventDetails?.output) as { item?: WorkItem } | undefined;
      if (output?.item) this.update(output.item, event);
    } else if (type === 'PassStateExited') {
      const name = event.stateExitedEventDetails?.name;
      const result = parse(event.stateExitedEventDetails?.output) as ItemResult | undefined;
      if (!result) return;
      if (name === StateNames.itemFinished) this.finish(result, { done: true });
      else if (name === StateNames.itemFailed) this.finish(result, { failed: describeError('failed', result.error?.Error, result.error?.Cause) });
      else if (name === StateNames.itemContinued && result.continuedIn && !this.chain.has(result.continuedIn)) {
        this.chain.set(result.continuedIn, newChainExecution(result.continuedIn));
      }
    }
  }

  /** A second attempt scheduled in the same Task state is a retry; a failed attempt is kept for its notice. */
  private countAttempt(reading: Reading, event: HistoryEvent): void {
    const type = event.type ?? '';
    if (type === 'TaskStateEntered') {
      reading.attemptsInState = 0;
      reading.task = event.stateEnteredEventDetails?.name;
    } else if (ATTEMPT_EVENTS.has(type) && reading.attemptsInState++ > 0) this.retries++;
    const failed = failedAttemptOf(event);
    if (failed && reading.task && this.failedAttempts.size < MAX_FAILED_ATTEMPTS) {
      const attempt = { state: reading.task, ...failed };
      this.failedAttempts.set(`${attempt.state}\n${attempt.message}`, attempt);
    }
  }

  private learnSettings(input: unknown): void {
    const i = input as { runId?: string; mode?: 'reroute' | 'transfer'; dryRun?: boolean; classes?: unknown; continuation?: { settings?: { runId?: string; mode?: 'reroute' | 'transfer'; dryRun?: boolean } & SelectiveSettings } } | undefined;
    const settings = i?.continuation?.settings ?? i;
    // The root's input names the classes; a continuation carries the plan's settings.
    if (i?.classes !== undefined) this.selective = true;
    this.learnSelection(i?.continuation?.settings);
    this.runId ??= settings?.runId;
    this.mode ??= settings?.mode;
    this.dryRun ??= settings?.dryRun ?? (settings ? false : undefined);
  }

  /** A run's settings say it is selective: `selected` (stored classes) or `inlineClasses` (a dry run). */
  private learnSelection(settings: SelectiveSettings | undefined): void {
    if (settings?.selected || settings?.inlineClasses) this.selective = true;
  }

  /**
   * Counters only grow: an older view of an item (the plan's, a late event) never replaces a newer
   * one. The rate is measured from when the item's first execution started working on it.
   */
  private update(item: WorkItem, event: HistoryEvent, started = false): void {
    const key = `${item.kind}:${item.name}`;
    const c = item.counters as unknown as Record<string, number>;
    // A selective transfer examines every job and claims few: its progress is what it examined.
    const seen = c['scanned'] ?? c['examined'] ?? c['claimed'] ?? 0;
    const moved = c['moved'] ?? c['written'] ?? 0;
    const at = event.timestamp?.getTime() ?? 0;
    const tracked = this.items.get(key) ?? { progress: { kind: item.kind, name: item.name, seen, moved, done: false } };
    if (started) tracked.first ??= { at, seen };
    if (seen >= tracked.progress.seen) {
      const elapsed = tracked.first ? (at - tracked.first.at) / 1000 : 0;
      const total = item.total ?? tracked.progress.total;
      tracked.progress = {
        ...tracked.progress,
        ...(total === undefined ? {} : { total }),
        seen,
        moved,
        done: item.done || tracked.progress.done,
        ...(elapsed > 0 ? { rate: (seen - tracked.first!.seen) / elapsed } : {}),
      };
    }
    this.items.set(key, tracked);
  }

  private finish(result: ItemResult, how: { done?: boolean; failed?: string }): void {
    const key = `${result.kind}:${result.name}`;
    const tracked = this.items.get(key) ?? { progress: { kind: result.kind, name: result.name, seen: 0, moved: 0, done: false } };
    tracked.progress = { ...tracked.progress, ...(how.done ? { done: true } : {}), ...(how.failed ? { failed: how.failed } : {}) };
    this.items.set(key, tracked);
  }

  private progress(): ExecutionProgress {
    const chain = [...this.chain.values()];
    const finished = chain.every((e) => this.settled(e));
    const running = chain.filter((e) => !isTerminal(e.status));
    const failedOne = chain.find((e) => isTerminal(e.status) && e.status !== 'SUCCEEDED');
    const status: ExecutionStatus = !finished ? 'RUNNING' : (failedOne?.status ?? 'SUCCEEDED');
    const root = chain[0]!;
    const stoppedAt = finished ? chain.map((e) => e.stoppedAt).reduce<Date | undefined>((a, b) => (b && (!a || b > a) ? b : a), undefined) : undefined;
    const state = running.at(-1)?.state;
    return {
      executionArn: this.executionArn,
      ...(this.runId ? { runId: this.runId } : {}),
      ...(this.mode ? { mode: this.mode } : {}),
      ...(this.dryRun === undefined ? {} : { dryRun: this.dryRun }),
      status,
      ...(state ? { state } : {}),
      ...(root.startedAt ? { startedAt: root.startedAt } : {}),
      ...(stoppedAt ? { stoppedAt } : {}),
      items: [...this.items.values()].map((t) => t.progress),
      ...(this.planned ? { planned: this.planned } : {}),
      ...(this.planNotes ? { planNotes: this.planNotes } : {}),
      // The plan counts the source's jobs, not the selected ones: the selected total is not known here.
      ...(this.selective ? { selection: {} } : {}),
      retries: this.retries,
      failedAttempts: [...this.failedAttempts.values()],
      executions: chain.map((e) => ({ executionArn: e.arn, status: e.status ?? 'RUNNING' })),
      errors: chain.flatMap((e) => (e.error ? [e.error] : [])),
      finished,
      ...(finished ? this.summary(chain) : {}),
    };
  }

  /** The chain's summaries combined, with every execution that did not succeed listed as a failure. */
  private summary(chain: ChainExecution[]): { summary?: RunSummary } {
    const succeeded = chain.filter((e) => e.output !== undefined).map((e) => ({ executionArn: e.arn, summary: e.output! }));
    if (succeeded.length === 0) return {};
    const summary = combineSummaries(succeeded);
    for (const e of chain) if (e.status !== 'SUCCEEDED') summary.failures.push({ kind: 'execution', name: e.arn, error: e.error ?? e.status ?? 'unknown' });
    return { summary: { ...summary, complete: summary.complete && chain.every((e) => e.status === 'SUCCEEDED') } };
  }
}

/** What of a run's settings says it carries selected classes only (core/workflow/steps/plan-step.ts). */
interface SelectiveSettings {
  readonly selected?: boolean;
  readonly inlineClasses?: readonly string[];
}

function newChainExecution(arn: string): ChainExecution {
  return { arn, lastEventId: 0, attemptsInState: 0, children: new Map(), mapRuns: new Map() };
}

/** The error of a failed Task attempt: a Lambda's cause is the runtime's JSON of its error. */
function failedAttemptOf(event: HistoryEvent): Omit<FailedAttempt, 'state'> | undefined {
  const type = FAILED_ATTEMPT_EVENTS.find((t) => t === event.type);
  if (!type) return undefined;
  const details = {
    LambdaFunctionFailed: event.lambdaFunctionFailedEventDetails,
    LambdaFunctionTimedOut: event.lambdaFunctionTimedOutEventDetails,
    TaskFailed: event.taskFailedEventDetails,
    TaskTimedOut: event.taskTimedOutEventDetails,
  }[type];
  if (!details?.error) return undefined;
  const cause = parse(details.cause) as { errorMessage?: unknown } | undefined;
  const message = typeof cause?.errorMessage === 'string' ? cause.errorMessage : details.cause || details.error;
  return { error: details.error, message };
}

function parse(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An error and its cause as one line; a Lambda's cause is JSON with errorMessage. */
function describeError(what: string, error: string | undefined, cause: string | undefined): string {
  let message = cause ?? '';
  const parsed = parse(message) as { errorMessage?: string } | undefined;
  if (parsed?.errorMessage) message = parsed.errorMessage;
  return `${error ?? what}${message ? `: ${message}` : ''}`;
}
