// lockHeldByAnotherRun (a plan's read of a lock before it takes any) answers as acquireRunLock-5
// 'start' would, for every state a lock can be in: refused as locked exactly when the script
// refuses, with the same words; otherwise the script takes it. A read that refused what the script
// takes would block runs the lock lets in; one that let through what it refuses would write (the
// source's lock taken and released) before the refusal.
import { describe, expect, it } from 'vitest';
import { lockHeldByAnotherRun } from '../../core/redis/lock-held-by-another.js';
import { RunLock, RunLockedError, runLockKey } from '../../core/redis/run-lock.js';
import { connectShared, uniquePrefix } from '../support/redis.js';

const redis = connectShared();

const holder = (extra: Record<string, unknown>) => JSON.stringify({ runId: 'run-other', operation: 'transfer', host: 'elsewhere', pid: 4242, startedAt: '2026-12-06T10:00:00.000Z', ...extra });

/** The lock states: how each is written under `prefix`. */
const states: Record<string, (prefix: string) => Promise<unknown>> = {
  'none': async () => undefined,
  "another run's, unexpired": (p) => redis.set(runLockKey(p), holder({ expiresAt: Date.now() + 600_000 })),
  "another run's, past its expiry (its holder died)": (p) => redis.set(runLockKey(p), holder({ expiresAt: Date.now() - 1_000 })),
  "another run's, its expiry a string": (p) => redis.set(runLockKey(p), holder({ expiresAt: String(Date.now() + 600_000) })),
  "another run's, an older version's (no expiresAt: a TTL)": (p) => redis.set(runLockKey(p), holder({}), 'PX', 300_000),
  "another run's, no expiry at all": (p) => redis.set(runLockKey(p), holder({})),
  'a lock we cannot read': (p) => redis.set(runLockKey(p), 'not json', 'PX', 300_000),
  "this run's own, unexpired": (p) => redis.set(runLockKey(p), holder({ runId: 'run-1', expiresAt: Date.now() + 600_000 })),
  "this run's own, past its expiry": (p) => redis.set(runLockKey(p), holder({ runId: 'run-1', expiresAt: Date.now() - 1_000 })),
};

/** The states the script refuses as locked. */
const REFUSED = new Set(["another run's, unexpired", "another run's, its expiry a string", "another run's, an older version's (no expiresAt: a TTL)", "another run's, no expiry at all", 'a lock we cannot read']);

describe('a plan reads the lock as the lock script would answer its start', () => {
  for (const [state, write] of Object.entries(states)) {
    it(state, async () => {
      const [read, script] = [uniquePrefix(), uniquePrefix()];
      await write(read);
      await write(script);

      const refused = await lockHeldByAnotherRun(redis, read, 'run-1', 'source redis://a');
      const taken = await RunLock.acquire(redis, script, { runId: 'run-1', operation: 'transfer' }, 60_000, 'source redis://a', { newExecution: true }).then(
        () => undefined,
        (error: unknown) => error,
      );

      expect(taken === undefined ? 'taken' : 'refused').toBe(REFUSED.has(state) ? 'refused' : 'taken');
      if (taken === undefined) {
        expect(refused).toBeUndefined();
      } else {
        expect(taken).toBeInstanceOf(RunLockedError);
        expect(refused).toBeInstanceOf(RunLockedError);
        // The seconds left may differ by the time between the two reads.
        const words = (e: unknown) => (e as Error).message.replace(/expires in \d+ s/, 'expires in N s');
        expect(words(refused)).toBe(words(taken));
      }
    });
  }
});
