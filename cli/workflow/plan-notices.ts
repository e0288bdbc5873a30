import type { PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { StateNames } from '../../infra/constructs/state-names.js';
import type { LocalEvent } from '../../infra/local/run-workflow-locally.js';
import type { CliIo } from '../cli-io.js';
import { describeCron } from './cron-notice.js';
import { describeEviction } from './eviction-notice.js';
import { describeIterableStates } from './iterable-notice.js';
import { describeOtherPrefixes } from './prefix-notice.js';

/** What of a plan's output the notices read: all of it is in the plan state's output, locally and on AWS. */
export type PlanNotes = Pick<PlanOutput, 'memoryPolicies' | 'cron' | 'otherPrefixes' | 'iterableStates'> & { readonly settings?: { readonly dryRun?: boolean } };

/**
 * What the plan found that the operator must hear before the summary, in this order: each Redis's
 * `maxmemory-policy` (and a warning unless `noeviction`), sidekiq-cron definitions, iterable jobs'
 * states a transfer does not carry, jobs under other prefixes. The same text for a local run and for a deployed one (`start --watch`, `watch`,
 * `status`), on stderr, with --json too (the policies line only without it).
 */
export function planNotices(plan: PlanNotes | undefined, options: { readonly json: boolean; readonly mode: 'reroute' | 'transfer' }): string {
  if (!plan) return '';
  return `${describeEviction(plan.memoryPolicies, options.json)}${plan.cron ? describeCron(plan.cron, options.mode) : ''}${describeIterableStates(plan.iterableStates, plan.settings?.dryRun === true)}${describeOtherPrefixes(plan.otherPrefixes)}`;
}

/** The notices of a local run, when each execution's plan step ends (a continued execution's plan has none). */
export function planNotice(io: CliIo, options: { readonly json: boolean; readonly mode: 'reroute' | 'transfer' }): (execution: string, event: LocalEvent) => void {
  return (_execution, event) => {
    if (event.type !== 'StateExited' || event.state?.name !== StateNames.plan) return;
    const text = planNotices(((event.state as { output?: unknown }).output as { plan?: PlanNotes } | undefined)?.plan, options);
    if (text) io.err(text);
  };
}
