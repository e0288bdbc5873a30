import type { Redis } from 'ioredis';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { reverseRoutingPlan } from '../routing/reverse-plan.js';
import { classRoutingPlan, renameRoutingPlan, type RoutingPlan } from '../routing/routing-plan.js';

/** How long a run's routing stays stored: longer than any run, with its continuations. */
const ROUTING_TTL_SECONDS = 7 * 24 * 3600;

export const storedRoutingKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:routing`;

/**
 * Stores a run's routing (a class mapping of a thousand workers is ~70 KB) once, on the source
 * Redis, so that page steps read it there instead of carrying it through every state transition.
 */
export async function storeRouting(redis: Redis, prefix: string, runId: string, plan: RoutingPlan): Promise<void> {
  await redis.set(storedRoutingKey(prefix, runId), JSON.stringify(serializeRouting(plan)), 'EX', ROUTING_TTL_SECONDS);
  cache.set(storedRoutingKey(prefix, runId), plan);
}

/** A routing plan as JSON: stored in Redis, or carried in a dry run's settings (which write nothing). */
export type SerializedRouting =
  | { kind: 'classes'; mapping: Record<string, string>; liveQueues?: string[] }
  | { kind: 'renames'; renames: Record<string, string> }
  /** A rollback: the rolled-back run's moves as `[class, from, to]`, from which the plan is rebuilt. */
  | { kind: 'reverse'; of: string; moves: [string, string | null, string][] };

export function serializeRouting(plan: RoutingPlan): SerializedRouting {
  switch (plan.kind) {
    case 'classes':
      return { kind: 'classes', mapping: Object.fromEntries(plan.mapping), liveQueues: [...plan.liveQueues].filter((q) => !plan.destinations.has(q)) };
    case 'renames':
      return { kind: 'renames', renames: Object.fromEntries(plan.renames) };
    case 'reverse':
      return { kind: 'reverse', of: plan.of, moves: plan.moves.map((m) => [m.routedClass, m.from, m.to]) };
  }
}

export function deserializeRouting(stored: SerializedRouting): RoutingPlan {
  switch (stored.kind) {
    case 'classes':
      return classRoutingPlan(new Map(Object.entries(stored.mapping)), stored.liveQueues ?? []);
    case 'renames':
      return renameRoutingPlan(new Map(Object.entries(stored.renames)));
    case 'reverse':
      return reverseRoutingPlan(stored.of, stored.moves.map(([routedClass, from, to]) => ({ routedClass, from, to })));
  }
}

// One entry per run: a warm Lambda container serves many pages of the same run. (Keyed by
// prefix and run id; a re-planned run replaces its entry in storeRouting.)
const cache = new Map<string, RoutingPlan>();

/** Reads a run's routing, once per process. */
export async function loadRouting(redis: Redis, prefix: string, runId: string): Promise<RoutingPlan> {
  const key = storedRoutingKey(prefix, runId);
  const cached = cache.get(key);
  if (cached) return cached;
  const text = await redis.get(key);
  if (text === null) throw new FatalError(`The routing of run ${runId} is not stored on the source (${key}): its plan step did not run, or the run is older than 7 days.`);
  const plan = deserializeRouting(JSON.parse(text) as SerializedRouting);
  if (cache.size > 16) cache.clear();
  cache.set(key, plan);
  return plan;
}
