import type { Scale } from '../config.js';

export type AlgorithmName = 'ours' | 'gitlab' | 'floor';

/** What the orchestrator asks one runner process to do. */
export interface RunRequest {
  readonly algorithm: AlgorithmName;
  /** Where to connect: Redis itself, or the delay proxy in front of it. */
  readonly port: number;
  /** The data seeded (the floor regenerates it to precompute its commands). */
  readonly scale: Scale;
  readonly pageSize: number;
  readonly luaBatch: number;
  readonly floorPipelineJobs: number;
  /** Shown in progress lines. */
  readonly label: string;
}

/** Timings of the migration proper (setup and teardown excluded). */
export interface Timing {
  readonly setsSeconds: number;
  readonly queuesSeconds: number;
  /** Jobs each phase rewrote or moved, as the algorithm counted them. */
  readonly movedSets: number;
  readonly movedQueued: number;
  /** Algorithm-specific figures: our counters, the baseline's round trips… */
  readonly details: Record<string, unknown>;
}

/** What a runner reports back. Memory figures are bytes. */
export interface RunResult extends Timing {
  readonly rssBeforeRun: number;
  /** Highest sampled RSS while the migration ran (every 20 ms). */
  readonly rssPeakSampled: number;
  /** The kernel's peak RSS of the whole process (getrusage ru_maxrss), setup included. */
  readonly maxRss: number;
  readonly cpuUserSeconds: number;
  readonly cpuSystemSeconds: number;
}

/** A prepared algorithm: everything not part of the migration is done before `run` is timed. */
export interface PreparedRun {
  run(onProgress: (jobs: number) => void): Promise<Timing>;
}
