import type { Redis } from 'ioredis';
import { runLockKey } from '../../core/redis/run-lock.js';
import { waitUntil } from './wait-until.js';

/**
 * Whether no live run lock is left under `prefix`: released, or past the `expiresAt` its value
 * carries by the server's clock (the lock has no TTL, see acquireRunLock-5.lua).
 */
export async function lockIsGone(redis: Redis, prefix = ''): Promise<boolean> {
  const lock = await redis.get(runLockKey(prefix));
  if (lock === null) return true;
  const [seconds, micros] = await redis.time();
  const expiresAt = Number((JSON.parse(lock) as { expiresAt?: number }).expiresAt);
  return expiresAt <= Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Waits (no fixed sleep) until the run lock is gone from every one of `servers`. */
export async function waitForLocksGone(servers: readonly Redis[], prefix = ''): Promise<void> {
  await waitUntil('the run locks are released or expired', async () => {
    for (const redis of servers) if (!(await lockIsGone(redis, prefix))) return false;
    return true;
  });
}

/** Sets the run lock on each server (unprefixed) to have expired a second ago, as a dead run's lock is once its TTL ran out. */
export async function expireLocks(...servers: Redis[]): Promise<void> {
  for (const server of servers) {
    const lock = JSON.parse((await server.get('sidekiq-migrate:lock'))!) as Record<string, unknown>;
    await server.set('sidekiq-migrate:lock', JSON.stringify({ ...lock, expiresAt: Date.now() - 1000 }));
  }
}
