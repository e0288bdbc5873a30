import { describe, expect, it } from 'vitest';
import { ExecutionEndedBeforePlanError } from '../../core/errors/execution-ended-before-plan-error.js';
import { FatalError } from '../../core/errors/sidekiq-migrate-error.js';
import { RunSupersededError } from '../../core/errors/run-superseded-error.js';
import { RunLock, RunLockedError, RunLockLostError, runLockKey, runStopMarkerKey } from '../../core/redis/run-lock.js';
import { waitForLocksGone } from '../support/lock-state.js';
import { connectShared, uniquePrefix } from '../support/redis.js';

const redis = connectShared();

/** Puts the lock past its expiry (as a holder paused longer than its life leaves it); returns its record. */
async function expireLock(prefix: string): Promise<string> {
  const record = JSON.stringify({ ...(JSON.parse((await redis.get(runLockKey(prefix)))!) as object), expiresAt: 1 });
  await redis.set(runLockKey(prefix), record);
  return record;
}

describe('the run lock', () => {
  it('refuses a second run with an error naming the holder', async () => {
    const prefix = uniquePrefix();
    await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'transfer' }, 60_000, 'source redis://a');

    const second = RunLock.acquire(redis, prefix, { runId: 'run-2', operation: 'reroute' }, 60_000, 'source redis://a');

    await expect(second).rejects.toBeInstanceOf(RunLockedError);
    await expect(second).rejects.toThrow(/source redis:\/\/a is locked by run run-1 \(transfer, .* pid \d+, started .*\); the lock expires in 60 s/);
  });

  it('lets the same run take it again (a continuing Lambda, a resumed run)', async () => {
    const prefix = uniquePrefix();
    await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'reroute' }, 60_000, 'x');

    const again = await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'reroute' }, 90_000, 'x');

    expect(again.runId).toBe('run-1');
    const { expiresAt } = JSON.parse((await redis.get(runLockKey(prefix)))!) as { expiresAt: number };
    expect(expiresAt - Date.now()).toBeGreaterThan(60_000);
  });

  it('carries its expiry in its value, not a TTL, so that no volatile-* eviction policy can evict it', async () => {
    const prefix = uniquePrefix();
    const lock = await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'transfer' }, 60_000, 'x');
    expect(await redis.pttl(runLockKey(prefix))).toBe(-1);
    await lock.renew();
    expect(await redis.pttl(runLockKey(prefix))).toBe(-1);
    const { expiresAt } = JSON.parse((await redis.get(runLockKey(prefix)))!) as { expiresAt: number };
    expect(expiresAt - Date.now()).toBeGreaterThan(50_000);
  });

  it("expires when its holder crashed, and the next run takes it over", async () => {
    const prefix = uniquePrefix();
    await RunLock.acquire(redis, prefix, { runId: 'crashed', operation: 'transfer' }, 1_000, 'x');
    // While it lives, the next run is refused (a second of margin: no race with the expiry).
    await expect(RunLock.acquire(redis, prefix, { runId: 'next', operation: 'transfer' }, 60_000, 'x')).rejects.toBeInstanceOf(RunLockedError);
    await waitForLocksGone([redis], prefix); // past its expiresAt by the server's clock

    const next = await RunLock.acquire(redis, prefix, { runId: 'next', operation: 'transfer' }, 60_000, 'x');

    expect(next.runId).toBe('next');
  });

  it('is renewed and released only by its holder', async () => {
    const prefix = uniquePrefix();
    const lost = await RunLock.acquire(redis, prefix, { runId: 'slow', operation: 'transfer' }, 50, 'x');
    await waitForLocksGone([redis], prefix); // expired by the server's clock
    const current = await RunLock.acquire(redis, prefix, { runId: 'fast', operation: 'transfer' }, 60_000, 'x');

    expect(await lost.renew()).toBe(false);
    expect(await lost.release()).toBe(false);
    expect(await redis.exists(runLockKey(prefix))).toBe(1);
    expect(await current.renew()).toBe(true);
    expect(await current.release()).toBe(true);
    expect(await redis.exists(runLockKey(prefix))).toBe(0);
  });

  it('a renewal never takes the lock again once the run lost it: gone, or another run\'s past its expiry', async () => {
    const prefix = uniquePrefix();
    const lock = await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'reroute' }, 60_000, 'x');
    // Past its expiry another run took it and released it (a Lambda of run-1 paused meanwhile).
    await expireLock(prefix);
    await RunLock.acquire(redis, prefix, { runId: 'other', operation: 'transfer' }, 60_000, 'x');
    await RunLock.releaseIfHeld(redis, prefix, 'other');

    expect(await lock.renew()).toBe(false);
    expect(await redis.exists(runLockKey(prefix))).toBe(0);

    // Another run took it and died: its lock is past its expiry too.
    await RunLock.acquire(redis, prefix, { runId: 'other', operation: 'transfer' }, 60_000, 'x');
    const other = await expireLock(prefix);
    expect(await lock.renew()).toBe(false);
    expect(await redis.get(runLockKey(prefix))).toBe(other);
  });

  it('a lock of the run past its expiry that nobody took is renewed, keeping when its execution planned', async () => {
    const prefix = uniquePrefix();
    const lock = await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'reroute' }, 60_000, 'x', { newExecution: true });
    await expireLock(prefix);

    expect(await lock.renew()).toBe(true);
    const step = await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'reroute', plannedAt: lock.holder.plannedAt! }, 60_000, 'x', { mustHold: true });
    expect(step.runId).toBe('run-1');
    await expireLock(prefix);
    await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'reroute', plannedAt: lock.holder.plannedAt! }, 60_000, 'x', { mustHold: true });

    const stored = JSON.parse((await redis.get(runLockKey(prefix)))!) as { plannedAt: number; expiresAt: number };
    expect(stored.plannedAt).toBe(lock.holder.plannedAt);
    expect(stored.expiresAt - Date.now()).toBeGreaterThan(50_000);
    // Past its expiry, a later start of the run still supersedes an earlier execution's step.
    await expect(RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'reroute', plannedAt: lock.holder.plannedAt! - 1 }, 60_000, 'x', { mustHold: true })).rejects.toBeInstanceOf(RunSupersededError);
  });

  it('a step that must hold the lock is refused, taking nothing, when it is gone or another run\'s past its expiry', async () => {
    const prefix = uniquePrefix();
    const step = { runId: 'run-1', operation: 'transfer' as const, plannedAt: 1_000 };

    const gone = RunLock.acquire(redis, prefix, step, 60_000, 'source a', { mustHold: true });
    await expect(gone).rejects.toBeInstanceOf(RunLockLostError);
    await expect(gone).rejects.toMatchObject({ retryable: false });
    await expect(gone).rejects.toThrow(
      'Run run-1 lost its run lock on source a: the lock is gone (it expired, and another run may have taken and released it meanwhile); this step moves nothing more and does not take the lock again (nothing is lost: run it again to resume).',
    );
    expect(await redis.exists(runLockKey(prefix))).toBe(0);

    await RunLock.acquire(redis, prefix, { runId: 'other', operation: 'reroute', host: 'h', pid: 7, startedAt: 'then' }, 60_000, 'x');
    const other = await expireLock(prefix);
    await expect(RunLock.acquire(redis, prefix, step, 60_000, 'source a', { mustHold: true })).rejects.toThrow(
      'Run run-1 lost its run lock on source a: it expired and run other (reroute, h pid 7, started then) took it; this step moves nothing more and does not take the lock again (nothing is lost: run it again to resume).',
    );
    expect(await redis.get(runLockKey(prefix))).toBe(other);
    // While the other run holds it: locked, as before.
    await RunLock.acquire(redis, prefix, { runId: 'other', operation: 'reroute' }, 60_000, 'x');
    await expect(RunLock.acquire(redis, prefix, step, 60_000, 'source a', { mustHold: true })).rejects.toBeInstanceOf(RunLockedError);
    // A process that goes on with a run it may not hold (runTransfer) still takes a lock that is gone.
    await RunLock.releaseIfHeld(redis, prefix, 'other');
    expect((await RunLock.acquire(redis, prefix, step, 60_000, 'x')).runId).toBe('run-1');
  });

  it('names a lock it cannot read instead of failing obscurely', async () => {
    const prefix = uniquePrefix();
    await redis.set(runLockKey(prefix), 'something else', 'PX', 10_000);

    await expect(RunLock.acquire(redis, prefix, { runId: 'r', operation: 'reroute' }, 1_000, 'x')).rejects.toThrow(/locked by a lock we cannot read \(something else\)/);
  });

  it('names a lock without expiry, and shows at most 80 characters of one it cannot read', async () => {
    const prefix = uniquePrefix();
    const holder = { runId: 'old', operation: 'transfer', host: 'h', pid: 7, startedAt: 'then' };
    await redis.set(runLockKey(prefix), JSON.stringify(holder)); // an older version's lock: no expiresAt, no TTL

    await expect(RunLock.acquire(redis, prefix, { runId: 'r', operation: 'reroute' }, 1_000, 'source redis://a')).rejects.toThrow(
      'source redis://a is locked by run old (transfer, h pid 7, started then); the lock has no expiry: delete it by hand once you are sure that run is gone',
    );
    await redis.set(runLockKey(prefix), 'x'.repeat(100), 'PX', 1_500);
    await expect(RunLock.acquire(redis, prefix, { runId: 'r', operation: 'reroute' }, 1_000, 'w')).rejects.toThrow(
      `w is locked by a lock we cannot read (${'x'.repeat(80)}); the lock expires in 2 s unless that run renews it. Wait for it, or stop it.`,
    );
    expect(new RunLockedError('w', 'y', 0).message).toBe('w is locked by a lock we cannot read (y); the lock expires in 0 s unless that run renews it. Wait for it, or stop it.');
  });

  it('records who holds it, and when a new execution planned', async () => {
    const prefix = uniquePrefix();
    const before = Date.now();
    const lock = await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'transfer' }, 60_000, 'x', { newExecution: true });

    const stored = JSON.parse((await redis.get(runLockKey(prefix)))!) as Record<string, unknown>;
    expect(stored).toMatchObject({ runId: 'run-1', operation: 'transfer', pid: process.pid, host: expect.any(String) });
    expect(Number(stored['plannedAt'])).toBeGreaterThanOrEqual(before);
    expect(Date.parse(String(stored['startedAt']))).toBeGreaterThanOrEqual(before - 1_000);
    expect(lock).toMatchObject({ runId: 'run-1', key: runLockKey(prefix), ttlMs: 60_000 });
    await lock.release();

    // A step of a running execution keeps no plannedAt of its own; given fields win.
    await RunLock.acquire(redis, prefix, { runId: 'run-2', operation: 'reroute', host: 'elsewhere', pid: 1 }, 60_000, 'x');
    const step = JSON.parse((await redis.get(runLockKey(prefix)))!) as Record<string, unknown>;
    expect(step).toMatchObject({ runId: 'run-2', host: 'elsewhere', pid: 1 });
    expect(step).not.toHaveProperty('plannedAt');
  });

  it("resumes a stopped run only while holding its lock", async () => {
    const prefix = uniquePrefix();
    const lock = await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'transfer' }, 60_000, 'source a', { newExecution: true });
    await redis.set(runStopMarkerKey(prefix, 'run-1'), '{}');

    await lock.resume();
    expect(await redis.exists(runStopMarkerKey(prefix, 'run-1'))).toBe(0);

    await lock.release();
    await RunLock.acquire(redis, prefix, { runId: 'other', operation: 'transfer' }, 60_000, 'source a');
    await redis.set(runStopMarkerKey(prefix, 'run-1'), '{}');
    const lost = lock.resume();
    await expect(lost).rejects.toBeInstanceOf(FatalError);
    await expect(lost).rejects.toThrow('Run run-1 lost its run lock on source a while planning; stopping (nothing is lost: the next run resumes).');
    expect(await redis.exists(runStopMarkerKey(prefix, 'run-1'))).toBe(1);
  });

  it('ends a run: marks it (with the reason, when given) and releases, or leaves a lock it does not hold', async () => {
    const prefix = uniquePrefix();
    await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'transfer' }, 60_000, 'x');

    expect(await RunLock.endRun(redis, prefix, 'run-1', { mark: true })).toBe('released');
    const marker = JSON.parse((await redis.get(runStopMarkerKey(prefix, 'run-1')))!) as Record<string, unknown>;
    expect(marker).toEqual({ runId: 'run-1', stoppedAt: expect.any(String) });
    expect(await RunLock.endRun(redis, prefix, 'run-1', { mark: true, reason: 'TIMED_OUT' })).toBe('not-held');
    expect(JSON.parse((await redis.get(runStopMarkerKey(prefix, 'run-1')))!)).toMatchObject({ runId: 'run-1', reason: 'TIMED_OUT' });

    await RunLock.acquire(redis, prefix, { runId: 'other', operation: 'transfer' }, 60_000, 'x');
    expect(await RunLock.endRun(redis, prefix, 'run-2', { mark: false })).toBe('not-held');
    expect(await redis.exists(runLockKey(prefix), runStopMarkerKey(prefix, 'run-2'))).toBe(1);
  });

  it("refuses, writing nothing, a plan of an execution the stop marker names as ended; another execution's plan, or one naming none, takes it", async () => {
    const prefix = uniquePrefix();
    // The clean-up after execution A ended (ABORTED) while A's plan had not taken the lock yet.
    expect(await RunLock.endRun(redis, prefix, 'run-1', { mark: true, reason: 'ABORTED', plannedBy: 'arn:A' })).toBe('not-held');
    const marker = await redis.get(runStopMarkerKey(prefix, 'run-1'));
    expect(JSON.parse(marker!)).toMatchObject({ runId: 'run-1', reason: 'ABORTED', endedBy: 'arn:A' });

    const late = RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'reroute', plannedBy: 'arn:A' }, 60_000, 'source x', { newExecution: true });

    await expect(late).rejects.toBeInstanceOf(ExecutionEndedBeforePlanError);
    await expect(late).rejects.toThrow('Run run-1: its execution arn:A ended (stopped or timed out) before its plan took the run lock on source x; this plan takes no lock and writes nothing.');
    expect(await redis.exists(runLockKey(prefix))).toBe(0);
    expect(await redis.get(runStopMarkerKey(prefix, 'run-1'))).toBe(marker);

    const unnamed = await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'reroute' }, 60_000, 'x', { newExecution: true });
    expect(await unnamed.release()).toBe(true);
    const resumed = await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'reroute', plannedBy: 'arn:B' }, 60_000, 'x', { newExecution: true });
    await resumed.resume();
    expect(await redis.exists(runStopMarkerKey(prefix, 'run-1'))).toBe(0);
    expect(await resumed.release()).toBe(true);
  });
});
