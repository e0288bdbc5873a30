import { afterEach, describe, expect, it } from 'vitest';
import { LuaScript } from '../../core/redis/lua-script.js';
import { RunLockedError } from '../../core/redis/run-lock.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { interfereWithConnections } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

/**
 * The race a plan's read of the locks cannot close (lock-held-by-another.ts): another run takes
 * the target's lock after the plan read it free and took the source's. The write is unavoidable
 * (no step spans two servers); it stays safe: the plan is refused as locked at the target's lock,
 * its clean-up releases the source's lock it took, and nothing else was written on either server.
 */
const redis = privateSourceAndTarget();
const opened: UrlConnections[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

const acquireSha = new LuaScript('acquireRunLock-5').sha;
const otherRun = () => JSON.stringify({ runId: 'run-other', operation: 'transfer', host: 'elsewhere', pid: 4242, startedAt: '2026-12-06T10:00:00.000Z', expiresAt: Date.now() + 600_000 });

describe("another run takes the target's lock between the plan's read of it and its lock script", () => {
  it("refused as locked there; the source's lock released; both servers as they were but for that run's lock", async () => {
    await redis.source().lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));
    await redis.source().sadd('queues', 'default');
    const before = { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) };
    const { source, target } = redis.urls();
    const provider = new UrlConnections({ source: { url: source }, target: { url: target } });
    opened.push(provider);
    let raced = false;
    const racing = interfereWithConnections(provider, async (call, name) => {
      if (name === 'target' && call.scripts.includes(acquireSha) && !raced) {
        raced = true;
        await redis.target().set('sidekiq-migrate:lock', otherRun());
      }
    });

    const planned = planStep({ runId: 'run-1', mode: 'transfer', source: 'source', target: 'target', pageSize: 4 }, racing, {}).then(
      () => undefined,
      (error: unknown) => error,
    );

    const error = await planned;
    expect(raced).toBe(true);
    expect(error).toBeInstanceOf(RunLockedError);
    expect((error as Error).message).toMatch(/^target redis:\/\/127\.0\.0\.1:\d+ is locked by run run-other \(transfer, elsewhere pid 4242/);
    expect(await keyValueSnapshot(redis.source())).toEqual(before.source);
    const { 'sidekiq-migrate:lock': lock, ...rest } = await keyValueSnapshot(redis.target());
    expect(lock).toContain(Buffer.from('"runId":"run-other"').toString('hex'));
    expect(rest).toEqual(before.target);
  });
});
