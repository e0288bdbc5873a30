import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { runLockKey } from '../../core/redis/run-lock.js';
import { runExecutionsKey } from '../../core/workflow/run-executions.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { workListKey } from '../../core/workflow/work-list.js';
import { runWorkflowLocally, type LocalExecution, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';

/**
 * What the tests of an execution superseded only once the later start had ended the run share
 * (superseded-at-summary-after-end, superseded-continuation-plan-after-end): while the first
 * start's executions are held (at their summary, plan or page), the later start (`start --resume`,
 * the same input) runs to its end and ends the run — its lock released, its list and executions
 * gone — and what it planned and left is kept for the held ones' assertions.
 */

/** Whether a plan task's event is a continuation's (an item's, or the rest of the list's). */
export const isContinuation = (event: unknown) => typeof (event as { executionInput?: unknown }).executionInput === 'object' && 'continuation' in (event as { executionInput: object }).executionInput;

/** The run's records on the source (`*sidekiq-migrate*`), a string by its value, any other by its type. */
export async function runRecords(source: Redis): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of (await source.keys('*sidekiq-migrate*')).sort()) out[key] = (await source.type(key)) === 'string' ? ((await source.get(key)) ?? '') : await source.type(key);
  return out;
}

export interface LaterStartEnded {
  readonly resumedRun: LocalExecution[];
  /** When the later start planned, and its execution: what the superseded summaries name (its finish record carries them). */
  readonly laterPlannedAt: number;
  readonly laterPlannedBy: string;
  /** The run's records on the source as the later start left them (runRecords). */
  readonly leftByTheLaterStart: Record<string, string>;
}

/**
 * Runs the later start of the run (the same input, the handlers `base`) to its end, and checks it
 * ended the run: every execution SUCCEEDED, one of them ended the run, and the run's lock, list
 * and executions are gone from the source.
 */
export async function runLaterStartToRunEnd(source: Redis, input: { readonly runId: string }, base: LocalHandlers): Promise<LaterStartEnded> {
  let laterPlannedAt: number | undefined;
  let laterPlannedBy: string | undefined;
  const plan: LocalHandlers['plan'] = async (event, context) => {
    const planned = await base.plan(event, context);
    laterPlannedAt ??= (planned as { settings: { plannedAt: number } }).settings.plannedAt;
    laterPlannedBy ??= (planned as { settings: { plannedBy: string } }).settings.plannedBy;
    return planned;
  };
  const resumedRun = await runWorkflowLocally(input, { ...base, plan }, { retryIntervalMs: 0 });
  expect(resumedRun.map((e) => e.status)).toEqual(resumedRun.map(() => 'SUCCEEDED'));
  expect(resumedRun.map((e) => e.output as RunSummary).filter((s) => s.endedRun)).toHaveLength(1);
  expect(await source.exists(runLockKey(''), workListKey('', input.runId), runExecutionsKey('', input.runId))).toBe(0);
  return { resumedRun, laterPlannedAt: laterPlannedAt!, laterPlannedBy: laterPlannedBy!, leftByTheLaterStart: await runRecords(source) };
}
