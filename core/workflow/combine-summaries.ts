import { addCounters, emptyCounters, type RerouteCounters } from '../reroute/reroute-counters.js';
import { addTransferCounters, emptyTransferCounters, type TransferCounters } from '../transfer/transfer-counters.js';
import type { RunSummary } from './steps/summarize-step.js';

export interface ExecutionSummary {
  readonly executionArn: string;
  readonly summary: RunSummary;
}

/**
 * One summary for a chain of executions (continue-as-new), given in the order they started: an
 * item that continued elsewhere carried its counters along, so its final counters are those of
 * the last execution that has it. Failures of any execution are kept; continuations whose
 * execution is not in the chain (not finished, or not followed) stay listed, and `complete`
 * holds only when nothing failed and nothing is left continuing.
 */
export function combineSummaries(chain: readonly ExecutionSummary[]): RunSummary {
  const first = chain[0]?.summary;
  if (!first) throw new Error('combineSummaries needs at least one execution');
  const sets: RunSummary['sets'] = {};
  const queues: RunSummary['queues'] = {};
  const failures: RunSummary['failures'] = [];
  for (const { summary } of chain) {
    Object.assign(sets, summary.sets);
    Object.assign(queues, summary.queues);
    failures.push(...summary.failures);
  }
  const followed = new Set(chain.map((e) => e.executionArn));
  const pending = chain.flatMap((e) => e.summary.continuedIn).filter((c) => !followed.has(c.execution));

  const reroute = first.mode === 'reroute';
  const totals = reroute ? emptyCounters() : emptyTransferCounters();
  if (!reroute && first.resumed) addTransferCounters(totals as TransferCounters, first.resumed);
  for (const counters of [...Object.values(sets), ...Object.values(queues)]) {
    if (reroute) addCounters(totals as RerouteCounters, counters as RerouteCounters);
    else addTransferCounters(totals as TransferCounters, counters as TransferCounters);
  }
  // What is left on the source is what the last execution saw.
  const { leftOnSource } = chain[chain.length - 1]!.summary;
  return { ...first, sets, queues, totals, failures, continuedIn: pending, complete: failures.length === 0 && pending.length === 0, leftOnSource };
}
