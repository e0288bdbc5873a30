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
