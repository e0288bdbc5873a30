import { addCounters, emptyCounters, MAX_DESTINATIONS, OTHER_QUEUES, type RerouteCounters } from '../reroute/reroute-counters.js';
import { addTransferCounters, emptyTransferCounters, TOTALS_BY_CLASS_BYTES, type TransferCounters } from '../transfer/transfer-counters.js';
import type { ItemResult } from './work-item.js';
import { leftInPlace } from './left-in-place.js';

/**
 * Bounds of what an execution keeps of its items while it runs, so that its state stays the same
 * size for 10 queues or 100,000 (Step Functions: 256 KiB per state input and output): every item
 * is counted, but only the first few are named.
 */
export const TALLY_LIMITS = {
  /** Items whose own counters the summary lists (sets and the first queues). */
  listed: 50,
  failures: 10,
  continuedIn: 10,
  /** Characters of a failure's message kept. */
  errorChars: 300,
  /** Destination queues counted by name in the totals (as in each item's), the rest under OTHER_DESTINATIONS. */
  destinations: MAX_DESTINATIONS,
} as const;

export const OTHER_DESTINATIONS = OTHER_QUEUES;

type Counters = RerouteCounters | TransferCounters;

export interface ListedItem {
  readonly kind: 'set' | 'queue';
  readonly name: string;
  readonly counters: Counters;
}

/**
 * What an execution has added up of its items so far. `totals` counts the items that ended here
 * (finished or failed); an item that continued in another execution carried its counters there,
 * and is counted by that execution when it ends there.
 */
export interface RunTally {
  totals: Counters;
  counts: { finished: number; failed: number; continued: number };
  listed: ListedItem[];
  /** Items that ended here but are not in `listed`. */
  unlisted: number;
  failures: { kind: 'set' | 'queue'; name: string; error: string }[];
  continuedIn: { kind: 'set' | 'queue'; name: string; execution: string }[];
  /**
   * Destinations counted under OTHER_DESTINATIONS that no live Sidekiq process fetched from when
   * their batch was added up (add-up-step.ts), with the jobs put there: the summary checks them
   * again beside the named ones. At most TALLY_LIMITS.destinations.
   */
  unheard?: Record<string, number>;
  /**
   * Queues whose items ended leaving jobs in place (left-in-place.ts), with those jobs: the summary
   * asks whether anybody fetches from them (summarize-step.ts). The first TALLY_LIMITS.destinations
   * by name; `leftInUnnamed` counts the queues and jobs past them.
   */
  leftIn?: Record<string, number>;
  leftInUnnamed?: { queues: number; jobs: number };
  /**
   * A later start of the run superseded this execution (found by its plan, plan-step.ts
   * supersededPlan, or by an add-up, add-up-step.ts): its summary says so and ends nothing of the
   * run's, even once that later start has ended the run and released its lock (then the run's
   * executions no longer tell it).
   */
  superseded?: Superseded;
}

/**
 * The later start that superseded an execution: when it planned, and its execution's ARN (its
 * plan's `plannedBy`, read from the run's lock) when known — the one to follow. One ARN: bounded.
 */
export interface Superseded {
  readonly laterPlannedAt: number;
  readonly laterPlannedBy?: string;
}

export function emptyTally(mode: 'reroute' | 'transfer'): RunTally {
  return { totals: mode === 'reroute' ? emptyCounters() : emptyTransferCounters(), counts: { finished: 0, failed: 0, continued: 0 }, listed: [], unlisted: 0, failures: [], continuedIn: [] };
}

/** Adds counters into a tally's totals (which name as many destinations as an item's counters do: addDestinations). */
export function addToTotals(tally: RunTally, mode: 'reroute' | 'transfer', counters: Counters): void {
  if (mode === 'reroute') addCounters(tally.totals as RerouteCounters, counters as RerouteCounters);
  else addTransferCounters(tally.totals as TransferCounters, counters as TransferCounters, TOTALS_BY_CLASS_BYTES, 'beside');
}

/**
 * Said after the error of an item whose continuation was added and never started (ItemResult's
 * `neverStarted`): the failure alone read as a page that failed, while the rest of the item had
 * been handed on to an execution that does not exist.
 */
export const NEVER_STARTED = '(the execution it was to go on in never started: the same command again resumes it)';

/** Folds the results of one batch of items (the Map's output) into the tally. */
export function foldResults(tally: RunTally, mode: 'reroute' | 'transfer', results: readonly ItemResult[]): RunTally {
  for (const result of results) {
    const counters = result.counters ?? (mode === 'reroute' ? emptyCounters() : emptyTransferCounters());
    if (result.continuedIn) {
      tally.counts.continued++;
      if (tally.continuedIn.length < TALLY_LIMITS.continuedIn) tally.continuedIn.push({ kind: result.kind, name: result.name, execution: result.continuedIn });
      continue;
    }
    addToTotals(tally, mode, counters);
    if (result.kind === 'queue') keepLeftIn(tally, result.name, leftInPlace(counters as unknown as Record<string, number>, mode === 'reroute'));
    if (tally.listed.length < TALLY_LIMITS.listed) tally.listed.push({ kind: result.kind, name: result.name, counters: scalarsOf(counters) });
    else tally.unlisted++;
    if (result.error) {
      tally.counts.failed++;
      if (tally.failures.length < TALLY_LIMITS.failures) tally.failures.push({ kind: result.kind, name: result.name, error: `${describeFailure(result.error)}${result.neverStarted ? ` ${NEVER_STARTED}` : ''}` });
    } else {
      tally.counts.finished++;
    }
  }
  return tally;
}

/** A queue's jobs left in place, by name while the tally names fewer than its bound (RunTally.leftIn). */
function keepLeftIn(tally: RunTally, queue: string, jobs: number): void {
  if (jobs <= 0) return;
  const kept = (tally.leftIn ??= {});
  if (queue in kept || Object.keys(kept).length < TALLY_LIMITS.destinations) kept[queue] = (kept[queue] ?? 0) + jobs;
  else {
    const more = (tally.leftInUnnamed ??= { queues: 0, jobs: 0 });
    more.queues++;
    more.jobs += jobs;
  }
}

/** An item's counts without its per-class, per-destination and sample details (those are in the totals). */
function scalarsOf(counters: Counters): Counters {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(counters)) out[key] = typeof value === 'number' ? value : Array.isArray(value) ? [] : typeof value === 'object' && value !== null && key !== 'samples' ? {} : value;
  if ('samples' in counters) out['samples'] = { unmapped: [], unparsable: [] };
  return out as unknown as Counters;
}

/** Step Functions' Catch output: Error is the error name, Cause a message or Lambda's JSON. */
export function describeFailure(error: { Error?: string; Cause?: string }): string {
  let cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (parsed.errorMessage) cause = parsed.errorMessage;
  } catch {
    // a plain message
  }
  const text = `${error.Error ?? 'Error'}: ${cause}`;
  return text.length <= TALLY_LIMITS.errorChars ? text : `${text.slice(0, TALLY_LIMITS.errorChars - 1)}…`;
}
