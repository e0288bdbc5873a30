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
  /**
   * `rubyDelayed`: the Ruby baseline's data at 0.5 ms added round trip, where it is round-trip bound
   * (~2.4 sequential round trips per job for GitLab's algorithm, 2–3 for the hand loop): a subset of
   * the same stream, compared in jobs/s. Ours runs on `ours` there too.
   */
  readonly reroute: { readonly ours: Scale; readonly ruby: Scale; readonly rubyDelayed: Scale };
  readonly transfer: { readonly ours: Scale; readonly ruby: Scale; readonly rubyDelayed: Scale };
  /**
   * Runs of each of ours (in process, whole command) per part; the table shows the median (a shared
   * VM has bursts of stalls). The Ruby runs last long enough to average them out: one each.
   */
  readonly repeats: number;
}

const PROFILES: Record<BaselinesProfile['name'], BaselinesProfile> = {
  full: {
    name: 'full',
    reroute: { ours: { schedule: 100_000, retry: 100_000, queued: 100_000 }, ruby: { schedule: 40_000, retry: 40_000, queued: 40_000 }, rubyDelayed: { schedule: 5_000, retry: 5_000, queued: 5_000 } },
    transfer: {
      ours: { schedule: 50_000, retry: 50_000, queued: 100_000 },
      ruby: { schedule: 50_000, retry: 50_000, queued: 100_000 },
      rubyDelayed: { schedule: 2_500, retry: 2_500, queued: 5_000 },
    },
    repeats: 3,
  },
  quick: {
    name: 'quick',
    reroute: { ours: { schedule: 4_000, retry: 3_000, queued: 3_000 }, ruby: { schedule: 4_000, retry: 3_000, queued: 3_000 }, rubyDelayed: { schedule: 1_000, retry: 1_000, queued: 1_000 } },
    transfer: {
      ours: { schedule: 2_500, retry: 2_500, queued: 5_000 },
      ruby: { schedule: 2_500, retry: 2_500, queued: 5_000 },
      rubyDelayed: { schedule: 500, retry: 500, queued: 1_000 },
    },
    repeats: 1,
  },
};

export const baselinesProfile = (quick: boolean): BaselinesProfile => PROFILES[quick ? 'quick' : 'full'];

/** Issue 18's goal for the whole command against what people run today, at loopback. */
export const WHOLE_COMMAND_GOAL = 20;
/** …and with ADDED_RTT_MICROS of round trip in front of every Redis server. */
export const DELAYED_WHOLE_COMMAND_GOAL = 100;
/** The round trip the delayed rows add in front of each server (as the re-route and transfer parts). */
export const ADDED_RTT_MICROS = 500;

/** Which network a table's rows ran over, and the goal their whole-command ratio is held to. */
export interface Network {
  readonly name: 'loopback' | '0.5 ms';
  readonly goal: number;
}
export const LOOPBACK: Network = { name: 'loopback', goal: WHOLE_COMMAND_GOAL };
export const DELAYED: Network = { name: '0.5 ms', goal: DELAYED_WHOLE_COMMAND_GOAL };
