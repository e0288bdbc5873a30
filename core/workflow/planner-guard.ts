import type { Redis } from 'ioredis';
import { generationOfRecord, PlanSupersededError, type PlanGeneration } from '../errors/plan-superseded-error.js';
import { RunLockLostError, type LockHolder } from '../redis/run-lock.js';

/** A plan holding its run's lock: the run, and the generation it wrote into the lock. */
export interface Planner extends PlanGeneration {
  readonly runId: string;
}

/**
 * A plan's write guarded by the run's lock on one Redis (lib/run-generation.lua plannerLost): the
 * lock's key there, the plan, and the server's name for the error.
 */
export interface PlanGuard {
  readonly lockKey: string;
  readonly planner: Planner;
  readonly where: string;
}

/** The ARGV a guarded script takes for its plan: run id, plannedAt, plannedBy ('' for none). */
export const plannerArgs = (planner: Planner): [string, number, string] => [planner.runId, planner.plannedAt, planner.plannedBy ?? ''];

/**
 * Throws the error a guarded script's refusal means (`{ 3, lock record }`: another start of the
 * run holds the lock; `{ 4, lock record? }`: another run's, unreadable, or gone); `before` says
 * what the plan was about to do. Any other reply is returned as it is.
 */
export function refuseUnlessHeld<T>(reply: T, planner: Planner, where: string, before: string): T {
  if (!Array.isArray(reply) || (reply[0] !== 3 && reply[0] !== 4)) return reply;
  const record = reply[1] as Buffer | undefined;
  if (reply[0] === 3) throw new PlanSupersededError(planner.runId, planner, generationOfRecord(record), where, before);
  throw new RunLockLostError(planner.runId, where, record === undefined ? undefined : lockRecord(record));
}

function lockRecord(record: Buffer): LockHolder | string {
  try {
    return JSON.parse(record.toString()) as LockHolder;
  } catch {
    return record.toString();
  }
}

/**
 * A look at the lock, read only, as lib/run-generation.lua plannerLost judges it: null when its
 * record names the plan's run, plannedAt and plannedBy (none: ''); else the reply a guarded script
 * would have returned ({ 3, record }, { 4, record }, { 4 }).
 */
function plannerLostIn(record: Buffer | null, planner: Planner): [3 | 4, Buffer?] | null {
  if (record === null) return [4];
  let holder: Record<string, unknown>;
  try {
    holder = JSON.parse(record.toString()) as Record<string, unknown>;
  } catch {
    return [4, record];
  }
  if (typeof holder !== 'object' || holder === null || holder['runId'] !== planner.runId) return [4, record];
  const by = typeof holder['plannedBy'] === 'string' ? holder['plannedBy'] : '';
  if (Number(holder['plannedAt']) !== planner.plannedAt || by !== (planner.plannedBy ?? '')) return [3, record];
  return null;
}

/**
 * Throws as a guarded script's refusal would (refuseUnlessHeld) unless the lock `guard` names still
 * carries exactly this plan's generation. A read, not a guard of a write: for plan steps whose
 * writes go through scripts shared with the page steps (a transfer's resume of what is in flight),
 * looked at before each of them, so that a plan paused there while a later start of the run took
 * the lock leaves that start's jobs in flight to it (the writes themselves check the target's lock
 * in the same call: write-to-target.ts).
 */
export async function refuseUnlessStillHeld(redis: Redis, guard: PlanGuard, before: string): Promise<void> {
  const lost = plannerLostIn(await redis.getBuffer(guard.lockKey), guard.planner);
  if (lost) refuseUnlessHeld(lost, guard.planner, guard.where, before);
}
