import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import type { RoutingPlan } from '../routing/routing-plan.js';

/** What every re-route operation needs. */
export interface RerouteContext {
  readonly redis: Redis;
  readonly keys: SidekiqKeys;
  readonly plan: RoutingPlan;
  /** Read and decide, count what would happen, write nothing. */
  readonly dryRun: boolean;
  /** Also rewrite ActiveJob's `args[0].queue_name` when it names the old queue (default on). */
  readonly rewriteActiveJobQueueName?: boolean;
  /** Most jobs one Lua call handles, so that no call blocks Redis for long (default 100). */
  readonly luaBatch?: number;
  /**
   * Record what each page moves under this run's id (move-record.ts), so that the run can be
   * rolled back. Absent: nothing is recorded (a dry run never records).
   */
  readonly recordMovesAs?: { readonly runId: string };
}

// 100 jobs per call: the same throughput as 200 in the benchmark, with calls half as long
// (about 0.5 ms mean on a 100k-entry set; the rule is a couple of milliseconds at most).
export const DEFAULT_LUA_BATCH = 100;
