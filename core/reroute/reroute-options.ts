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
  /** Most jobs one Lua call handles, so that no call blocks Redis for long (default 200). */
  readonly luaBatch?: number;
}

export const DEFAULT_LUA_BATCH = 200;
