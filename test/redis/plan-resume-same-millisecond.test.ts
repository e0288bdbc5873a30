import { afterEach, describe, expect, it, vi } from 'vitest';
import { LuaScript } from '../../core/redis/lua-script.js';
import { runLockKey } from '../../core/redis/run-lock.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { stopRunStep } from '../../core/workflow/steps/stop-run-step.js';
import { summarizeStep } from '../../core/workflow/steps/summarize-step.js';
import { jobsIn } from '../support/exact-jobs.js';
import { interferingRedis, SimulatedCrash } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { finishItem, seedSupersededRun, SUPERSEDED_BUDGET, SUPERSEDED_TRANSFER } from '../support/superseded-run.js';

/**
 * A plan finishes what its run left in flight (resumeInflight), checking before each leftover that
 * both locks still carry its generation, then writing it to the target in a script that looks at
 * the target's lock again. A start of the run in the same millisecond (same plannedAt, another
 * plannedBy) that took the target's lock between that check and the write must see the write
 * refused, as a page's write is (superseded-same-millisecond.test.ts): before, the plan gave the
 * script its plannedAt alone, so the write went through under the later start's lock.
 */
const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);
afterEach(() => vi.restoreAllMocks());

const arn = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:sidekiq-migrate:${name}`;
const transfer = { ...SUPERSEDED_TRANSFER, sets: [] };

describe("a plan's resume of the run's leftovers when a same-millisecond start takes the target's lock", () => {
  it('writes nothing to the target under the later start, and that start then completes with every job exactly once', async () => {
    const seeded = await seedSupersededRun(redis.source());
    const provider = connect();
    const now = Date.now();
    const copy = new LuaScript('copyJobsToLists-n4').sha;

    // X: claims a slice, then dies before writing it: 10 jobs in the run's in-flight list.
    vi.spyOn(Date, 'now').mockReturnValue(now - 5_000);
    const x = await planStep(transfer, provider, { executionArn: arn('X') });
    const target = await provider.get('target');
    const crashing = interferingRedis(target.redis, (call) => {
      if (call.scripts.includes(copy)) throw new SimulatedCrash('died before its write');
    });
    const crashProvider = { get: async (name: string) => (name === 'target' ? { ...target, redis: crashing } : provider.get(name)) };
    const item = x.work.batch.find((i) => i.kind === 'queue')!;
    await expect(pageStep({ settings: x.settings, item }, crashProvider, { ...SUPERSEDED_BUDGET, maxPages: 1 })).rejects.toThrow(/died before its write/);
    await stopRunStep(x.settings, provider, { reason: 'ABORTED' });
    expect(await jobsIn(redis.target())).toEqual([]);

    // A plans at `now`; as it writes the leftover, B (same millisecond) holds the target's lock.
    vi.spyOn(Date, 'now').mockReturnValue(now);
    let taken: Record<string, unknown> | undefined;
    const interfering = interferingRedis(target.redis, async (call) => {
      if (taken || !call.scripts.includes(copy)) return;
      const record = JSON.parse((await target.redis.get(runLockKey('')))!) as Record<string, unknown>;
      expect(record).toMatchObject({ plannedAt: now, plannedBy: arn('A') });
      taken = { ...record, plannedBy: arn('B'), expiresAt: Date.now() + 60_000 };
      await redis.target().set(runLockKey(''), JSON.stringify(taken));
    });
    const wrapped = { get: async (name: string) => (name === 'target' ? { ...target, redis: interfering } : provider.get(name)) };
    const outcome = await planStep(transfer, wrapped, { executionArn: arn('A') }).then(
      () => 'planned',
      (error: unknown) => error,
    );
    expect(taken).toBeDefined();
    expect(outcome).toBeInstanceOf(Error);
    expect(String(outcome)).toMatch(/superseded|later (start|execution)/);
    expect(await jobsIn(redis.target())).toEqual([]);
    expect(JSON.parse((await redis.target().get(runLockKey('')))!)).toEqual(taken);

    // The run goes on: a new start finishes it, every job once.
    await redis.target().del(runLockKey(''));
    vi.spyOn(Date, 'now').mockReturnValue(now + 5_000);
    const c = await planStep(transfer, provider, { executionArn: arn('C') });
    for (const next of c.work.batch) await finishItem(c, next, provider);
    await summarizeStep({ settings: c.settings, execution: c.execution, tally: c.work.tally }, provider);
    // The schedule is not part of this run (sets: []): it stays on the source.
    expect(await jobsIn(redis.source())).toEqual(seeded.filter((j) => j.startsWith('schedule')));
    expect(await jobsIn(redis.target())).toEqual(seeded.filter((j) => j.startsWith('queue:default')));
  });
});
