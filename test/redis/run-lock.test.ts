import { describe, expect, it } from 'vitest';
import { RunLock, RunLockedError, runLockKey } from '../../core/redis/run-lock.js';
import { waitForLocksGone } from '../support/lock-state.js';
import { connectShared, uniquePrefix } from '../support/redis.js';

const redis = connectShared();

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

  it('a renewal takes the lock again when it is gone (released by a sibling execution of the run)', async () => {
    const prefix = uniquePrefix();
    const lock = await RunLock.acquire(redis, prefix, { runId: 'run-1', operation: 'reroute' }, 60_000, 'x');
    await RunLock.releaseIfHeld(redis, prefix, 'run-1');

    expect(await lock.renew()).toBe(true);
    expect(JSON.parse((await redis.get(runLockKey(prefix)))!)).toMatchObject({ runId: 'run-1', operation: 'reroute' });
  });

  it('names a lock it cannot read instead of failing obscurely', async () => {
    const prefix = uniquePrefix();
    await redis.set(runLockKey(prefix), 'something else', 'PX', 10_000);

    await expect(RunLock.acquire(redis, prefix, { runId: 'r', operation: 'reroute' }, 1_000, 'x')).rejects.toThrow(/locked by a lock we cannot read \(something else\)/);
  });
});
