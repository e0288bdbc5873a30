import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { RunStoppedError } from '../../core/errors/run-stopped-error.js';
import { RunSupersededError } from '../../core/errors/run-superseded-error.js';
import { RunLock, runLockKey } from '../../core/redis/run-lock.js';
import { addUpStep } from '../../core/workflow/steps/add-up-step.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep, type PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { releaseAfterFailureStep, stopRunStep } from '../../core/workflow/steps/stop-run-step.js';
import { summarizeStep } from '../../core/workflow/steps/summarize-step.js';
import { runExecutionsKey } from '../../core/workflow/run-executions.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { BATCHES_PER_EXECUTION, workListKey } from '../../core/workflow/work-list.js';
import { interferingRedis } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { finishItem, seedSupersededRun, supersededRunState, SUPERSEDED_BUDGET, SUPERSEDED_TRANSFER } from '../support/superseded-run.js';

/**
 * An execution superseded by a later start of its run: on AWS, the console's Redrive runs an old
 * (stopped, failed) execution again after `start --resume` started a new execution of the same
 * run id. Its steps carry the settings its plan made, `plannedAt` included; the lock carries the
 * new execution's. None of its steps may move a job, add to the run's executions, end the new
 * execution's `root`, delete the run's list, set the stop marker or release the lock.
 */
const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

const transfer = SUPERSEDED_TRANSFER;
const budget = SUPERSEDED_BUDGET;
const seed = seedSupersededRun;
const runState = () => supersededRunState(redis.source(), redis.target());
const finish = finishItem;
// B's execution, as Step Functions names it to its plan task (`$$.Execution.Id`).
const B_ARN = 'arn:aws:states:eu-west-1:111122223333:execution:sidekiq-migrate:run-1-resumed';

describe('an execution superseded by a later execution of its run (Redrive after start --resume)', () => {
  it('moves nothing and leaves the run to the later execution, which completes with every job exactly once', async () => {
    const seeded = await seed(redis.source());
    const provider = connect();
    // A: planned, one page of the queue, stopped.
    const a = await planStep(transfer, provider);
    const queueA = a.work.batch.find((i) => i.kind === 'queue')!;
    const afterA = await pageStep({ settings: a.settings, item: queueA }, provider, { ...budget, maxPages: 1 });
    expect(afterA).toMatchObject({ done: false, counters: { written: 10 } });
    // A page task of A still holding its lock when B plans (it renews before each page).
    const lockA = await RunLock.acquire(redis.source(), '', { runId: 'run-1', operation: 'transfer', plannedAt: a.settings.plannedAt! }, 60_000, 'source');
    await stopRunStep({ runId: 'run-1', source: 'source', target: 'target', dryRun: false }, provider, { reason: 'ABORTED' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    // B: `start --resume`, the same run id.
    const b = await planStep(transfer, provider, { executionArn: B_ARN });
    expect(b.settings.plannedAt).toBeGreaterThan(a.settings.plannedAt!);
    const before = await runState();
    expect(before.executions).toEqual({ root: '1' });

    // A is redriven: its page tasks, a continuation it had announced, its add-up handing on the list.
    const superseded = /Run run-1: this execution was superseded by a later execution of the run \(planned .*\); it moves nothing more/;
    await expect(pageStep({ settings: a.settings, item: afterA }, provider, budget)).rejects.toThrow(superseded);
    await expect(pageStep({ settings: a.settings, item: afterA }, provider, budget)).rejects.not.toBeInstanceOf(RunStoppedError);
    await expect(lockA.renew()).rejects.toBeInstanceOf(RunSupersededError);
    expect(await lockA.release()).toBe(false);
    // Its continuation's plan moves nothing and goes to its summary, the item it carried ending
    // there with what A had written of it and why (it failed the execution: those were in no summary).
    const continued = await planStep({ continuation: { settings: a.settings, item: afterA } }, provider);
    expect(continued.work).toMatchObject({ batch: [], next: null, more: false, tally: { superseded: { laterPlannedAt: b.settings.plannedAt }, counts: { finished: 0, failed: 1, continued: 0 }, totals: { written: 10 } } });
    expect(continued.work.tally.failures).toEqual([{ kind: 'queue', name: 'default', error: expect.stringMatching(new RegExp(`^FatalError: ${superseded.source}`)) }]);
    expect(await summarizeStep({ settings: continued.settings, execution: continued.execution, tally: continued.work.tally }, provider)).toMatchObject({ releasedLock: false, superseded: { laterPlannedAt: b.settings.plannedAt, laterPlannedBy: B_ARN }, complete: false, totals: { written: 10 } });
    expect(await runState()).toEqual(before);
    const work = { ...a.work, next: 0, batches: BATCHES_PER_EXECUTION - 1 };
    // Its add-up ends the loop, writing nothing: the execution goes on to its summary (below), and
    // ends SUCCEEDED rather than FAILED, which the execution-ended clean-up would judge by its end.
    const addedUp = await addUpStep({ settings: a.settings, work, results: [{ kind: 'queue', name: 'default', error: { Error: 'FatalError', Cause: 'superseded' } }] }, provider);
    expect(addedUp).toMatchObject({ batch: [], next: null, more: false });
    expect(addedUp.continueAt).toBeUndefined();
    expect(addedUp.tally.counts).toMatchObject({ failed: 1 });
    expect(await runState()).toEqual(before);

    // Its failure path, and the clean-up after it ends: no stop marker, B's lock kept.
    expect(await releaseAfterFailureStep({ settings: a.settings }, provider)).toEqual({ released: false });
    expect(await stopRunStep(a.settings, provider, { reason: 'FAILED' })).toEqual({ marked: false, released: false, superseded: true });
    expect(await runState()).toEqual(before);

    // Its summary ends nothing of B's, and says why.
    const summaryA = await summarizeStep({ settings: a.settings, execution: a.execution, tally: a.work.tally }, provider);
    // Which execution B is, read from the run's lock (its plan's plannedBy): the one to follow.
    expect(summaryA).toMatchObject({ releasedLock: false, superseded: { laterPlannedAt: b.settings.plannedAt, laterPlannedBy: B_ARN }, complete: false });
    expect(await runState()).toEqual(before);
    const shown = renderSummary(summaryA, 'source');
    expect(shown).toContain(`Superseded by a later execution of run run-1 (planned ${new Date(b.settings.plannedAt!).toISOString()}, execution ${B_ARN}): this execution moved nothing more and left the run's list, executions, stop marker and lock to it`);
    expect(shown).not.toContain(`to it. Follow it`);
    expect(shown.trimEnd().split('\n').at(-1)).toBe(`Not complete here: a later execution of run run-1 carries the run on. Follow it with: sidekiq-migrate watch ${B_ARN}; its summary says when the run is complete.`);
    expect(shown).not.toMatch(/Complete:/);

    // B goes on as if A had never come back.
    for (const item of b.work.batch) await finish(b, item, provider);
    const summaryB = await summarizeStep({ settings: b.settings, execution: b.execution, tally: b.work.tally }, provider);
    expect(summaryB).toMatchObject({ releasedLock: true });
    expect(summaryB.superseded).toBeUndefined();
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(seeded);
    expect(await redis.source().exists(runLockKey(''), workListKey('', 'run-1'), runExecutionsKey('', 'run-1'))).toBe(0);
  });

  it("the clean-up after a root execution's end goes by the execution that planned (the lock's plannedBy), not by the clocks", async () => {
    await seed(redis.source());
    const provider = connect();
    const arn = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:sidekiq-migrate:${name}`;
    await planStep(transfer, provider, { executionArn: arn('a') });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const b = await planStep(transfer, provider, { executionArn: arn('b') });
    // B's pages on both ends: they take the lock again with B's settings.
    const item = b.work.batch.find((i) => i.kind === 'queue')!;
    await pageStep({ settings: b.settings, item }, provider, { ...budget, maxPages: 1 });
    const before = await runState();
    expect(before).toMatchObject({ sourceLock: { plannedBy: arn('b') }, targetLock: { plannedBy: arn('b') } });
    // What the execution-ended function reads of a root execution: its input (no plannedAt) and its ARN.
    const root = (name: string) => ({ runId: 'run-1', source: 'source', target: 'target', dryRun: false, plannedBy: arn(name) });

    // A, redriven, ends after B planned: B's run is left alone.
    expect(await stopRunStep(root('a'), provider, { reason: 'FAILED', onlyIfStarted: true, endedAt: Date.now() })).toEqual({ marked: false, released: false, superseded: true });
    expect(await runState()).toEqual(before);

    // B ends, by a clock a minute behind the one its plan read: still its own run, stopped and released on both.
    expect(await stopRunStep(root('b'), provider, { reason: 'ABORTED', onlyIfStarted: true, endedAt: b.settings.plannedAt! - 60_000 })).toEqual({ marked: true, released: true, superseded: false });
    expect(await redis.source().exists(runLockKey(''))).toBe(0);
    expect(await redis.target().exists(runLockKey(''))).toBe(0);
    expect((await runState()).stopped).toEqual([1, 1]);
  });

  it("a later start planned between any two of the last execution's summary commands: the summary ends nothing of the later execution's, which completes", async () => {
    // Before each of the summary's calls on the source in turn, B (start --resume) plans.
    let at = 0;
    for (; ; at++) {
      await Promise.all([redis.source().flushall(), redis.target().flushall()]);
      const seeded = await seed(redis.source());
      const provider = connect();
      const a = await planStep(transfer, provider);
      for (const item of a.work.batch) await finish(a, item, provider);
      // A job put on a queue the plan found empty (Sidekiq's shutdown requeue): the look of the
      // execution that ends the run counts it as left on the source.
      const late = sidekiqPayload({ className: 'A', queue: 'late', args: '["late"]' });
      await redis.source().multi().lpush('queue:late', late).sadd('queues', 'late').exec();
      await new Promise((resolve) => setTimeout(resolve, 5));
      let b: PlanOutput | undefined;
      let planned: Record<string, unknown> | undefined;
      const source = await provider.get('source');
      // One wrapper for every use of the source: its calls are counted across them.
      const interfering = interferingRedis(source.redis, async (call) => {
        if (call.index !== at || b) return;
        b = await planStep(transfer, provider);
        planned = await runState();
      });
      const interleaving = { get: async (name: string) => (name === 'source' ? { ...source, redis: interfering } : provider.get(name)) };

      const summaryA = await summarizeStep({ settings: a.settings, execution: a.execution, tally: a.work.tally }, interleaving);
      if (!b) break; // the summary made fewer calls: every position was tried

      // Whatever A's summary did before B planned, it ended none of B's: B's root, list and locks are B's.
      expect(await runState(), `B planned before call ${at}`).toEqual(planned);
      expect(planned!['executions']).toEqual({ root: '1' });
      // A says it was superseded when it met B's plan before it finished the run; then it released nothing.
      // Nor does it say it ended the run (B ends it), or count what B moves as left on the source:
      // what it looked at after its end among the executions is B's to move and to tell.
      if (summaryA.superseded) {
        expect(summaryA, `B planned before call ${at}`).toMatchObject({ releasedLock: false, complete: false, superseded: { laterPlannedAt: b.settings.plannedAt } });
        expect(summaryA.endedRun, `B planned before call ${at}`).toBeUndefined();
        expect(summaryA.totals, `B planned before call ${at}`).toEqual(a.work.tally.totals);
      } else expect(summaryA, `B planned before call ${at}`).toMatchObject({ endedRun: true, totals: { leftOnSource: 1 } });
      for (const item of b.work.batch) await finish(b, item, provider);
      const summaryB = await summarizeStep({ settings: b.settings, execution: b.execution, tally: b.work.tally }, provider);
      expect(summaryB, `B planned before call ${at}`).toMatchObject({ releasedLock: true, complete: true });
      expect(await jobsIn(redis.target())).toEqual([...seeded, jobEntry('queue:late', late)].sort());
      expect(await redis.source().exists(runLockKey(''), workListKey('', 'run-1'), runExecutionsKey('', 'run-1'))).toBe(0);
      expect(await redis.target().exists(runLockKey(''))).toBe(0);
      await provider.close();
    }
    // Its end among the executions, its finish (list and lock) and its look at what was left all came after B at least once.
    console.log(`B planned before each of ${at} calls of the summary on the source`);
    expect(at).toBeGreaterThan(3);
  });

  /**
   * Runs `step` once for each of its calls on the source, B (start --resume) planning before that
   * call; returns how many calls it made. `check` gets B's plan and the run's state B left.
   */
  async function interleaveLaterStart(step: (a: PlanOutput, connections: ConnectionProvider) => Promise<unknown>, check: (b: PlanOutput, planned: Record<string, unknown>) => Promise<void>, extra: Record<string, unknown> = {}): Promise<number> {
    for (let at = 0; ; at++) {
      await Promise.all([redis.source().flushall(), redis.target().flushall()]);
      await seed(redis.source());
      const provider = connect();
      const a = await planStep({ ...transfer, ...extra }, provider);
      await new Promise((resolve) => setTimeout(resolve, 5));
      let b: PlanOutput | undefined;
      let planned: Record<string, unknown> | undefined;
      const source = await provider.get('source');
      const interfering = interferingRedis(source.redis, async (call) => {
        if (call.index !== at || b) return;
        b = await planStep({ ...transfer, ...extra }, provider);
        planned = await runState();
      });
      await step(a, { get: async (name: string) => (name === 'source' ? { ...source, redis: interfering } : provider.get(name)) }).catch((error: unknown) => {
        if (!(error instanceof RunSupersededError)) throw error;
      });
      await provider.close();
      if (!b) return at;
      await check(b, planned!);
    }
  }

  /** The run's bookkeeping as the later execution B left it when it planned (jobs aside: a page in progress when B planned goes on). */
  const bookkeeping = ({ jobs: _jobs, ...rest }: Record<string, unknown>) => rest;

  it("a later start planned between any two of an add-up's commands: the add-up adds no continuation to the later execution's executions", async () => {
    const calls = await interleaveLaterStart(
      (a, provider) => addUpStep({ settings: a.settings, work: { ...a.work, next: 0, batches: BATCHES_PER_EXECUTION - 1 }, results: [] }, provider),
      async (b, planned) => {
        expect(bookkeeping(await runState())).toEqual(bookkeeping(planned));
        expect(planned['executions']).toEqual({ root: '1' });
        expect(b.execution).toBe('root');
      },
    );
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it("a later start planned between any two of a page task's commands: the task announces no continuation among the later execution's executions", async () => {
    const calls = await interleaveLaterStart(
      (a, provider) => pageStep({ settings: a.settings, item: a.work.batch.find((i) => i.kind === 'queue')! }, provider, { ...budget, maxPages: 1 }),
      async (_b, planned) => {
        expect(bookkeeping(await runState())).toEqual(bookkeeping(planned));
        expect(planned['executions']).toEqual({ root: '1' });
      },
      { pagesPerInvocation: 1, maxIterations: 1 },
    );
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  it("a later start planned between any two of a continuation's plan commands: the continuation adds itself to none of the later execution's executions", async () => {
    const calls = await interleaveLaterStart(
      (a, provider) => planStep({ continuation: { settings: a.settings, item: { ...a.work.batch.find((i) => i.kind === 'queue')!, iteration: 9, continues: 'root' } } }, provider),
      async (_b, planned) => {
        expect(bookkeeping(await runState())).toEqual(bookkeeping(planned));
        expect(planned['executions']).toEqual({ root: '1' });
      },
    );
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it("a plan that fails after another start of the run planned (a retried plan task, a second start --resume) cleans up nothing of the other's, which completes", async () => {
    let at = 0;
    for (; ; at++) {
      await Promise.all([redis.source().flushall(), redis.target().flushall()]);
      const seeded = await seed(redis.source());
      const provider = connect();
      const source = await provider.get('source');
      let c: PlanOutput | undefined;
      let planned: Record<string, unknown> | undefined;
      // Before B's call `at` on the source, C plans; then that call of B fails.
      const failing = interferingRedis(source.redis, async (call) => {
        if (call.index !== at || c) return;
        await new Promise((resolve) => setTimeout(resolve, 2));
        c = await planStep(transfer, provider);
        planned = await runState();
        throw new Error('connection lost');
      });
      const b = await planStep(transfer, { get: async (name: string) => (name === 'source' ? { ...source, redis: failing } : provider.get(name)) }).then(
        () => 'planned',
        (error: unknown) => (error as Error).message,
      );
      if (!c) break; // B made fewer calls: every position was tried
      expect(b, `C planned before call ${at}`).toMatch(/connection lost/);

      expect(await runState(), `C planned before call ${at}`).toEqual(planned);
      for (const item of c.work.batch) await finish(c, item, provider);
      expect(await summarizeStep({ settings: c.settings, execution: c.execution, tally: c.work.tally }, provider), `C planned before call ${at}`).toMatchObject({ releasedLock: true, complete: true });
      expect(await jobsIn(redis.target())).toEqual(seeded);
      await provider.close();
    }
    expect(at).toBeGreaterThan(5);
  });

  it('a re-route with --sets leaving some out: the superseded summary reads nothing of the routing the later execution stored in place of its own', async () => {
    await redis.source().rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
    await redis.source().sadd('queues', 'old');
    await redis.source().zadd('retry', '2000000000', sidekiqPayload({ className: 'A', queue: 'old', args: '[2]' }));
    const provider = connect();
    const reroute = (renames: Record<string, string>) => ({ runId: 'run-1', mode: 'reroute', routing: { kind: 'renames', renames }, sets: ['schedule'], pageSize: 10 });
    const a = await planStep(reroute({ old: 'new', older: 'newer' }), provider);
    await stopRunStep({ runId: 'run-1', source: 'source', dryRun: false }, provider, { reason: 'ABORTED' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    // B: `start --resume` with the same routing written in another order. A resume with other
    // routing is refused now (a run's routing is fixed by its first plan: plan-other-routing),
    // but the same routing in another order is accepted, and stored as B wrote it: the run's
    // stored routing is B's text, whose digest is not A's (A's pages would refuse it as
    // replaced). A superseded summary that loaded it by A's digest would fail.
    const b = await planStep(reroute({ older: 'newer', old: 'new' }), provider);
    expect(b.settings.routingDigest).not.toBe(a.settings.routingDigest);

    const summaryA = await summarizeStep({ settings: a.settings, execution: a.execution, tally: a.work.tally }, provider);

    expect(summaryA).toMatchObject({ releasedLock: false, superseded: { laterPlannedAt: b.settings.plannedAt }, complete: false });
    expect(summaryA.notLookedAt).toBeUndefined();
  });

  /** Run fwd-1, then its rollback back-1 paged, stopped and planned again: the superseded execution's summary (`spoil`: done to the Redis before it). */
  async function supersededRollbackSummary(spoil: () => Promise<unknown> = async () => undefined) {
    // Run fwd-1 moved Flaky retries to `urgent` from two queues: a rollback cannot tell which one
    // each came from, and leaves them in place ("cannot be put back", not "no destination").
    const flaky = (queue: string, i: number) => sidekiqPayload({ className: 'Flaky', queue, args: `[${i}]` });
    await redis.source().zadd('retry', '2000000000', flaky('flaky_a', 1), '2000000001', flaky('flaky_b', 2));
    const provider = connect();
    const forward = await planStep({ runId: 'fwd-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { Flaky: 'urgent' } }, sets: ['retry'], pageSize: 10 }, provider);
    for (const item of forward.work.batch) await finish(forward, item, provider);
    expect(await summarizeStep({ settings: forward.settings, execution: forward.execution, tally: forward.work.tally }, provider)).toMatchObject({ releasedLock: true });
    const rollback = { runId: 'back-1', mode: 'reroute', routing: { kind: 'rollback', of: 'fwd-1' }, sets: ['retry'], pageSize: 10 };
    // A: the rollback pages its retry set, then is stopped; B (`start --resume`) plans it again.
    const a = await planStep(rollback, provider);
    const done = await Promise.all(a.work.batch.map((item) => finish(a, item, provider)));
    const results = done.map((item) => ({ kind: item.kind, name: item.name, counters: item.counters, done: true }));
    await stopRunStep({ runId: 'back-1', source: 'source', dryRun: false }, provider, { reason: 'ABORTED' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const b = await planStep(rollback, provider);
    // A is redriven: its add-up folds what it did, its summary says it was superseded.
    const work = await addUpStep({ settings: a.settings, work: { ...a.work, next: null, more: false }, results }, provider);
    await spoil();
    const summaryA = await summarizeStep({ settings: a.settings, execution: a.execution, tally: work.tally }, provider);
    expect(summaryA).toMatchObject({ superseded: { laterPlannedAt: b.settings.plannedAt }, complete: false, totals: { unmapped: 2, unmappedClasses: { Flaky: 2 } } });
    return summaryA;
  }

  it("a superseded rollback's summary is still a rollback's: watch and status of it (no view telling it is one) say the rollback's words", async () => {
    const summaryA = await supersededRollbackSummary();
    const shown = renderSummary(summaryA, 'source', { width: 400 });
    expect(shown).toContain('\nLeft in place, cannot be put back (the samples say why): Flaky 2\n');
    expect(shown).not.toContain('no destination for their class');
    expect(shown.trimEnd().split('\n').at(-1)).toBe('Not complete here: a later execution of run back-1 carries the run on. Follow it: deployed, find it with sidekiq-migrate list, then sidekiq-migrate watch it; run locally, in the output of the command that started it; its summary says when the run is complete.');
    // What the deployed log line's clauses go by too (left-behind.ts).
    expect(summaryA.rollbackOf).toBe('fwd-1');
  });

  it("a superseded rollback whose stored routing cannot be read (no routing's text, another type) still ends its summary, in a run's words", async () => {
    // Only words hang on the stored routing there: it must never fail the summary.
    for (const spoil of [() => redis.source().set('sidekiq-migrate:back-1:routing', 'not a routing'), () => redis.source().del('sidekiq-migrate:back-1:routing').then(() => redis.source().sadd('sidekiq-migrate:back-1:routing', 'x'))]) {
      await redis.source().flushall();
      const summaryA = await supersededRollbackSummary(spoil);
      expect(summaryA.rollbackOf).toBeUndefined();
      expect(renderSummary(summaryA, 'source', { width: 400 }).trimEnd().split('\n').at(-1)).toBe('Not complete here: a later execution of run back-1 carries the run on. Follow it: deployed, find it with sidekiq-migrate list, then sidekiq-migrate watch it; run locally, in the output of the command that started it; its summary says when the run is complete.');
    }
  });

  /**
   * Run re-1 (A → urgent; `default` still routed to) leaves B's jobs in place on `old`, which it
   * retires, and on `default`, which it keeps; no Sidekiq process runs. Its summary, superseded by a
   * later start of the run (`supersede`) or not, with `spoil` done to the Redis before it.
   */
  async function leftInPlaceSummary(supersede: boolean, spoil: () => Promise<unknown> = async () => undefined) {
    const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i}]` });
    await redis.source().rpush('queue:old', job('A', 'old', 1), job('B', 'old', 2));
    await redis.source().rpush('queue:default', job('A', 'default', 3), job('B', 'default', 4));
    await redis.source().sadd('queues', 'old', 'default');
    await redis.source().zadd('retry', '2000000000', job('B', 'old', 5), '2000000001', job('B', 'default', 6));
    const provider = connect();
    const reroute = { runId: 're-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'urgent' }, liveQueues: ['default'] }, sets: ['retry'], pageSize: 10 };
    const a = await planStep(reroute, provider);
    const done = await Promise.all(a.work.batch.map((item) => finish(a, item, provider)));
    const results = done.map((item) => ({ kind: item.kind, name: item.name, counters: item.counters, done: true }));
    if (supersede) {
      await stopRunStep({ runId: 're-1', source: 'source', dryRun: false }, provider, { reason: 'ABORTED' });
      await new Promise((resolve) => setTimeout(resolve, 5));
      await planStep(reroute, provider);
    }
    const work = await addUpStep({ settings: a.settings, work: { ...a.work, next: null, more: false }, results }, provider);
    expect(work.tally.leftIn).toEqual({ default: 1, old: 1 });
    await spoil();
    const summary = await summarizeStep({ settings: a.settings, execution: a.execution, tally: work.tally }, provider);
    expect(summary.superseded !== undefined).toBe(supersede);
    return summary;
  }

  it("a superseded re-route's summary names the queues it left jobs on that nobody fetches as the run's own summary does (the routing the run stored says, with no live process)", async () => {
    const own = await leftInPlaceSummary(false);
    await redis.source().flushall();
    const superseded = await leftInPlaceSummary(true);
    // `old`, which the routing retires, only: never `default`, which it still routes to.
    const nobodyOnOld = { liveProcesses: 0, queues: [{ queue: 'old', jobs: 1 }], total: 1 };
    expect(own).toMatchObject({ leftUnheard: nobodyOnOld, leftUnheardInSets: nobodyOnOld });
    expect(superseded).toMatchObject({ leftUnheard: nobodyOnOld, leftUnheardInSets: nobodyOnOld });
    const shown = renderSummary(superseded, 'source', { width: 400 });
    const nobodyFetches = (shown.match(/^Nobody fetches from .*$/gm) ?? []).map((line) => line.replace(/\(drain-check.*$/, ''));
    expect(nobodyFetches).toEqual([
      'Nobody fetches from 1 queue(s) this run left jobs in place on (old 1): no live Sidekiq process runs on this Redis and the routing retires those queues, so once Sidekiq runs on it those jobs never run. Route their class (catalog, rules or mapping) and run again, run again with --unmapped quarantine, or give those queues a listener ',
      'Nobody fetches from 1 queue(s) that 1 schedule, retry or dead entries this run left in place name (old 1): no live Sidekiq process runs on this Redis and the routing retires those queues, so once Sidekiq runs on it those entries land there when due (a dead one: when retried) and never run. Route their class (catalog, rules or mapping) and run again, or give those queues a listener ',
    ]);
    expect(nobodyFetches).toEqual((renderSummary(own, 'source', { width: 400 }).match(/^Nobody fetches from .*$/gm) ?? []).map((line) => line.replace(/\(drain-check.*$/, '')));
    expect(shown.trimEnd().split('\n').at(-1)).toBe('Not complete here: a later execution of run re-1 carries the run on. Follow it: deployed, find it with sidekiq-migrate list, then sidekiq-migrate watch it; run locally, in the output of the command that started it; its summary says when the run is complete.');
  });

  it("a superseded re-route whose stored routing cannot be read (no routing's text, another type) still ends its summary, naming no queue nobody fetches", async () => {
    for (const spoil of [() => redis.source().set('sidekiq-migrate:re-1:routing', 'not a routing'), () => redis.source().del('sidekiq-migrate:re-1:routing').then(() => redis.source().sadd('sidekiq-migrate:re-1:routing', 'x'))]) {
      await redis.source().flushall();
      const summary = await leftInPlaceSummary(true, spoil);
      expect(summary.leftUnheard).toBeUndefined();
      expect(summary.leftUnheardInSets).toBeUndefined();
      expect(renderSummary(summary, 'source', { width: 400 }).trimEnd().split('\n').at(-1)).toBe('Not complete here: a later execution of run re-1 carries the run on. Follow it: deployed, find it with sidekiq-migrate list, then sidekiq-migrate watch it; run locally, in the output of the command that started it; its summary says when the run is complete.');
    }
  });

  it('still runs an execution planned by an older version (no plannedAt in its settings) as before', async () => {
    const seeded = await seed(redis.source());
    const provider = connect();
    const planned = await planStep(transfer, provider);
    const { plannedAt: _dropped, ...settings } = planned.settings;
    const old = { ...planned, settings };
    for (const item of old.work.batch) await finish(old, item, provider);
    expect(await summarizeStep({ settings, execution: old.execution, tally: old.work.tally }, provider)).toMatchObject({ releasedLock: true });
    expect(await jobsIn(redis.target())).toEqual(seeded);
  });
});
