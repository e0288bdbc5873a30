/**
 * The most --rate-limit (rateLimit) takes, in jobs per second per set or queue. A move runs at
 * ~39–48k jobs/s in all at loopback (bench/README, "Slices of 200, 500 and 1,000"): a limit above
 * this one would limit nothing, yet a rate-limited move gives up the unlimited one's batching (a
 * lock renewal per slice, sets not moved apart). A larger value is a slip (99999999 for 999).
 */
export const MAX_RATE_LIMIT = 100_000;
export const RATE_LIMIT_AT_MOST = `the rate limit is at most ${MAX_RATE_LIMIT} jobs per second per set or queue (a move is slower than that, so it would limit nothing): leave it out not to limit the move`;

/**
 * Keeps a run at or under `jobsPerSecond` on average, to protect a busy source: after each slice
 * it waits until the jobs moved so far could have been moved at that rate, but never past `until`
 * (a Lambda's deadline: sleeping past it would lose the invocation, its page's counters with it).
 */
export class RateLimiter {
  private moved = 0;
  private readonly started: number;

  constructor(
    private readonly jobsPerSecond: number | undefined,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.started = now();
  }

  /** Whether `jobs` more could be moved by `until` at the rate (so a slice started now would not outlast it). */
  fits(jobs: number, until: number): boolean {
    if (!this.jobsPerSecond || this.jobsPerSecond <= 0) return true;
    return this.started + ((this.moved + jobs) / this.jobsPerSecond) * 1000 <= until;
  }

  async after(jobs: number, until?: number): Promise<void> {
    if (!this.jobsPerSecond || this.jobsPerSecond <= 0) return;
    this.moved += jobs;
    const due = this.started + (this.moved / this.jobsPerSecond) * 1000;
    const now = this.now();
    const wait = Math.min(due, until ?? due) - now;
    // Whole milliseconds, rounded up: waking before the deadline would start one more slice.
    if (wait > 0) await this.sleep(Math.ceil(wait));
  }
}

/**
 * The slice size for a rate-limited transfer with `budgetMs` to go: no more than the rate allows
 * in that time (at least 1), so that the wait after the first slice ends before the deadline and
 * the rate holds across invocations too.
 */
export function rateLimitedSliceSize(pageSize: number, jobsPerSecond: number | undefined, budgetMs: number): number {
  if (!jobsPerSecond || jobsPerSecond <= 0) return pageSize;
  return Math.max(1, Math.min(pageSize, Math.floor((jobsPerSecond * Math.max(0, budgetMs)) / 1000)));
}
