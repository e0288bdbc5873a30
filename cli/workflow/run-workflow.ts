import { InputError } from '../../core/errors/input-error.js';
import { isDryRunListTooLong } from '../../core/errors/dry-run-list-too-long-error.js';
import { FatalError } from '../../core/errors/sidekiq-migrate-error.js';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import type { PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { TaskErrorNames } from '../../functions/support/task-error.js';
import { StateNames } from '../../infra/constructs/state-names.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import type { CliIo } from '../cli-io.js';
import { ExitCode } from '../exit-codes.js';
import { checkExecutionInputSize } from './execution-input-size.js';
import { cleanUpFailedNotice } from './clean-up-failed.js';
import { failedAfterPlan } from './failed-after-plan.js';
import { cronLeftClause } from './cron-notice.js';
import { planNotice } from './plan-notices.js';
import { Progress, type SeenItem } from './progress.js';
import { screenWidth } from './fit.js';
import { isStoppedFailure, stopOnInterrupt } from './stop-on-interrupt.js';
import { renderSummary, summaryVerdict } from './render-summary.js';
import { retryNotice } from './retry-notice.js';
import { uncountedMoves } from './uncounted-moves.js';
import { localExecutionEnded } from './task-handlers.js';

export interface WorkflowRun {
  readonly input: Record<string, unknown>;
  readonly connections: ConnectionProvider;
  readonly handlers: LocalHandlers;
  readonly io: CliIo;
  readonly json: boolean;
  /** Every set and queue in the summary, not only the largest. */
  readonly verbose?: boolean;
  /** How the endpoint(s) are shown: redacted URLs. */
  readonly endpoint: string;
  /** A transfer's source alone, as `endpoint` shows it (SummaryView's). */
  readonly source?: string;
  /** A selective move's selected jobs, counted by its plan: the progress total. */
  readonly selectedJobs?: number;
  /**
   * Said on stdout once the plan step succeeded (a selective move's plan per class): a plan that
   * refuses (exit 2) leaves its message alone, and "N to move" is never said of a run that moves nothing.
   */
  readonly oncePlanned?: string;
  /** More members of the --json summary object (a selective move's plan). */
  readonly extra?: Record<string, unknown>;
  /** A rollback: its unmapped jobs are those it cannot put back (SummaryView's). */
  readonly rollback?: boolean;
  /** Another local definition than the generated one (tests: one given an execution timeout). */
  readonly definition?: Record<string, unknown>;
  /** The run resumes one whose process died (choose-run-id.ts): its counts are this command's only. */
  readonly resumes?: boolean;
  /** Tests: the wait before a failed step's retry instead of the definition's backoff (CliContext's). */
  readonly retryIntervalMs?: number | undefined;
}

/**
 * Runs the migration state machine locally — the same definition a deployment runs — follows the
 * executions it continues in, prints the combined summary (human or one JSON object) and returns
 * the exit code: 0 only when everything that could be moved was moved.
 */
export async function runWorkflowFromCli(run: WorkflowRun): Promise<number> {
  checkExecutionInputSize(run.input);
  // Quiet with --json, but still keeping every item's counters for the summary.
  const progress = new Progress(run.io, run.json, Date.now, run.selectedJobs);
  // Notices go above the progress view, which is drawn again below them.
  const noticeIo: CliIo = { out: (t) => run.io.out(t), err: (t) => progress.notice(t), interactive: run.io.interactive };
  const notice = planNotice(noticeIo, { json: run.json, mode: run.input['mode'] === 'transfer' ? 'transfer' : 'reroute' });
  const retrying = retryNotice(noticeIo);
  let planned = false;
  let memoryPolicies: PlanOutput['memoryPolicies'];
  // Said on stderr by the plan's notices; --json carries it too, so that a script reading stdout alone sees it.
  let iterableStates: PlanOutput['iterableStates'];
  // Definitions a carry or rewrite left unread: the verdict says so, and the exit is not 0.
  let cron: PlanOutput['cron'];
  const onEvent: typeof notice = (execution, event) => {
    // Its output has the plan only when it succeeded: a plan that failed exits too, caught.
    const plan = event.type === 'StateExited' && event.state?.name === StateNames.plan ? (event.state as { output?: { plan?: PlanOutput } }).output?.plan : undefined;
    if (plan) {
      if (!planned && run.oncePlanned !== undefined) run.io.out(run.oncePlanned);
      planned = true;
      memoryPolicies ??= plan.memoryPolicies;
      iterableStates ??= plan.iterableStates;
      cron ??= plan.cron;
    }
    notice(execution, event);
    retrying(execution, event);
    progress.onEvent(execution, event);
  };
  const interrupt = stopOnInterrupt(run, noticeIo, () => planned);
  // A failed execution is cleaned up as the execution-ended rule does on AWS (its lock released at once).
  const executions = await runWorkflowLocally(run.input, run.handlers, { onEvent, executionEnded: localExecutionEnded(run.connections), retryIntervalMs: run.retryIntervalMs, ...(run.definition ? { definition: run.definition } : {}) }).finally(interrupt.remove);
  const first = executions[0]!;
  const cleanUpFailed = cleanUpFailedNotice(executions, run.endpoint);
  if (first.error) {
    // Before its plan ended (bad input, a lock held by another run, Redis unreachable) nothing
    // moved; after it (an add-up or summary step that failed), its pages may have.
    if (first.error.name === 'InvalidInputError') throw new InputError(first.error.message);
    // A transient error that outlasted the retries (retry-notice.ts said when they began). A
    // transfer's plan finishes what interrupted runs left in flight first: some of that may be done.
    if (first.error.name === TaskErrorNames.retryable && !planned) {
      const done = run.input['mode'] === 'transfer' ? 'no job was claimed from the source (what an interrupted run left in flight stays there, or was finished)' : 'nothing was moved';
      throw new FatalError(`${first.error.message}\nStill so after the state machine's retries; ${done}. Run the same command again once that is resolved.`);
    }
    // An error of Step Functions' own (a quota, a failed Map Run) is named, as `watch` names it for a
    // deployed execution: its message alone does not say which limit ended the run.
    const error = first.error.name.startsWith('States.') ? `${first.error.name}: ${first.error.message}` : first.error.message;
    // One that timed out (past its state machine's TimeoutSeconds) did not fail: said as `watch` says it.
    const ended = first.status === 'TIMED_OUT' ? 'timed out' : 'failed';
    const after = [...(planned ? [afterPlan(run.input['mode'] === 'transfer' ? 'transfer' : 'reroute', run.input['dryRun'] === true, progress, ended, isDryRunListTooLong(first.error.message))] : []), ...(cleanUpFailed ? [cleanUpFailed] : [])];
    throw new FatalError([error, ...after].join('\n'));
  }
  const chain = executions.filter((e) => e.output !== undefined).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary }));
  const combined = combineSummaries(chain);
  const failed = executions.filter((e) => e.error);
  for (const e of failed) combined.failures.push({ kind: 'execution', name: e.executionArn, error: `${e.error!.name}: ${e.error!.message}` });
  const summary = withInterruption(combined, interrupt.stoppedBy());
  const complete = summary.complete && failed.length === 0;
  // A continuation that failed, whose clean-up failed too: said on stderr (stdout keeps the summary).
  if (cleanUpFailed) run.io.err(`${cleanUpFailed}\n`);
  // Every item as seen by this process (the summary's own list is bounded: its state stays small).
  const items = progress.seen();
  // A resumed run's counts are this process's: its dead process's pages are not in them.
  const resumes = run.resumes === true ? { resumedRun: true } : {};
  const cronLeft = cronLeftClause(cron ?? undefined, run.input['mode'] === 'transfer' ? 'transfer' : 'reroute');
  const sourceView = { ...(run.source !== undefined ? { source: run.source } : {}), ...(memoryPolicies ? { memoryPolicies } : {}), ...(cronLeft ? { cronLeft } : {}) };
  // The verdict the human view ends with: `complete` alone says only that every item finished.
  if (run.json) run.io.out(`${JSON.stringify({ ...summary, ...everyItem(summary, items), complete, verdict: summaryVerdict({ ...summary, complete }, run.endpoint, { ...sourceView, rollback: run.rollback ?? false }), items, ...(iterableStates ? { iterableStates } : {}), ...resumes, ...run.extra })}\n`);
  else {
    // Each item with the numbers the summary has for it, as --json gives them (everyItem): a failed
    // item's pages that its failed task did are counted there (add-up-step.ts), never seen here.
    const rows = listedNumbersWin(summary, items);
    const words = renderSummary({ ...summary, complete }, run.endpoint, { width: screenWidth(run.io.columns), verbose: run.verbose ?? false, wrap: run.io.interactive, items: rows, rollback: run.rollback ?? false, dryRunNamesFewer: progress.namesFewerDestinations(), ...resumes, ...sourceView });
    // A continuation that failed or timed out: its pages are in no summary's totals.
    const mode = run.input['mode'] === 'transfer' ? 'transfer' : 'reroute';
    const uncounted = uncountedMoves({ summary, mode, dryRun: run.input['dryRun'] === true, everyExecutionSucceeded: failed.length === 0, watched: items.map((i) => ({ moved: pageDone(mode, i) })) });
    run.io.out(uncounted ? `${words.trimEnd()}\n${uncounted}\n` : words);
  }
  return complete && cronLeft === undefined ? ExitCode.ok : ExitCode.failed;
}

/**
 * The summary's `sets` and `queues` with every set and queue this process saw, each with its whole
 * counters: the state machine's summary lists its first 50, their destinations, classes and
 * samples emptied (they are in its totals), to keep its state small. Its numbers stay as it
 * counted them, and so do its queues that were no item (jobs found on a retired queue that had none).
 */
function everyItem(summary: RunSummary, items: readonly SeenItem[]): Pick<RunSummary, 'sets' | 'queues' | 'unlisted'> {
  const sets = { ...summary.sets };
  const queues = { ...summary.queues };
  let added = 0;
  for (const item of listedNumbersWin(summary, items)) {
    const into = item.kind === 'set' ? sets : queues;
    if (!into[item.name]) added++;
    into[item.name] = item.counters;
  }
  return { sets, queues, unlisted: Math.max(0, (summary.unlisted ?? 0) - added) };
}

/**
 * Every item this process saw, a listed one with the summary's numbers (its summary step adds what
 * arrived after the item ended; the add-up, what a failed item's failed task did): the progress
 * never saw those.
 */
function listedNumbersWin(summary: RunSummary, items: readonly SeenItem[]): SeenItem[] {
  return items.map((item) => {
    const listed = (item.kind === 'set' ? summary.sets : summary.queues)[item.name];
    if (!listed) return item;
    const numbers = Object.fromEntries(Object.entries(listed).filter(([, v]) => typeof v === 'number'));
    return { ...item, counters: { ...item.counters, ...numbers } as typeof item.counters };
  });
}

/** The jobs an item's pages moved (a transfer's: wrote on the target), as this process saw them. */
function pageDone(mode: 'reroute' | 'transfer', { counters }: SeenItem): number {
  const c = counters as unknown as Record<string, number | undefined>;
  return (mode === 'transfer' ? c['written'] : c['moved']) ?? 0;
}

/** What the pages this process saw did, for an execution that failed after its plan (failed-after-plan.ts). */
function afterPlan(mode: 'reroute' | 'transfer', dryRun: boolean, progress: Progress, ended: 'failed' | 'timed out', listCutShort: boolean): string {
  let done = 0;
  let claimed = 0;
  for (const item of progress.seen()) {
    done += pageDone(mode, item);
    claimed += (item.counters as unknown as Record<string, number | undefined>)['claimed'] ?? 0;
  }
  const inFlight = mode === 'transfer' ? Math.max(0, claimed - done) : 0;
  return `${dryRun ? 'The dry run' : 'The run'} ${failedAfterPlan({ mode, dryRun, done, inFlight, again: 'Run the same command again to finish.', ended, ...(listCutShort ? { listCutShort: 'above' as const } : {}) })}`;
}

/**
 * A run stopped by a signal: the items that met its stop marker are said in one line (how many
 * were not finished), not as one failure each; other failures stay as they are. A signal that
 * came after the last page stopped nothing: the summary is as it was.
 */
function withInterruption(summary: RunSummary, signal: string | undefined): RunSummary {
  if (!signal) return summary;
  const others = summary.failures.filter((f) => !isStoppedFailure(f));
  const unfinished = (summary.counts?.failed ?? summary.failures.length) - others.length;
  if (unfinished === 0) return summary;
  return { ...summary, failures: others, ...(summary.counts ? { counts: { ...summary.counts, failed: others.length } } : {}), interrupted: { signal, unfinished } };
}
