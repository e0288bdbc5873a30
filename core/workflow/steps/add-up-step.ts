import { retireRunLedgers } from '../../transfer/retire-ledger.js';
import { DEFAULT_LEDGER_TTL_SECONDS } from '../../transfer/transfer-options.js';
import type { ConnectionProvider } from '../connections.js';
import { addRunExecution, listContinuationName } from '../run-executions.js';
import { foldResults } from '../run-tally.js';
import type { ItemResult, RunSettings } from '../work-item.js';
import { BATCH_SIZE, BATCHES_PER_EXECUTION, readWork, type WorkState } from '../work-list.js';
import { routingOf } from './plan-step.js';

export interface AddUpInput {
  readonly settings: RunSettings;
  readonly work: WorkState;
  /** The Map's results for the batch just done: one small result per item. */
  readonly results: readonly ItemResult[];
}

/**
 * "Add up and list the next sets and queues": folds a batch's results into the execution's
 * bounded tally, retires the transfer ledgers of the items that ended, and reads the next batch
 * from the run's list — or, after BATCHES_PER_EXECUTION batches, hands the rest of the list to a
 * new execution (added to the run's executions first, like an item's continuation).
 */
export async function addUpStep(input: AddUpInput, connections: ConnectionProvider): Promise<WorkState> {
  const { settings, work } = input;
  const tally = foldResults(structuredClone(work.tally), settings.mode, input.results);
  await retireEndedLedgers(input, connections);
  const batches = work.batches + 1;
  if (work.next === null) return { batch: [], next: null, more: false, batches, tally };

  const source = await connections.get(settings.source);
  if (batches >= BATCHES_PER_EXECUTION) {
    if (!settings.dryRun) await addRunExecution(source.redis, source.keys.prefix, settings.runId, listContinuationName(work.next));
    return { batch: [], next: work.next, more: false, batches, continueAt: work.next, tally };
  }
  const next = await readWork(settings, source, await routingOf(settings, source), work.next, BATCH_SIZE);
  return { batch: next.items, next: next.next, more: next.items.length > 0, batches, tally };
}

/**
 * A transfer's ledgers get their TTL once their item has ended with nothing of the run in flight
 * (retire-ledger.ts): before that, no TTL, so that no volatile-* eviction can take them. Done as
 * each batch ends, while the run holds its lock: no other attempt can be writing these keys.
 */
async function retireEndedLedgers(input: AddUpInput, connections: ConnectionProvider): Promise<void> {
  const { settings } = input;
  if (settings.mode !== 'transfer' || settings.dryRun || !settings.target) return;
  const keys = input.results.filter((r) => !r.continuedIn).map((r) => (r.kind === 'set' ? r.name : `queue:${r.name}`));
  if (keys.length === 0) return;
  const [source, target] = [await connections.get(settings.source), await connections.get(settings.target)];
  const context = { source: source.redis, target: target.redis, sourceKeys: source.keys, targetKeys: target.keys, runId: settings.runId };
  await retireRunLedgers(context, keys, DEFAULT_LEDGER_TTL_SECONDS);
}
