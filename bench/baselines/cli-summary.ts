/** What the bench reads from `sidekiq-migrate run|move --json`: jobs moved from the sets and from the queues. */
export interface CliMoved {
  readonly sets: number;
  readonly queued: number;
  readonly complete: boolean;
}

type Counters = Partial<Record<'moved' | 'written', number>>;

interface Summary {
  readonly totals: Counters;
  readonly sets: Record<string, Counters>;
  readonly complete: boolean;
}

/**
 * `counter`: `moved` for `run` (jobs re-routed), `written` for `move` (jobs written to the target).
 * Sets are few and always listed; the queues are the rest of the total (the summary lists only the
 * largest queues).
 */
export function cliMoved(stdout: string, counter: 'moved' | 'written'): CliMoved | null {
  try {
    const summary = JSON.parse(stdout) as Summary;
    const total = summary.totals[counter];
    if (total === undefined) return null;
    const sets = Object.values(summary.sets).reduce((n, s) => n + (s[counter] ?? 0), 0);
    return { sets, queued: total - sets, complete: summary.complete };
  } catch {
    return null;
  }
}
