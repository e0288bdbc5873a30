import type { Redis } from 'ioredis';
import type { RoutingPlan } from '../routing/routing-plan.js';
import { MOVES_TTL_SECONDS } from '../reroute/move-record.js';
import { serializeRouting, type SerializedRouting } from './stored-routing.js';

/**
 * What a run was started with, fixed by its first plan: its operation, routing and selected
 * classes, each as one canonical string (null: none). A run resumed with other routing would move
 * the rest of its jobs elsewhere than those it moved, and a re-route's rollback record would hold
 * both routings' moves; with other classes a move would move other classes' jobs. The plan step
 * stores :routing and :classes again at every plan (replacing them), and deletes the work list
 * when the run ends (stopped, failed, finished): neither tells what the run first moved with, nor
 * whether a run that stored neither (a plain move) planned at all. This record does.
 */
export interface StartedWith {
  readonly mode: 'reroute' | 'transfer';
  readonly routing: string | null;
  readonly classes: string | null;
  /**
   * A transfer's target, by the id the target itself keeps (target-identity.ts), as its first plan
   * found it: resumed to another Redis, the rest of its jobs would go there and the run would be
   * split between two servers, its summary and records mixed. Absent for a re-route, and in a
   * record written before it was kept (such a run's target is the one holding its ledgers: see runDiffers).
   */
  readonly target?: string;
}

/**
 * As long as the moves record `rollback` reads: a run resumed with other routing within it would mix
 * that record. Not deleted when the run completes, for that reason (a finished re-route named again
 * with other routing is refused: cli-run-id-other-routing), and for a transfer as well (one rule):
 * it is no Sidekiq data and no leftover, which the looks under a prefix (hasSidekiqData, the drain
 * check's other prefixes and leftovers) do not count, so after a namespace move the old prefix
 * still reads as empty (cli-namespace-move).
 */
const STARTED_WITH_TTL_SECONDS = MOVES_TTL_SECONDS;

export const startedWithKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:started-with`;

/** The canonical record of a run started with `plan` (none: a plain move) and `classes` (none: every class), to `target` (a transfer's target id). */
export function startedWith(mode: StartedWith['mode'], plan: RoutingPlan | undefined, classes: readonly string[] | undefined, target?: string): StartedWith {
  return { mode, routing: plan ? canonicalRouting(serializeRouting(plan)) : null, classes: classes ? canonicalClasses(classes) : null, ...(target !== undefined ? { target } : {}) };
}

/**
 * Records what run `runId` was started with, unless a plan of it recorded it already (SET NX: a
 * resumed run keeps its first plan's). Written by the plan step once it holds the run lock and its
 * list is made, before any job of the run moves. True when this call wrote it (the run's first
 * plan): a first plan that fails before it moved anything deletes it (forgetStartedWith).
 */
export async function recordStartedWith(redis: Redis, prefix: string, runId: string, record: StartedWith): Promise<boolean> {
  return (await redis.set(startedWithKey(prefix, runId), JSON.stringify(record), 'EX', STARTED_WITH_TTL_SECONDS, 'NX')) === 'OK';
}

/**
 * What run `runId` was started with: its record; for a run planned before the record was kept, its
 * stored routing and classes while its work list is there (it planned, and had not ended); else
 * undefined (never planned, a dry run, or older than 30 days). A record that does not parse is
 * one no command's routing equals.
 */
export async function readStartedWith(redis: Redis, prefix: string, runId: string, legacy: { routingKey: string; selectionKey: string; workListKey: string; mode: StartedWith['mode'] }): Promise<StartedWith | undefined> {
  const text = await redis.get(startedWithKey(prefix, runId));
  if (text !== null) {
    try {
      const parsed = JSON.parse(text) as StartedWith;
      if (parsed.mode === 'reroute' || parsed.mode === 'transfer') return parsed;
    } catch {
      // below
    }
    return { mode: legacy.mode, routing: `unreadable ${text}`, classes: `unreadable ${text}` };
  }
  if ((await redis.exists(legacy.workListKey)) === 0) return undefined;
  const routing = await redis.get(legacy.routingKey);
  const classes = await redis.get(legacy.selectionKey);
  return { mode: legacy.mode, routing: parsedOr(routing, (r: SerializedRouting) => canonicalRouting(r)), classes: parsedOr(classes, (c: string[]) => canonicalClasses(c)) };
}

/** What differs between what a run was started with and what a command would resume it with. */
export type StartDifference = 'routing' | 'classes' | 'both';

export function startDifference(started: StartedWith, wanted: StartedWith): StartDifference | undefined {
  const routing = started.routing !== wanted.routing;
  const classes = started.classes !== wanted.classes;
  return routing && classes ? 'both' : routing ? 'routing' : classes ? 'classes' : undefined;
}

/** A stored JSON value as one string (null when none is stored; one no value equals when it does not parse). */
function parsedOr<T>(text: string | null, of: (value: T) => string): string | null {
  if (text === null) return null;
  try {
    return of(JSON.parse(text) as T);
  } catch {
    return `unreadable ${text}`;
  }
}

/** Classes in no particular order: a selection written in another order is the same selection. */
function canonicalClasses(classes: readonly string[]): string {
  return JSON.stringify([...classes].sort());
}

/** A routing as one string, whatever the order of its entries (a mapping file with its lines in another order is the same routing). */
function canonicalRouting(routing: SerializedRouting): string {
  const sorted = (entries: Record<string, string>) => Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  switch (routing.kind) {
    case 'classes':
      return JSON.stringify(['classes', sorted(routing.mapping), [...(routing.liveQueues ?? [])].sort()]);
    case 'renames':
      return JSON.stringify(['renames', sorted(routing.renames)]);
    case 'reverse':
      return JSON.stringify(['reverse', routing.of, routing.moves.map((m) => JSON.stringify(m)).sort()]);
  }
}
