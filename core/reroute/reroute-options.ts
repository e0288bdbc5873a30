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
  /**
   * Called the moment a page's writes (its Lua calls) are sent, before their reply: what it sends
   * on the same connection runs right after them, in their round trip (page-step.ts renews the run
   * lock there, as it would after the reply, without a round trip of its own).
   */
  readonly alongWrites?: () => void;
}

// 50 jobs per call: every Sidekiq client of the Redis waits while a call runs, and issue #18 holds
// calls to 1 ms at the 99th percentile and 2 ms at most. A set entry costs ~7 µs (ZREM + ZADD of a
// GitLab-sized payload on a 100k-entry set, 2-core VM), so 100 per call averaged ~0.7 ms with a
// tail past 2 ms; halving the call halves both for a few more EVALSHAs in the same pipeline.
export const DEFAULT_LUA_BATCH = 50;
