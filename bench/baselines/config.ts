import type { Scale } from '../config.js';

/**
 * Sizes of the baselines part (issue 18, "Real baselines in the bench"). Ours runs on the same data
 * as the re-route and transfer benchmarks; the Ruby baselines move ~3k jobs/s, so where the full
 * data would keep them busy for over ~60 s they run on a subset of it (the first N jobs of each
 * kind of the same stream: same payload mix), printed `[subset]`. Their jobs/s is round-trip bound
 * and does not depend on the size.
 */
export interface BaselinesProfile {
  readonly name: 'full' | 'quick';
  readonly reroute: { readonly ours: Scale; readonly ruby: Scale };
  readonly transfer: { readonly ours: Scale; readonly ruby: Scale };
  /**
   * Runs of each of ours (in process, whole command) per part; the table shows the median (a shared
   * VM has bursts of stalls). The Ruby runs last long enough to average them out: one each.
   */
  readonly repeats: number;
}

const PROFILES: Record<BaselinesProfile['name'], BaselinesProfile> = {
  full: {
    name: 'full',
    reroute: { ours: { schedule: 100_000, retry: 100_000, queued: 100_000 }, ruby: { schedule: 40_000, retry: 40_000, queued: 40_000 } },
    transfer: { ours: { schedule: 50_000, retry: 50_000, queued: 100_000 }, ruby: { schedule: 50_000, retry: 50_000, queued: 100_000 } },
    repeats: 3,
  },
  quick: {
    name: 'quick',
    reroute: { ours: { schedule: 4_000, retry: 3_000, queued: 3_000 }, ruby: { schedule: 4_000, retry: 3_000, queued: 3_000 } },
    transfer: { ours: { schedule: 2_500, retry: 2_500, queued: 5_000 }, ruby: { schedule: 2_500, retry: 2_500, queued: 5_000 } },
    repeats: 1,
  },
};

export const baselinesProfile = (quick: boolean): BaselinesProfile => PROFILES[quick ? 'quick' : 'full'];

/** Issue 18's goal for the whole command against what people run today, at loopback. */
export const WHOLE_COMMAND_GOAL = 20;
