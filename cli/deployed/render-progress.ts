import { isDryRunListTooLong } from '../../core/errors/dry-run-list-too-long-error.js';
import { cronLeftClause } from '../workflow/cron-notice.js';
import { failedAfterPlan } from '../workflow/failed-after-plan.js';
import { formatDuration } from '../workflow/fit.js';
import { progressView } from '../workflow/progress-view.js';
import { uncountedMoves } from '../workflow/uncounted-moves.js';
import { renderSummary, summaryVerdict, type SummaryVerdict, type SummaryView } from '../workflow/render-summary.js';
import type { ExecutionProgress } from './execution-progress.js';

export { formatDuration } from '../workflow/fit.js';

const n = (value: number) => Math.round(value).toLocaleString('en-US');

function elapsed(p: ExecutionProgress, now: Date): string {
  if (!p.startedAt) return '';
  return formatDuration((p.stoppedAt ?? now).getTime() - p.startedAt.getTime());
}

function title(p: ExecutionProgress): string {
  const what = p.mode === 'transfer' ? 'transfer' : p.mode === 'reroute' ? 're-route' : 'run';
  return `${p.runId ? `Run ${p.runId}` : p.executionArn.split(':').at(-1)} (${what}${p.dryRun ? ', DRY RUN' : ''})`;
}

/** `sidekiq-migrate (eu-west-1)`: the state machine and region of an execution ARN. */
function machineOf(executionArn: string): string {
  const parts = executionArn.split(':');
  return `${parts[6] ?? '?'} (${parts[3] ?? '?'})`;
}

/** The header of a watch or status view: run, status, current state, time, retries. */
export function headerLine(p: ExecutionProgress, now: Date): string {
  const parts = [title(p), p.status];
  const time = elapsed(p, now);
  if (time) parts.push(time);
  parts.push(`${p.retries} ${p.retries === 1 ? 'retry' : 'retries'}`);
  if (p.executions.length > 1) parts.push(`${p.executions.length} executions (continued)`);
  // Last: on a narrow terminal the state's long name is what gets cut.
  if (p.state) parts.push(p.state);
  return parts.join(' — ');
}

/**
 * The terminal view (redrawn in place by the watcher): the header, the overall line, the items in
 * progress and counts of the others — at most 10 lines of at most `width` columns.
 */
export function progressBlock(p: ExecutionProgress, now: Date, width = 80): string[] {
  const elapsedMs = p.startedAt ? (p.stoppedAt ?? now).getTime() - p.startedAt.getTime() : 0;
  return progressView(
    {
      header: headerLine(p, now),
      items: p.items.map((i) => ({ ...i, failed: i.failed !== undefined })),
      ...(p.selection ? { selection: p.selection } : {}),
      ...(p.planned ? { plannedItems: p.planned.items, ...(p.planned.jobs === undefined ? {} : { plannedJobs: p.planned.jobs }) } : {}),
      elapsedMs,
      ...(p.finished ? { ended: true } : {}),
    },
    width,
  );
}

/** The pipe view: one plain line per update, with a timestamp, for logs and CI. */
export function progressLine(p: ExecutionProgress, now: Date): string {
  const done = p.items.filter((i) => i.done).length;
  const failed = p.items.filter((i) => i.failed).length;
  const seen = p.items.reduce((a, i) => a + i.seen, 0);
  const moved = p.items.reduce((a, i) => a + i.moved, 0);
  const rate = p.items.filter((i) => !i.done && i.rate !== undefined).reduce((a, i) => a + i.rate!, 0);
  const parts = [
    now.toISOString(),
    p.status,
    ...(p.state ? [`"${p.state}"`] : []),
    `items ${done}/${p.items.length} done${failed ? `, ${failed} failed` : ''}`,
    // A selective run examines every job of the source and moves only the selected ones.
    ...(p.selection
      ? [`${n(seen)} examined`, p.selection.jobs === undefined ? `${n(moved)} selected moved` : `${n(moved)}/${n(p.selection.jobs)} selected moved`]
      : [`${n(seen)} seen`, `${n(moved)} moved`]),
    ...(p.status === 'RUNNING' ? [`${n(rate)} jobs/s`] : []),
    `retries ${p.retries}`,
  ];
  return parts.join(' · ');
}

/**
 * The JSON view of an update: dates as ISO strings, the summary only at the end. The plan's notes
 * and the retried errors are not repeated in every update: they go to stderr once, as a local
 * --json run's do. The iterable job states a transfer does not carry are in each object once the
 * plan found them (`iterableStates`, as a local `move --json` has it): a script reading stdout
 * alone must see them.
 */
export function progressJson(p: ExecutionProgress, type: 'progress' | 'end'): string {
  const { planNotes: _notes, failedAttempts: _attempts, ...shown } = p;
  const iterableStates = p.planNotes?.iterableStates;
  // The end's verdict, as the human view ends (`summary.complete` says only that every item finished).
  return JSON.stringify({ type, ...shown, ...(iterableStates ? { iterableStates } : {}), ...(type === 'end' ? { verdict: endVerdict(p) } : {}) });
}

/** An ended run's verdict: its summary's (not complete unless the execution succeeded too), or why it has none. */
function endVerdict(p: ExecutionProgress): SummaryVerdict {
  if (!p.summary) return { state: 'not-complete', line: `${title(p)}: no summary — ${noSummaryWhy(p)}` };
  return summaryVerdict({ ...p.summary, complete: p.summary.complete && p.status === 'SUCCEEDED' }, machineOf(p.executionArn), endView(p));
}

/** How the summary of a deployed run says to finish it, and whether its counts are a resumed execution's own. */
function endView(p: ExecutionProgress): SummaryView {
  // `start` with the same options again would find the execution name taken, or start another run.
  const again = `resume the run to finish: sidekiq-migrate start --resume ${p.runId ?? 'RUN'}, with the same routing and selection.`;
  const moveAgain = 'start another transfer (sidekiq-migrate start --mode transfer, same routing and selection)';
  // An execution `start --resume` started (RUN-resume-N): its summary counts its own pages only.
  const name = p.executionArn.split(':').at(-1)!;
  const resumedRun = p.runId !== undefined && name.startsWith(`${p.runId}-resume-`) && /^\d+$/.test(name.slice(`${p.runId}-resume-`.length));
  const memoryPolicies = p.planNotes?.memoryPolicies;
  const cronLeft = cronLeftOf(p);
  return { again, moveAgain, ...(resumedRun ? { resumedRun } : {}), ...(memoryPolicies ? { memoryPolicies } : {}), ...(cronLeft ? { cronLeft } : {}) };
}

/**
 * sidekiq-cron definitions the run's plan was asked to carry or rewrite and left unread (its
 * bound): the verdict says "Done, but …" and watch/status exit 1, as a local run's (run-workflow.ts).
 */
export function cronLeftOf(p: ExecutionProgress): string | undefined {
  return cronLeftClause(p.planNotes?.cron ?? undefined, p.mode ?? 'reroute');
}

/**
 * The run's plan refused its input (the task's InvalidInputError: a selection, a setting or the
 * deployment's configuration wrong): nothing was touched, as a local run refusing the same input,
 * which exits 2.
 */
export function planRefusedInput(p: ExecutionProgress): boolean {
  return p.finished && p.status === 'FAILED' && !p.summary && !p.planned && p.items.length === 0 && p.errors.length === 1 && p.errors[0]!.startsWith('InvalidInputError:');
}

/**
 * Why an ended run has no summary: its plan did not complete, or a later step failed after its
 * pages had run (failed-after-plan.ts says what they did, from the items watched).
 */
function noSummaryWhy(p: ExecutionProgress): string {
  if (planRefusedInput(p)) return 'its plan refused the input: nothing was touched.';
  if (!p.planned && p.items.length === 0) return 'the execution ended before its plan completed.';
  const again = `Run it again to finish: sidekiq-migrate start --resume ${p.runId ?? 'RUN'}, with the same routing and selection.`;
  const done = p.items.reduce((sum, i) => sum + i.moved, 0);
  const ended = p.status === 'ABORTED' ? 'was stopped' : p.status === 'TIMED_OUT' ? 'timed out' : 'failed';
  const listCutShort = p.errors.some(isDryRunListTooLong) ? ({ listCutShort: 'below' } as const) : {};
  return `${p.dryRun ? 'the dry run' : 'the execution'} ${failedAfterPlan({ mode: p.mode ?? 'reroute', dryRun: p.dryRun ?? false, done, again, ended, ...listCutShort })}`;
}

/** What is printed once the run ended: the combined summary (or why there is none) and the verdict. */
export function renderEnd(p: ExecutionProgress, now: Date, view: SummaryView = {}): string {
  const out: string[] = [];
  if (p.summary) {
    out.push(renderSummary(p.summary, machineOf(p.executionArn), { ...endView(p), ...view }).trimEnd());
    const uncounted = uncountedMoves({ summary: p.summary, mode: p.mode === 'transfer' ? 'transfer' : 'reroute', dryRun: p.dryRun ?? false, everyExecutionSucceeded: p.executions.every((e) => e.status === 'SUCCEEDED'), watched: p.items });
    if (uncounted) out.push(uncounted);
  } else out.push(`${title(p)}: no summary — ${noSummaryWhy(p)}`);
  for (const error of p.errors) out.push(`Execution error: ${error}`);
  const ok = p.status === 'SUCCEEDED' && (p.summary?.complete ?? false);
  out.push(`${ok ? 'Succeeded' : `Ended ${p.status}`} after ${elapsed(p, now) || '?'}${p.executions.length > 1 ? ` over ${p.executions.length} executions` : ''}.`);
  return `${out.join('\n')}\n`;
}
