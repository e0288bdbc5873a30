import type { Redis } from 'ioredis';
import { RunLockedError, runLockKey, type LockHolder } from './run-lock.js';

/**
 * The run lock on one Redis as a new execution's plan of run `runId` would find it, by reads
 * only (GET, TIME, PTTL): the RunLockedError acquireRunLock-5.lua 'start' would answer ({ 0 })
 * when another run holds it, unexpired by the server's clock; undefined when it would take it (no
 * lock, this run's own, or one past its `expiresAt`: its holder died) or leaves the answer to the
 * script (a key of another type, which the script names).
 *
 * Asked before any lock is taken, so that a run refused as locked writes nothing: taken in turn,
 * the source's lock was written and released again when the target's refused the run; and a
 * dead run's expired lock, still a key, counted as held, so the plan's early refusals were skipped
 * and the plan took that lock (and deleted it, releasing) before it refused the run under it.
 */
export async function lockHeldByAnotherRun(redis: Redis, prefix: string, runId: string, where: string): Promise<RunLockedError | undefined> {
  const key = runLockKey(prefix);
  let current: string | null;
  try {
    current = await redis.get(key);
  } catch (error) {
    // Not a string: the lock script refuses it, naming the key. Any other error (a lost
    // connection) is the plan's: read as "not held", the plan went on past a failed call.
    if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return undefined;
    throw error;
  }
  if (current === null) return undefined;
  const holder = readable(current);
  const [seconds, micros] = await redis.time();
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const expiresAt = holder === undefined ? undefined : expiryOf(holder.expiresAt);
  if (expiresAt !== undefined && expiresAt <= now) return undefined;
  if (holder?.runId === runId) return undefined;
  // A lock of an older version, or one we cannot read, expires by its TTL (-1: never).
  const remaining = expiresAt !== undefined ? expiresAt - now : await redis.pttl(key);
  return new RunLockedError(where, holder ?? current, remaining);
}

/** The holder record, when it is a JSON object (the script's `type(holder) == 'table'`). */
function readable(record: string): LockHolder | undefined {
  try {
    const parsed: unknown = JSON.parse(record);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

/** `expiresAt` as the script's tonumber() reads it: a number, or a string of one. */
function expiryOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}
