import { DEFAULT_LUA_BATCH } from '../core/reroute/reroute-options.js';
/** How many jobs of each kind a workload holds. */
export interface Scale {
  readonly schedule: number;
  readonly retry: number;
  readonly queued: number;
}

export const totalJobs = (s: Scale): number => s.schedule + s.retry + s.queued;

export interface BenchProfile {
  readonly name: 'full' | 'quick';
  /** Ours and the floor, at both latencies. */
  readonly main: Scale;
  /**
   * GitLab's algorithm costs ~2–3 sequential round trips per job, so at 0.5 ms it runs on a subset
   * with the same payload mix (its jobs/s hardly depends on the size: it is round-trip bound).
   */
  readonly baseline: { readonly loopback: Scale; readonly delayed: Scale };
  /** Ours only, at loopback: peak RSS must not grow with the data. */
  readonly big: Scale;
  /**
   * Runs of ours and of the floor per latency; the table shows the median (a shared VM has
   * bursts of stalls lasting seconds). GitLab's runs are long enough to average them out.
   */
  readonly repeats: number;
}

const PROFILES: Record<BenchProfile['name'], BenchProfile> = {
  full: {
    name: 'full',
    main: { schedule: 100_000, retry: 100_000, queued: 100_000 },
    baseline: {
      loopback: { schedule: 100_000, retry: 100_000, queued: 100_000 },
      delayed: { schedule: 5_000, retry: 5_000, queued: 5_000 },
    },
    big: { schedule: 400_000, retry: 300_000, queued: 300_000 },
    repeats: 3,
  },
  quick: {
    name: 'quick',
    main: { schedule: 4_000, retry: 3_000, queued: 3_000 },
    baseline: {
      loopback: { schedule: 4_000, retry: 3_000, queued: 3_000 },
      delayed: { schedule: 1_000, retry: 1_000, queued: 1_000 },
    },
    big: { schedule: 40_000, retry: 30_000, queued: 30_000 },
    repeats: 1,
  },
};

export const profile = (quick: boolean): BenchProfile => PROFILES[quick ? 'quick' : 'full'];

/** Fixed knobs of a run; all of them go into the JSON report. */
export const SETTINGS = {
  /** One seed for everything: each process regenerates the same bytes from it. */
  seed: 'sidekiq-migrate-bench/v1',
  /** Queue lists holding jobs (2 of them are routing destinations and stay untouched). */
  queueCount: 50,
  /**
   * Our tuning: ZSCAN COUNT / jobs per queue slice (the CLI's default page size), and jobs per Lua
   * call: the core's default (DEFAULT_LUA_BATCH), which is what the CLI runs.
   */
  pageSize: 1000,
  luaBatch: DEFAULT_LUA_BATCH,
  /** The floor sends this many jobs' command pairs per pipeline. */
  floorPipelineJobs: 1000,
  /** Round trip the proxy adds (Lambda → ElastiCache in the same AZ). */
  addedRttMicros: 500,
  /** Share of `schedule`/`retry` entries whose queue already is their destination. */
  alreadyRoutedShare: 0.05,
} as const;

/** The routing rules applied: GitLab's documented "detailed example" (examples/gitlab-routing-rules.yml). */
export const RULES: readonly (readonly [string, string])[] = [
  ['resource_boundary!=cpu&urgency=high', 'high-urgency'],
  ['feature_category=database,gitaly,global_search&urgency=throttled', 'throttled'],
  ['has_external_dependencies=true|feature_category=hooks|tags=network', 'network-intensive'],
  ['*', 'default'],
];

/** Jobs per second for the sets, the queues and both, from a run's timings. */
export function jobsPerSecond(scale: Scale, result: { readonly setsSeconds: number; readonly queuesSeconds: number }): { sets: number; queues: number; combined: number } {
  return {
    sets: (scale.schedule + scale.retry) / result.setsSeconds,
    queues: scale.queued / result.queuesSeconds,
    combined: totalJobs(scale) / (result.setsSeconds + result.queuesSeconds),
  };
}
