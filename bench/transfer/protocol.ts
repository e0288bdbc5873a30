import type { Scale } from '../config.js';
import type { PreparedRun, RunResult } from '../runner/protocol.js';

export type TransferAlgorithm = 'ours' | 'naive' | 'floor';

/** What the orchestrator asks one transfer runner process to do. */
export interface TransferRunRequest {
  readonly algorithm: TransferAlgorithm;
  /** Where to connect: each Redis itself, or the delay proxy in front of it. */
  readonly sourcePort: number;
  readonly targetPort: number;
  /** The data seeded on the source (for progress lines). */
  readonly scale: Scale;
  /** The sorted sets that hold entries (ours transfers exactly these). */
  readonly sets: readonly ('schedule' | 'retry')[];
  readonly sliceSize: number;
  readonly naivePage: number;
  readonly floorPage: number;
  /** Ours: names the in-flight keys and ledgers. */
  readonly runId: string;
  /** Shown in progress lines. */
  readonly label: string;
}

/** The same timings and memory figures as a re-route run (see runner/protocol.ts). */
export type TransferRunResult = RunResult;
export type { PreparedRun };
