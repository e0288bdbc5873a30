import { addUpStep } from '../../core/workflow/steps/add-up-step.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep, type PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { summarizeStep, type RunSummary } from '../../core/workflow/steps/summarize-step.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import type { WorkState } from '../../core/workflow/work-list.js';

/**
 * A transfer of the queues (and `schedule`) through the state machine's steps, each item paged to
 * its end, then its summary with the given time bound for its looks over the keyspace
 * (SummarizeOptions.lookUntil; none when undefined). Its connections are closed at the end.
 */
export async function summarizeTransfer(urls: { readonly source: string; readonly target: string }, lookUntil?: number): Promise<RunSummary> {
  const provider = new UrlConnections({ source: { url: urls.source }, target: { url: urls.target } });
  try {
    return await summarizeWith(provider, lookUntil);
  } finally {
    await provider.close();
  }
}

async function summarizeWith(provider: UrlConnections, lookUntil: number | undefined): Promise<RunSummary> {
  const { plan, work } = await planPagedAndAddedUp({ runId: 'run-1', mode: 'transfer', target: 'target', sets: ['schedule'] }, provider);
  return summarizeStep({ settings: plan.settings, execution: plan.execution, tally: work.tally }, provider, lookUntil === undefined ? {} : { lookUntil });
}

/**
 * The state machine's steps up to the summary, on `provider`: the run `input` planned, each item
 * of its first batch paged to its end (no deadline to speak of), then added up. Returns the plan
 * and the work state whose tally the summary is given.
 */
export async function planPagedAndAddedUp(input: Record<string, unknown>, provider: ConnectionProvider): Promise<{ plan: PlanOutput; work: WorkState }> {
  const plan = await planStep(input, provider);
  const results = [];
  for (const item of plan.work.batch) {
    let current: WorkItem = item;
    while (!current.done) current = await pageStep({ settings: plan.settings, item: current }, provider, { deadline: Date.now() + 600_000 });
    results.push({ kind: current.kind, name: current.name, counters: current.counters, done: true });
  }
  const work = await addUpStep({ settings: plan.settings, work: plan.work, results }, provider);
  return { plan, work };
}
