import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import type { PlanNotes } from '../workflow/plan-notices.js';
import type { FailedAttempt } from '../workflow/retry-notice.js';
import type { ItemCounts, SelectionProgress } from '../workflow/progress-view.js';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export const isTerminal = (status: ExecutionStatus | undefined): boolean => status !== undefined && status !== 'RUNNING';

/** How far one set or queue is, across every execution of the run. */
export interface ItemProgress extends ItemCounts {
  /** Jobs per second seen, over the pages watched so far. */
  readonly rate?: number;
  /** The error that ended the item, when it failed after its retries. */
  readonly failed?: string;
}

/** What a watcher knows of a run at one moment: the root execution and those it continued in. */
export interface ExecutionProgress {
  readonly executionArn: string;
  readonly runId?: string;
  readonly mode?: 'reroute' | 'transfer';
  readonly dryRun?: boolean;
  /** RUNNING while any execution of the chain runs; then SUCCEEDED only if every one did. */
  readonly status: ExecutionStatus;
  /** The state the newest running execution is in. */
  readonly state?: string;
  readonly startedAt?: Date;
  readonly stoppedAt?: Date;
  readonly items: readonly ItemProgress[];
  /** Sets and queues the run planned, and the jobs in them then (from the root execution's plan). */
  readonly planned?: { readonly items: number; readonly jobs?: number };
  /** A selective transfer (its settings say `selected`). */
  readonly selection?: SelectionProgress;
  /** Task attempts Step Functions retried (RetryableError, Lambda service errors). */
  readonly retries: number;
  /** Failed Task attempts, one per state and message (at most 20), in the order met: the watcher says those Retry takes. */
  readonly failedAttempts: readonly FailedAttempt[];
  readonly executions: readonly { readonly executionArn: string; readonly status: ExecutionStatus }[];
  /** Why an execution of the chain failed, was aborted or timed out. */
  readonly errors: readonly string[];
  /** Every execution ended: nothing more will change. */
  readonly finished: boolean;
  /** The chain's combined summary, once finished (absent when the plan failed). */
  readonly summary?: RunSummary;
  /** What the root execution's plan found that the operator must hear (plan-notices.ts), once it ended. */
  readonly planNotes?: PlanNotes;
}
