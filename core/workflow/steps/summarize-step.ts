import { findQuarantineLists, type QuarantineList } from '../../drain/quarantine-lists.js';
import { RunLock } from '../../redis/run-lock.js';
import { addCounters, emptyCounters, type RerouteCounters } from '../../reroute/reroute-counters.js';
import { addTransferCounters, emptyTransferCounters, type TransferCounters } from '../../transfer/transfer-counters.js';
import { retireRunLedgers } from '../../transfer/retire-ledger.js';
import { DEFAULT_LEDGER_TTL_SECONDS } from '../../transfer/transfer-options.js';
import type { ConnectionProvider } from '../connections.js';
import type { ItemResult, RunSettings } from '../work-item.js';

export interface RunSummary {
  readonly runId: string;
  readonly mode: 'reroute' | 'transfer';
  readonly dryRun: boolean;
  readonly sets: Record<string, RerouteCounters | TransferCounters>;
  readonly queues: Record<string, RerouteCounters | TransferCounters>;
  readonly totals: RerouteCounters | TransferCounters;
  /** Items that failed after their retries: the others' results are kept. */
  readonly failures: { kind: 'set' | 'queue' | 'execution'; name: string; error: string }[];
  /** Items that continued in a new execution (history limit): follow these for their end. */
  readonly continuedIn: { kind: 'set' | 'queue'; name: string; execution: string }[];
  /** True when every item finished here, without failure or continuation. */
  readonly complete: boolean;
  /** Transfer: what the plan step finished of interrupted runs' in-flight jobs (in `totals` too). */
  readonly resumed?: TransferCounters;
  /**
   * Transfer: quarantine lists on the source, which a transfer does not carry (their jobs are
   * ones nobody runs): the source is not drained while they exist.
   */
  readonly leftOnSource?: readonly QuarantineList[];
}

export interface SummarizeInput {
  readonly settings: RunSettings;
  readonly results: readonly ItemResult[];
  readonly resumed?: TransferCounters;
}

/**
 * "Summarize": adds up the items' counters, lists failures and continuations, and releases the
 * run lock (held by this run: a lock another run took meanwhile is left alone) — unless items
 * continue in other executions, whose own summaries release it when they end.
 */
export async function summarizeStep(input: SummarizeInput, connections: ConnectionProvider): Promise<RunSummary> {
  if (!input.results.some((r) => r.continuedIn)) {
    await retireLedgersStep(input, connections);
    await releaseLockStep(input, connections);
  }
  const reroute = input.settings.mode === 'reroute';
  const source = reroute ? undefined : await connections.get(input.settings.source);
  const leftOnSource = source ? await findQuarantineLists(source.redis, source.keys) : [];
  const totals = reroute ? emptyCounters() : emptyTransferCounters();
  if (!reroute && input.resumed) addTransferCounters(totals as TransferCounters, input.resumed);
  const sets: RunSummary['sets'] = {};
  const queues: RunSummary['queues'] = {};
  const failures: RunSummary['failures'] = [];
  const continuedIn: RunSummary['continuedIn'] = [];
  for (const result of input.results) {
    if (result.counters) {
      (result.kind === 'set' ? sets : queues)[result.name] = result.counters;
      if (reroute) addCounters(totals as RerouteCounters, result.counters as RerouteCounters);
      else addTransferCounters(totals as TransferCounters, result.counters as TransferCounters);
    }
    if (result.error) failures.push({ kind: result.kind, name: result.name, error: describeFailure(result.error) });
    if (result.continuedIn) continuedIn.push({ kind: result.kind, name: result.name, execution: result.continuedIn });
  }
  return {
    runId: input.settings.runId,
    mode: input.settings.mode,
    dryRun: input.settings.dryRun,
    sets,
    queues,
    totals,
    failures,
    continuedIn,
    complete: failures.length === 0 && continuedIn.length === 0,
    ...(reroute || !input.resumed ? {} : { resumed: input.resumed }),
    ...(leftOnSource.length > 0 ? { leftOnSource } : {}),
  };
}

/**
 * A transfer's ledgers get their TTL once their item has ended with nothing of the run in flight
 * (retire-ledger.ts): before that, no TTL, so that no volatile-* eviction can take them. Done
 * before the lock is released, while no other attempt of the run can be writing these keys.
 */
async function retireLedgersStep(input: SummarizeInput, connections: ConnectionProvider): Promise<void> {
  const { settings } = input;
  if (settings.mode !== 'transfer' || settings.dryRun || !settings.target) return;
  const [source, target] = [await connections.get(settings.source), await connections.get(settings.target)];
  const keys = input.results.filter((r) => !r.continuedIn).map((r) => (r.kind === 'set' ? r.name : `queue:${r.name}`));
  const context = { source: source.redis, target: target.redis, sourceKeys: source.keys, targetKeys: target.keys, runId: settings.runId };
  await retireRunLedgers(context, keys, DEFAULT_LEDGER_TTL_SECONDS);
}

/** "Release the run lock": also the failure path's last step. */
export async function releaseLockStep(input: { readonly settings: RunSettings }, connections: ConnectionProvider): Promise<{ released: boolean }> {
  if (input.settings.dryRun) return { released: false };
  const names = [input.settings.source, ...(input.settings.target ? [input.settings.target] : [])];
  let released = false;
  for (const name of names) {
    const c = await connections.get(name);
    released = (await RunLock.releaseIfHeld(c.redis, c.keys.prefix, input.settings.runId)) || released;
  }
  return { released };
}

/** Step Functions' Catch output: Error is the error name, Cause a message or Lambda's JSON. */
function describeFailure(error: { Error?: string; Cause?: string }): string {
  let cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (parsed.errorMessage) cause = parsed.errorMessage;
  } catch {
    // a plain message
  }
  return `${error.Error ?? 'Error'}: ${cause}`;
}
