import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import type { MoveShape } from '../payload/move-shape.js';
import { reverseRoutingPlan } from '../routing/reverse-plan.js';
import { classRoutingPlan, renameRoutingPlan, type RoutingPlan } from '../routing/routing-plan.js';

/**
 * A run's routing (a class mapping of a thousand workers is ~70 KB) is stored once, on the source
 * Redis, by its plan (store-run-plan.ts), so that page steps read it there instead of carrying it
 * through every state transition; its digest (storedDigest) is in the run's settings: see
 * loadRouting.
 */
export const storedRoutingKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:routing`;

/** A routing as it is stored (the plan step stores it with the run's list: store-run-plan.ts). */
export const routingJson = (plan: RoutingPlan): string => JSON.stringify(serializeRouting(plan));

/** Keeps a routing just stored (`text`) for this process's page steps; returns its digest. */
export function rememberRouting(prefix: string, runId: string, text: string, plan: RoutingPlan): string {
  const digest = storedDigest(text);
  cache.set(cacheKey(storedRoutingKey(prefix, runId), digest), plan);
  return digest;
}

/**
 * What tells one stored routing (or selection) of a run from another: `start --resume` plans the
 * same run id again, maybe with other options, and stores them under the same key.
 */
export function storedDigest(text: string): string {
  return hash('sha1', text, 'base64url').slice(0, 16);
}

/** A cache entry per stored version: a run id alone would serve a warm container the last plan it saw. */
export const cacheKey = (key: string, digest: string | undefined): string => `${key}\u0000${digest ?? ''}`;

/** A routing plan as JSON: stored in Redis, or carried in a dry run's settings (which write nothing). */
export type SerializedRouting =
  | { kind: 'classes'; mapping: Record<string, string>; liveQueues?: string[] }
  | { kind: 'renames'; renames: Record<string, string> }
  /** A rollback: the rolled-back run's moves as `[class, from, to]` (and the move's shape when it has one, move-shape.ts), from which the plan is rebuilt. */
  | { kind: 'reverse'; of: string; moves: ([string, string | null, string] | [string, string | null, string, MoveShape])[] };

export function serializeRouting(plan: RoutingPlan): SerializedRouting {
  switch (plan.kind) {
    case 'classes':
      return { kind: 'classes', mapping: Object.fromEntries(plan.mapping), liveQueues: [...plan.liveQueues].filter((q) => !plan.destinations.has(q)) };
    case 'renames':
      return { kind: 'renames', renames: Object.fromEntries(plan.renames) };
    case 'reverse':
      return { kind: 'reverse', of: plan.of, moves: plan.moves.map((m) => (m.shape === undefined ? [m.routedClass, m.from, m.to] : [m.routedClass, m.from, m.to, m.shape])) };
  }
}

export function deserializeRouting(stored: SerializedRouting): RoutingPlan {
  switch (stored.kind) {
    case 'classes':
      return classRoutingPlan(new Map(Object.entries(stored.mapping)), stored.liveQueues ?? []);
    case 'renames':
      return renameRoutingPlan(new Map(Object.entries(stored.renames)));
    case 'reverse':
      return reverseRoutingPlan(stored.of, stored.moves.map(([routedClass, from, to, shape]) => (shape === undefined ? { routedClass, from, to } : { routedClass, from, to, shape })));
  }
}

// One entry per run and stored version: a warm Lambda container serves many pages of the same
// run, and the pages of a resumed run (planned again by another container, maybe with other
// routing) must not get the routing an earlier execution planned.
const cache = new Map<string, RoutingPlan>();

/**
 * Reads a run's routing, once per process and version. `digest` is the one its plan step stored
 * (absent in the settings of a run planned before digests were kept): a stored routing that is
 * not that one was replaced by another plan of the same run id, and pages routed by either would
 * disagree with the summary's plan.
 */
export async function loadRouting(redis: Redis, prefix: string, runId: string, digest?: string): Promise<RoutingPlan> {
  const key = storedRoutingKey(prefix, runId);
  const cached = cache.get(cacheKey(key, digest));
  if (cached) return cached;
  const text = await redis.get(key);
  if (text === null) throw new FatalError(`The routing of run ${runId} is not stored on the source (${key}): its plan step did not run, or no page of the run ran for 7 days.`);
  if (digest !== undefined && storedDigest(text) !== digest) throw replacedError('routing', runId, key);
  const plan = deserializeRouting(JSON.parse(text) as SerializedRouting);
  if (cache.size > 16) cache.clear();
  cache.set(cacheKey(key, digest), plan);
  return plan;
}

/**
 * The routing a run stored (any version of it), or undefined when it stored none: a run without
 * routing, or one older than RUN_PLAN_TTL_SECONDS (store-run-plan.ts). For finishing what that run left in flight.
 */
export async function readStoredRouting(redis: Redis, prefix: string, runId: string): Promise<RoutingPlan | undefined> {
  const text = await redis.get(storedRoutingKey(prefix, runId));
  return text === null ? undefined : deserializeRouting(JSON.parse(text) as SerializedRouting);
}

/** A page of one execution met what another plan of the same run id stored. */
export function replacedError(what: string, runId: string, key: string): FatalError {
  return new FatalError(
    `The ${what} stored for run ${runId} (${key}) is not the one this execution planned: another plan of the same run id replaced it (an execution started with --resume while this one still ran?). Stop this execution; the newest one goes on with what it planned.`,
  );
}
