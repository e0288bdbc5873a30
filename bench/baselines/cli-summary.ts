/** What the bench reads from `sidekiq-migrate run|move --json`: jobs moved from the sets and from the queues. */
export interface CliMoved {
  readonly sets: number;
  readonly queued: number;
  readonly complete: boolean;
}

interface Summary {
  readonly totals: { readonly moved: number };
  readonly sets: Record<string, { readonly moved?: number }>;
  readonly complete: boolean;
}

/** Sets are few and always listed; the queues are the rest of the total (the summary lists only the largest). */
export function cliMoved(stdout: string): CliMoved | null {
  try {
    const summary = JSON.parse(stdout) as Summary;
    const sets = Object.values(summary.sets).reduce((n, s) => n + (s.moved ?? 0), 0);
    return { sets, queued: summary.totals.moved - sets, complete: summary.complete };
  } catch {
    return null;
  }
}
