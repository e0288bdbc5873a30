/** When each part of a drain check stops, from its start and the time it has (drain-check.ts's options). */
export interface DrainCheckBudget {
  /** The look for Sidekiq data under the prefix (checkSidekiqPrefixLook): a quarter, as the plan's. */
  readonly dataLookUntil: number;
  /**
   * Reading the queues (LLEN and LINDEX in windows, queue-windows.ts): three eighths, the sets
   * after them (which read at least their first page each) up to half.
   */
  readonly readQueuesUntil: number;
  /** Reading set entries: half. */
  readonly readSetsUntil: number;
  /** The looks over the keyspace: three quarters; the rest for the rest of the check. */
  readonly lookUntil: number;
  /** The wait for live processes' heartbeats before a `drained` verdict (confirm-drained.ts): seven eighths, the rest to end in time. */
  readonly beatsUntil: number;
  /** Reading set entries again after that wait (confirm-drained.ts): up to fifteen sixteenths, the rest to end in time. */
  readonly rereadSetsUntil: number;
}

/**
 * A drain check's bounds, the same wherever it runs: the deployed function measures them against
 * its remaining time, the CLI against that function's timeout, so that a check run from a laptop
 * ends, and says what it did not look at, as the deployed one does (it used to walk every key
 * however long it took). Cut short, a check is never `drained`.
 */
export function drainCheckBudget(started: number, remainingMs: number): DrainCheckBudget {
  const remaining = Math.max(0, remainingMs);
  return { dataLookUntil: started + remaining / 4, readQueuesUntil: started + (remaining * 3) / 8, readSetsUntil: started + remaining / 2, lookUntil: started + (remaining * 3) / 4, beatsUntil: started + (remaining * 7) / 8, rereadSetsUntil: started + (remaining * 15) / 16 };
}
