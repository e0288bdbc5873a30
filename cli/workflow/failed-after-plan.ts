/**
 * What an execution that failed after its plan (its add-up or summary step, say) had done: its
 * pages may well have moved jobs, and the error alone read like a failed plan's (nothing moved).
 * One text for a local run and for `watch`/`status` of a deployed one; each says how to finish.
 * Follows the subject: "The run failed after its plan: …". "At least": a page task that fails
 * returns nothing, so what its invocation's earlier pages moved never reaches the run's tally.
 */
export function failedAfterPlan(run: {
  readonly mode: 'reroute' | 'transfer';
  readonly dryRun: boolean;
  /** Jobs its pages moved (a transfer: wrote to the target; a dry run: counted). */
  readonly done: number;
  /** A transfer's jobs claimed but not yet written. */
  readonly inFlight?: number;
  /** How to finish: the same command, or `start --resume`. */
  readonly again: string;
  /** How it ended (default "failed"): a deployed execution may have been stopped or timed out. */
  readonly ended?: 'failed' | 'was stopped' | 'timed out';
  /**
   * A dry run whose listing of its sets and queues ran out of time (DryRunListTooLongError): run
   * again as it is, it stops at the same place. Where its error is said ("above", "below").
   */
  readonly listCutShort?: 'above' | 'below';
}): string {
  const ended = run.ended ?? 'failed';
  const jobs = `${run.done.toLocaleString('en-US')} job(s)`;
  if (run.dryRun && run.listCutShort) {
    return `${ended} after its plan, having written nothing: its pages counted at least ${jobs} to move, not the whole count, because it could not list every set and queue in time. Run as it is, it stops at the same place: do first what the error ${run.listCutShort} says.`;
  }
  if (run.dryRun) return `${ended} after its plan, having written nothing: its pages counted at least ${jobs} to move. Run it again for the whole count.`;
  const inFlight = run.inFlight ? ` (${run.inFlight.toLocaleString('en-US')} more claimed are in flight: the next run writes them first)` : '';
  const did = run.mode === 'transfer' ? `wrote at least ${jobs} to the target${inFlight}` : `moved at least ${jobs}`;
  return `${ended} after its plan: its pages ${did} (each page is whole). ${run.again}`;
}
