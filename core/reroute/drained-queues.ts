import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { isDrainedQueue, type RoutingPlan } from '../routing/routing-plan.js';
import { discoverQueues, type SkippedKey } from './discover-queues.js';

export interface DrainedQueues {
  /** Queues whose jobs are to be moved (GitLab: every queue that is not a routing destination). */
  readonly drained: string[];
  /** Queues left alone: routing destinations (or, with renames, queues not renamed). */
  readonly untouched: string[];
  readonly skipped: SkippedKey[];
}

/** Finds the queue lists and splits them into those a run drains and those it leaves alone. */
export async function findDrainedQueues(redis: Redis, keys: SidekiqKeys, plan: RoutingPlan): Promise<DrainedQueues> {
  return splitDrainedQueues(await discoverQueues(redis, keys), plan);
}

/** findDrainedQueues of queues already discovered (the plan's walk: plan-walk.ts). */
export function splitDrainedQueues({ queues, skipped }: { queues: string[]; skipped: SkippedKey[] }, plan: RoutingPlan): DrainedQueues {
  return {
    drained: queues.filter((q) => isDrainedQueue(plan, q)),
    untouched: queues.filter((q) => !isDrainedQueue(plan, q)),
    skipped,
  };
}
