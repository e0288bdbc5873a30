import { MAX_JOBS_PER_CLAIM } from '../../core/transfer/transfer-options.js';
import type { Scale } from '../config.js';

/**
 * Sizes of the transfer benchmark (issue #4). The data is the re-route benchmark's workload
 * (same generator, seed and payloads); only the counts differ.
 */
export interface TransferProfile {
  readonly name: 'full' | 'quick';
  /** Ours, the floor and the naive loop at loopback; ours and the floor at 0.5 ms. */
  readonly main: Scale;
  /**
   * The naive loop at 0.5 ms: ~2 sequential round trips per job, so a subset with the same payload
   * mix (its jobs/s is round-trip bound and does not depend on the size).
   */
  readonly naiveDelayed: Scale;
  /** Ours alone at loopback on more jobs: peak RSS must not grow with the data. */
  readonly big: Scale;
  /** Runs of ours and of the floor per latency, and of the naive loop at loopback (the table shows the median); the delayed naive run is one. */
  readonly repeats: number;
}

const PROFILES: Record<TransferProfile['name'], TransferProfile> = {
  full: {
    name: 'full',
    main: { schedule: 50_000, retry: 50_000, queued: 100_000 },
    naiveDelayed: { schedule: 2_500, retry: 2_500, queued: 5_000 },
    big: { schedule: 250_000, retry: 250_000, queued: 500_000 },
    repeats: 3,
  },
  quick: {
    name: 'quick',
    main: { schedule: 2_500, retry: 2_500, queued: 5_000 },
    naiveDelayed: { schedule: 500, retry: 500, queued: 1_000 },
    big: { schedule: 25_000, retry: 25_000, queued: 50_000 },
    repeats: 1,
  },
};

export const transferProfile = (quick: boolean): TransferProfile => PROFILES[quick ? 'quick' : 'full'];

/** Fixed knobs of the transfer runs; all of them go into the JSON report. */
export const TRANSFER_SETTINGS = {
  /**
   * Ours: jobs per claim (one claim Lua call on the source, one pipeline of write Lua calls of at
   * most MAX_JOBS_PER_WRITE jobs on the target, one DEL of the in-flight key and one lock renewal
   * per slice): the most a claim takes, whatever the page size (MAX_JOBS_PER_CLAIM), which is what
   * the CLI's `move` runs.
   */
  sliceSize: MAX_JOBS_PER_CLAIM,
  /** The naive loop reads a sorted set this many entries at a time (ZRANGE 0 N-1 WITHSCORES). */
  naivePage: 1000,
  /** The floor moves this many jobs per bulk read / write / removal. */
  floorPage: 1000,
  /** Round trip the proxies add, in front of each server (Lambda → two ElastiCache endpoints). */
  addedRttMicros: 500,
  /** The source's pristine copy of the data lives in this database; runs copy it into db 0. */
  pristineDb: 1,
} as const;
