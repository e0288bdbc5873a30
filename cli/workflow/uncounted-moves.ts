import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';

const n = (value: number) => Math.round(value).toLocaleString('en-US');

/**
 * The combined summary adds up the executions that ended with one (Summarize); the pages of one
 * that failed, was stopped or timed out (an item continued there) are in none. Said when the
 * pages watched moved more than the totals count, so that the summary never reads as fewer jobs
 * moved than the pages did: `watch`/`status` of a deployed run, and a local `run`/`move`.
 */
export function uncountedMoves(run: { readonly summary: RunSummary; readonly mode: 'reroute' | 'transfer'; readonly dryRun: boolean; readonly everyExecutionSucceeded: boolean; readonly watched: readonly { readonly moved: number }[] }): string | undefined {
  if (run.dryRun || run.everyExecutionSucceeded) return undefined;
  const totals = run.summary.totals as unknown as Record<string, number>;
  const counted = (run.mode === 'transfer' ? totals['written'] : totals['moved']) ?? 0;
  const watched = run.watched.reduce((sum, i) => sum + i.moved, 0);
  if (watched <= counted) return undefined;
  return `Not counted in the totals above: what the executions that did not finish did. By the pages watched, this run ${run.mode === 'transfer' ? 'wrote' : 'moved'} at least ${n(watched)} job(s) in all (each page is whole).`;
}
