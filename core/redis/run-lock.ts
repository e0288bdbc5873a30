import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { LuaScript } from './lua-script.js';
import { classifyRedisError } from './redis-errors.js';

const acquireScript = new LuaScript('acquireRunLock-1');
const renewScript = new LuaScript('renewRunLock-1');

/** Who holds a lock: enough for an operator to find the run and decide to wait or kill it. */
export interface LockHolder {
  readonly runId: string;
  readonly operation: 'reroute' | 'transfer';
  readonly host: string;
  readonly pid: number;
  readonly startedAt: string;
}

/** Another run holds the lock. Not retryable at once; it may be after the holder ends or expires. */
export class RunLockedError extends FatalError {
  constructor(
    readonly where: string,
    readonly holder: LockHolder | string,
    readonly expiresInMs: number,
  ) {
    const who =
      typeof holder === 'string'
        ? `a lock we cannot read (${holder.slice(0, 80)})`
        : `run ${holder.runId} (${holder.operation}, ${holder.host} pid ${holder.pid}, started ${holder.startedAt})`;
    super(`${where} is locked by ${who}; the lock expires in ${Math.ceil(expiresInMs / 1000)} s unless that run renews it. Wait for it, or stop it.`);
  }
}

/** The lock key, under the Sidekiq key prefix so that two applications sharing a Redis do not collide. */
export const runLockKey = (prefix: string): string => `${prefix}sidekiq-migrate:lock`;

/**
 * A run lock held on one Redis: two transfers, or a transfer and a re-route, never interleave on
 * the same keys. It has a TTL so that a crashed holder does not block forever; a live run renews
 * it on every page (`renew`) and releases it at the end.
 */
export class RunLock {
  private constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly holder: LockHolder,
    readonly ttlMs: number,
  ) {}

  get runId(): string {
    return this.holder.runId;
  }

  static async acquire(redis: Redis, prefix: string, holder: Omit<LockHolder, 'host' | 'pid' | 'startedAt'> & Partial<LockHolder>, ttlMs: number, where: string): Promise<RunLock> {
    const record: LockHolder = { host: hostname(), pid: process.pid, startedAt: new Date().toISOString(), ...holder };
    const key = runLockKey(prefix);
    let reply: [number, Buffer?, number?];
    try {
      reply = (await acquireScript.run(redis, { keys: [key], args: [record.runId, JSON.stringify(record), ttlMs] })) as typeof reply;
    } catch (error) {
      throw classifyRedisError(error, `Taking the run lock on ${where}`);
    }
    if (reply[0] !== 1) {
      let current: LockHolder | string = String(reply[1] ?? '');
      try {
        current = JSON.parse(current) as LockHolder;
      } catch {
        // not ours to parse: shown as it is
      }
      throw new RunLockedError(where, current, reply[2] ?? 0);
    }
    return new RunLock(redis, key, record, ttlMs);
  }

  /** Extends the lock (taking it again if it is gone); false when another run holds it now. */
  async renew(): Promise<boolean> {
    return (await renewScript.run(this.redis, { keys: [this.key], args: [this.runId, 'renew', this.ttlMs, JSON.stringify(this.holder)] })) === 1;
  }

  async release(): Promise<boolean> {
    return RunLock.releaseIfHeld(this.redis, this.key.slice(0, -runLockKey('').length), this.runId);
  }

  /** Releases the lock if `runId` holds it (a later step of the same run, which has no RunLock object). */
  static async releaseIfHeld(redis: Redis, prefix: string, runId: string): Promise<boolean> {
    return (await renewScript.run(redis, { keys: [runLockKey(prefix)], args: [runId, 'release', 0, ''] })) === 1;
  }
}
