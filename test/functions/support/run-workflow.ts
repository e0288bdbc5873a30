import type { Context } from 'aws-lambda';
import type { PlanOutput } from '../../../core/workflow/steps/plan-step.js';
import type { RunSummary } from '../../../core/workflow/steps/summarize-step.js';
import type { ItemResult, RunSettings, WorkItem } from '../../../core/workflow/work-item.js';
import type { WorkState } from '../../../core/workflow/work-list.js';
import { fakeContext } from './lambda-harness.js';
import type { LoadedHandlers } from './load-handlers.js';

/** Through JSON, as Step Functions carries every state between tasks. */
export const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** The page handler the state machine's Choice picks for an item. */
export function pageHandlerFor(h: LoadedHandlers, settings: RunSettings, item: WorkItem): LoadedHandlers['plan'] {
  if (settings.mode === 'reroute') return item.kind === 'set' ? h.rerouteSetPage : h.rerouteQueueSlice;
  return item.kind === 'set' ? h.transferSet : h.transferQueue;
}

export interface WorkflowRun {
  readonly plan: PlanOutput;
  readonly results: ItemResult[];
  readonly summary: RunSummary;
  /** Page invocations per item, in plan order. */
  readonly invocations: number[];
}

/** A run up to its summary: planned, every item paged to its end, every batch added up. */
export interface RunBeforeSummary {
  readonly plan: PlanOutput;
  readonly results: ItemResult[];
  /** The last "add up"'s work state: its tally is what the summary step is given. */
  readonly work: WorkState;
  /** Page invocations per item, in plan order. */
  readonly invocations: number[];
}

/**
 * What the state machine does before its summary, through the exported handlers: plan, then per
 * batch the page invocations of each item until it is done, then "add up" (the summarize
 * function), which gives the next batch. Every state goes through JSON.
 */
export async function runToSummary(h: LoadedHandlers, input: unknown, context: () => Context = () => fakeContext()): Promise<RunBeforeSummary> {
  const plan = viaJson((await h.plan(viaJson(input), context())) as PlanOutput);
  const results: ItemResult[] = [];
  const invocations: number[] = [];
  let work = plan.work;
  while (work.more) {
    const batch: ItemResult[] = [];
    for (const start of work.batch) {
      let item = start;
      let n = 0;
      while (!item.done) {
        if (++n > 1_000) throw new Error(`${item.kind} ${item.name} is not done after 1000 invocations`);
        item = viaJson((await pageHandlerFor(h, plan.settings, item)(viaJson({ settings: plan.settings, item }), context())) as WorkItem);
      }
      invocations.push(n);
      batch.push({ kind: item.kind, name: item.name, counters: item.counters, done: true });
    }
    results.push(...batch);
    work = viaJson((await h.summarize(viaJson({ step: 'add-up', settings: plan.settings, work, results: batch }), context())) as WorkState);
  }
  return { plan, results, work, invocations };
}

/** The summarize step's input for a run brought to its summary (runToSummary). */
export function summarizeInput({ plan, work }: RunBeforeSummary): unknown {
  return viaJson({ step: 'summarize', settings: plan.settings, execution: plan.execution, tally: work.tally, resumed: plan.resumed, listContinuedIn: null });
}

/** runToSummary, then summarize: the whole state machine. */
export async function runWorkflow(h: LoadedHandlers, input: unknown, context: () => Context = () => fakeContext()): Promise<WorkflowRun> {
  const run = await runToSummary(h, input, context);
  const summary = viaJson((await h.summarize(summarizeInput(run), context())) as RunSummary);
  return { plan: run.plan, results: run.results, summary, invocations: run.invocations };
}
