import { afterEach, describe, expect, it, vi } from 'vitest';
import { RunSupersededError } from '../../core/errors/run-superseded-error.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { RunLock, runLockKey } from '../../core/redis/run-lock.js';
import { runExecutionsKey } from '../../core/workflow/run-executions.js';
import { addUpStep } from '../../core/workflow/steps/add-up-step.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { releaseAfterFailureStep, stopRunStep } from '../../core/workflow/steps/stop-run-step.js';
import { summarizeStep } from '../../core/workflow/steps/summarize-step.js';
import { BATCHES_PER_EXECUTION, workListKey } from '../../core/workflow/work-list.js';
import { jobsIn } from '../support/exact-jobs.js';
import { interferingRedis } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { finishItem, seedSupersededRun, supersededRunState, SUPERSEDED_BUDGET, SUPERSEDED_TRANSFER } from '../support/superseded-run.js';

/**
 * An execution superseded by a later start of its run whose plan read the same millisecond (one
 * machine, or clocks that differ by the time between them): plannedAt cannot tell the two apart,
 * only plannedBy (each execution's ARN; a local run's execution name). A (stopped) is redriven
 * after B planned. Before: every guard but the lock's start and release compared plannedAt alone,
 * so A's page tasks took B's lock as their own and moved jobs, its renewal wrote A's ARN into B's
 * lock, its continuation was added to B's executions, and its summary ended B's `root`, deleted
 * B's list and released B's lock while B ran. Now each of them compares plannedBy too (when both
 * carry one) and leaves the run to B.
 */
const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);
afterEach(() => vi.restoreAllMocks());

const arn = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:sidekiq-migrate:${name}`;
const transfer = SUPERSEDED_TRANSFER;
const budget = SUPERSEDED_BUDGET;
const seed = seedSupersededRun;
const runState = () => supersededRunState(redis.source(), redis.target());
const finish = finishItem;

describe('an execution superseded by a start of its run that planned in the same millisecond', () => {
  it('moves nothing, renews, adds, ends and releases nothing of the later start, which completes with every job exactly once', async () => {
    const seeded = await seed(redis.source());
    const provider = connect();
    const now = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(now);
    // A: planned, one page of the queue, stopped.
    const a = await planStep(transfer, provider, { executionArn: arn('A') });
    const queueA = a.work.batch.find((i) => i.kind === 'queue')!;
    const afterA = await pageStep({ settings: a.settings, item: queueA }, provider, { ...budget, maxPages: 1 });
    expect(afterA).toMatchObject({ done: false, counters: { written: 10 } });
    // A page task of A still holding its lock object when B plans.
    const lockA = await RunLock.acquire(redis.source(), '', { runId: 'run-1', operation: 'transfer', plannedAt: now, plannedBy: arn('A') }, 60_000, 'source', { mustHold: true });
    await stopRunStep(a.settings, provider, { reason: 'ABORTED' });
    // B: `start --resume`, the same run id, its plan in the same millisecond.
    const b = await planStep(transfer, provider, { executionArn: arn('B') });
    expect(b.settings).toMatchObject({ plannedAt: a.settings.plannedAt, plannedBy: arn('B') });
    const before = await runState();
    expect(before).toMatchObject({ executions: { root: '1' }, sourceLock: { plannedBy: arn('B') }, targetLock: { plannedBy: arn('B') } });

    // A is redriven: its page tasks, a continuation it had announced, its add-up handing on the list.
    const superseded = /Run run-1: this execution was superseded by a later execution of the run/;
    await expect(pageStep({ settings: a.settings, item: afterA }, provider, budget)).rejects.toThrow(superseded);
    expect(await runState()).toEqual(before);
    await expect(lockA.renew()).rejects.toBeInstanceOf(RunSupersededError);
    expect(await lockA.release()).toBe(false);
    // Its continuation's plan moves nothing and goes to its summary, which says so (the same millisecond: B's).
    const continued = await planStep({ continuation: { settings: a.settings, item: { ...afterA, iteration: 9, continues: 'root' } } }, provider);
    expect(continued.work).toMatchObject({ batch: [], next: null, more: false, tally: { superseded: { laterPlannedAt: b.settings.plannedAt }, counts: { failed: 1 } } });
    expect(continued.work.tally.failures[0]!.error).toMatch(superseded);
    expect(await summarizeStep({ settings: continued.settings, execution: continued.execution, tally: continued.work.tally }, provider)).toMatchObject({ releasedLock: false, superseded: { laterPlannedAt: b.settings.plannedAt }, complete: false });
    expect(await runState()).toEqual(before);
    const work = { ...a.work, next: 0, batches: BATCHES_PER_EXECUTION - 1 };
    const addedUp = await addUpStep({ settings: a.settings, work, results: [{ kind: 'queue', name: 'default', error: { Error: 'FatalError', Cause: 'superseded' } }] }, provider);
    expect(addedUp).toMatchObject({ batch: [], next: null, more: false });
    expect(await runState()).toEqual(before);

    // Its failure path, and the clean-up after it ends: no stop marker, B's lock kept.
    expect(await releaseAfterFailureStep({ settings: a.settings }, provider)).toEqual({ released: false });
    expect(await stopRunStep(a.settings, provider, { reason: 'FAILED' })).toEqual({ marked: false, released: false, superseded: true });
    expect(await runState()).toEqual(before);

    // Its summary (A's `root`, like B's) ends nothing of B's.
    const summaryA = await summarizeStep({ settings: a.settings, execution: a.execution, tally: a.work.tally }, provider);
    expect(summaryA).toMatchObject({ releasedLock: false, superseded: { laterPlannedAt: now }, complete: false });
    expect(await runState()).toEqual(before);

    // B goes on as if A had never come back.
    for (const item of b.work.batch) await finish(b, item, provider);
    const summaryB = await summarizeStep({ settings: b.settings, execution: b.execution, tally: b.work.tally }, provider);
    expect(summaryB).toMatchObject({ releasedLock: true });
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(seeded);
    expect(await redis.source().exists(runLockKey(''), workListKey('', 'run-1'), runExecutionsKey('', 'run-1'))).toBe(0);
  });

  it("a same-millisecond start that takes the lock between two slices of a page: the next slice's claim on the source, or its write on the target, moves nothing", async () => {
    for (const where of ['source', 'target'] as const) {
      await Promise.all([redis.source().flushall(), redis.target().flushall()]);
      await seed(redis.source());
      const provider = connect();
      const now = Date.now();
      vi.spyOn(Date, 'now').mockReturnValue(now);
      const a = await planStep({ ...transfer, sets: [] }, provider, { executionArn: arn('A') });
      const script = new LuaScript(where === 'source' ? 'claimQueueJobs-14' : 'copyJobsToLists-n4').sha;
      // B's lock as B's plan writes it (A's expired and B took it), before A's first claim or write.
      const connection = await provider.get(where);
      let taken: Record<string, unknown> | undefined;
      const interfering = interferingRedis(connection.redis, async (call) => {
        if (taken || !call.scripts.includes(script)) return;
        const record = JSON.parse((await connection.redis.get(runLockKey('')))!) as Record<string, unknown>;
        taken = { ...record, plannedBy: arn('B'), expiresAt: Date.now() + 60_000 };
        await redis[where]().set(runLockKey(''), JSON.stringify(taken));
      });
      const wrapped = { get: async (name: string) => (name === where ? { ...connection, redis: interfering } : provider.get(name)) };
      const item = a.work.batch.find((i) => i.kind === 'queue')!;
      const jobsBefore = where === 'source' ? await jobsIn(redis.source()) : await jobsIn(redis.target());

      const outcome = await pageStep({ settings: a.settings, item }, wrapped, budget).then(
        () => 'moved',
        (error: unknown) => error,
      );

      expect(taken, where).toBeDefined();
      expect(outcome, where).toBeInstanceOf(RunSupersededError);
      expect(await (where === 'source' ? jobsIn(redis.source()) : jobsIn(redis.target())), where).toEqual(jobsBefore);
      expect(JSON.parse((await redis[where]().get(runLockKey('')))!), where).toEqual(taken);
      vi.restoreAllMocks();
    }
  });
});
