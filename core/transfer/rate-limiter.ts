/**
 * Keeps a run at or under `jobsPerSecond` on average, to protect a busy source: after each slice
 * it waits until the jobs moved so far could have been moved at that rate.
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

  async after(jobs: number): Promise<void> {
    if (!this.jobsPerSecond || this.jobsPerSecond <= 0) return;
    this.moved += jobs;
    const due = this.started + (this.moved / this.jobsPerSecond) * 1000;
    const wait = due - this.now();
    if (wait > 0) await this.sleep(wait);
  }
}
