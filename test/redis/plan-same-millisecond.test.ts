import { afterEach, describe, expect, it, vi } from 'vitest';
import { LuaScript } from '../../core/redis/lua-script.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { interfereWithConnections, type RedisCall } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

/**
 * Two starts of one run whose plans read the same millisecond (one machine, or two whose clocks
 * differ by the time between them): plannedAt cannot tell them apart, only plannedBy (their
 * executions' ARNs; a local run's too: the local runner names each execution with a random UUID).
 * Plan A is paused after its source lock, plan B then plans. Before: B took both locks (the same
 * plannedAt counted as no later), A took the target's back from B, was refused at its next
 * guarded write, and its clean-up released the target's lock — B's — so B moved with no lock on
 * the target. Now the second comer is refused at its first lock, the first one plans, and both
 * locks are its own.
 */
const redis = privateSourceAndTarget();
const opened: UrlConnections[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

function connect(before?: (call: RedisCall, name: string) => Promise<void>): UrlConnections {
  const { source, target } = redis.urls();
  const provider = new UrlConnections({ source: { url: source }, target: { url: target } });
  opened.push(provider);
  return before ? interfereWithConnections(provider, before) : provider;
}

const arn = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:sidekiq-migrate:${name}`;
const input = { runId: 'run-1', mode: 'transfer', source: 'source', target: 'target', sets: ['schedule'], pageSize: 4 };
const acquireSha = new LuaScript('acquireRunLock-5').sha;
const lockOf = async (which: 'source' | 'target') => JSON.parse((await redis[which]().get('sidekiq-migrate:lock'))!) as { runId: string; plannedAt: number; plannedBy?: string };

describe('two starts of one run planning in the same millisecond', () => {
  it('one plans and holds both locks; the other is refused, taking and releasing nothing', async () => {
    for (let i = 0; i < 5; i++) await redis.source().lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
    await redis.source().sadd('queues', 'default');
    const now = Date.now();
    // The plans' clock (plannedAt) reads the same millisecond for both.
    vi.spyOn(Date, 'now').mockReturnValue(now);

    let signal!: () => void;
    let release!: () => void;
    const paused = new Promise<void>((resolve) => (signal = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Paused before its target's lock (the source's taken).
    let pausedOnce = false;
    const providerA = connect(async (call, name) => {
      if (name === 'target' && call.scripts.includes(acquireSha) && !pausedOnce) {
        pausedOnce = true;
        signal();
        await gate;
      }
    });
    const planA = planStep(input, providerA, { executionArn: arn('A') }).then(
      () => 'planned',
      (error: unknown) => (error as Error).message,
    );
    await paused;
    expect(await lockOf('source')).toMatchObject({ plannedAt: now, plannedBy: arn('A') });

    const planB = await planStep(input, connect(), { executionArn: arn('B') }).then(
      () => 'planned',
      (error: unknown) => (error as Error).message,
    );
    release();
    const outcomes = { A: await planA, B: planB };

    expect(outcomes.A).toBe('planned');
    expect(outcomes.B).toMatch(/^Run run-1: this plan \(execution .*:B, planned .*\) was superseded by a later plan of the run \(execution .*:A, planned .*\), found on source .* before it took the run's lock;/);
    for (const which of ['source', 'target'] as const) expect(await lockOf(which), which).toMatchObject({ runId: 'run-1', plannedAt: now, plannedBy: arn('A') });
  });
});
