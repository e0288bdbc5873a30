import { afterEach, describe, expect, it } from 'vitest';
import { FatalError } from '../../core/errors/sidekiq-migrate-error.js';
import { TASK_ERROR_MESSAGE_CHARS, toTaskError } from '../../functions/support/task-error.js';
import { OtherRoutingError, executionResumeWays, otherRoutingOfRunError } from '../../core/workflow/other-routing.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep, type PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { stopRunStep } from '../../core/workflow/steps/stop-run-step.js';
import { summarizeStep } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import { interferingRedis } from '../support/interfering-redis.js';
import { privateRedis, privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { jobEntry, jobsIn, keyValueSnapshot, withQueue } from '../support/exact-jobs.js';

/**
 * The deployed path of a run resumed with other routing or classes than its first plan fixed
 * (`start --resume X`, or any execution whose input names run X): the plan step itself refuses,
 * a FatalError (the state machine does not retry it) with the CLI's words, before it takes the
 * lock or writes anything. What the local CLI refuses (cli-run-id-other-routing), so local
 * behaves like AWS.
 */
const redis = privateSourceAndTarget();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
});

/** A third server: another target than the one a transfer was started with. */
const other = privateRedis();

function connect(): UrlConnections {
  const { source, target } = redis.urls();
  connections = new UrlConnections({ source: { url: source }, target: { url: target }, other: { url: other.url() } });
  return connections;
}

const budget = { deadline: Date.now() + 600_000 };
const reroute = (to: string, dryRun = false) => ({ runId: 'run-1', mode: 'reroute', routing: { kind: 'renames', renames: { old: to } }, sets: ['schedule'], pageSize: 10, dryRun });

async function finish(plan: PlanOutput, item: WorkItem, provider: UrlConnections): Promise<void> {
  let current = item;
  while (!current.done) current = await pageStep({ settings: plan.settings, item: current }, provider, budget);
}

/** Both servers, every key with its whole value, and their jobs. */
async function everything(): Promise<unknown> {
  return { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()), jobs: [await jobsIn(redis.source()), await jobsIn(redis.target())] };
}

async function refusal(input: unknown, provider: UrlConnections): Promise<Error> {
  const error = await planStep(input, provider).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error, 'the plan was not refused').toBeInstanceOf(OtherRoutingError);
  expect(error).toBeInstanceOf(FatalError);
  expect((error as FatalError).retryable).toBe(false);
  return error!;
}

it('the refusal reaches Step Functions whole: a FatalError is cut at TASK_ERROR_MESSAGE_CHARS, and the longest words (an 80-character run id) fit', () => {
  const id = 'x'.repeat(80);
  // Target ids are 16 characters (target-identity.ts newRandomId).
  const targets = { started: 'a'.repeat(16), here: 'b'.repeat(16) };
  for (const [mode, differs] of [['reroute', 'routing'], ['transfer', 'both'], ['reroute', 'operation'], ['transfer', 'operation'], ['transfer', 'target']] as const) {
    expect(toTaskError(otherRoutingOfRunError(id, mode, differs, executionResumeWays(id), targets), 'Plan').message).not.toMatch(/…$/);
    expect(otherRoutingOfRunError(id, mode, differs, executionResumeWays(id), targets).message.length).toBeLessThanOrEqual(TASK_ERROR_MESSAGE_CHARS);
  }
  // A target with no id under the prefix the execution writes under, GitLab's.
  const noId = otherRoutingOfRunError(id, 'transfer', 'target', executionResumeWays(id), { started: 'a'.repeat(16), here: null, herePrefix: 'resque:gitlab:' });
  expect(toTaskError(noId, 'Plan').message).not.toMatch(/…$/);
  expect(noId.message.length).toBeLessThanOrEqual(TASK_ERROR_MESSAGE_CHARS);
  // A record an older version kept, naming no target.
  const unnamed = otherRoutingOfRunError(id, 'transfer', 'target', executionResumeWays(id), { started: null, here: 'b'.repeat(16) });
  expect(toTaskError(unnamed, 'Plan').message).not.toMatch(/…$/);
  expect(unnamed.message.length).toBeLessThanOrEqual(TASK_ERROR_MESSAGE_CHARS);
});

describe('the plan step refuses a run resumed with other routing or classes than its first plan', () => {
  it('a re-route stopped after one page, resumed with another rename (or as a transfer): refused, a dry run too, nothing touched; its own routing resumes it to the end', async () => {
    const payloads = Array.from({ length: 25 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    for (const p of payloads) await redis.source().rpush('queue:old', p);
    await redis.source().sadd('queues', 'old');
    const provider = connect();
    const a = await planStep(reroute('new'), provider);
    const [item] = a.work.batch;
    await pageStep({ settings: a.settings, item: item! }, provider, budget);
    await stopRunStep({ runId: 'run-1', source: 'source', dryRun: false }, provider, { reason: 'ABORTED' });
    const before = await everything();

    const error = await refusal(reroute('other'), provider);

    expect(error.message).toBe(otherRoutingOfRunError('run-1', 'reroute', 'routing', executionResumeWays('run-1')).message);
    expect(error.message).toBe(
      'Run run-1 (reroute) was started with other routing than this execution\'s (its first plan fixed them for good): resumed with this one, it would move the rest of its jobs elsewhere than the jobs it moved, and its rollback record would mix both. ' +
        'Finish it with its own routing (sidekiq-migrate start --resume run-1; locally, its run or move command with --run-id run-1), or roll it back (sidekiq-migrate start --rollback run-1); ' +
        'or start this one as a new run, without --resume (the jobs run-1 moved stay as it moved them). Nothing was touched.',
    );
    expect(await everything()).toEqual(before);

    // A dry run is refused in the same words (as the CLI's): it would preview, under run-1's id,
    // a routing run-1 will never run. With its own routing it previews, writing nothing.
    const dryOther = await refusal(reroute('other', true), provider);
    expect(dryOther.message).toBe(error.message);
    const dry = await planStep(reroute('new', true), provider);
    expect(dry.settings.dryRun).toBe(true);
    expect(await everything()).toEqual(before);

    // Named by a transfer (another operation): refused, a dry run too, nothing touched.
    const asTransfer = (dryRun: boolean) => ({ runId: 'run-1', mode: 'transfer', target: 'target', sets: ['schedule'], pageSize: 10, dryRun });
    for (const dryRun of [false, true]) {
      const other = await refusal(asTransfer(dryRun), provider);
      expect(other.message).toBe(
        'Run run-1 was started as a re-route (run), not a transfer (move) as this execution is (its first plan fixed it for good): resumed as one, its stored routing and records would mix both operations. ' +
          'Finish it with its own command (sidekiq-migrate start --resume run-1; locally, its run or move command with --run-id run-1); or start this one as a new run, without --resume (the jobs run-1 moved stay as it moved them). Nothing was touched.',
      );
    }
    expect(await everything()).toEqual(before);

    // Its own routing resumes it: every job once, on `new`.
    const b = await planStep(reroute('new'), provider);
    for (const next of b.work.batch) await finish(b, next, provider);
    expect(await summarizeStep({ settings: b.settings, execution: b.execution, tally: b.work.tally }, provider)).toMatchObject({ releasedLock: true, complete: true });
    expect(await jobsIn(redis.source())).toEqual(payloads.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))).sort());
  });

  it('a transfer stopped after one page, resumed to another target (start --resume with another --to): refused, a dry run too, nothing touched on any server; its own target resumes it to the end', async () => {
    const payloads = Array.from({ length: 25 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    for (const p of payloads) await redis.source().rpush('queue:old', p);
    await redis.source().sadd('queues', 'old');
    await other.client().flushall();
    const provider = connect();
    const transfer = (target: string, dryRun = false) => ({ runId: 'run-1', mode: 'transfer', target, sets: ['schedule'], pageSize: 10, dryRun });
    const a = await planStep(transfer('target'), provider);
    const item = a.work.batch.find((i) => i.kind === 'queue')!;
    await pageStep({ settings: a.settings, item }, provider, { deadline: 0 });
    await stopRunStep({ runId: 'run-1', source: 'source', target: 'target', dryRun: false }, provider, { reason: 'ABORTED' });
    expect((await jobsIn(redis.target())).length).toBeGreaterThan(0);
    expect(await redis.source().llen('queue:old')).toBeGreaterThan(0);
    const started = (await redis.target().get('sidekiq-migrate:target-id'))!;
    const before = { ...(await everything()) as object, other: await keyValueSnapshot(other.client()) };

    for (const dryRun of [false, true]) {
      const error = await refusal(transfer('other', dryRun), provider);
      expect(error.message).toBe(
        `Run run-1 (transfer) was started with another target (target id ${started}; this one's has none: no transfer wrote to this Redis under no prefix, or it lost its data since (restarted empty or flushed)) than this execution's (its first plan fixed them for good): ` +
          'resumed with this one, it would move the rest of its jobs to another Redis than the jobs it moved, its summary and records split between the two. ' +
          'Finish it with its own target (--to), routing and classes (sidekiq-migrate start --resume run-1; locally, its run or move command with --run-id run-1); or start this one as a new run, without --resume (the jobs run-1 moved stay as it moved them). Nothing was touched.',
      );
    }
    expect({ ...(await everything()) as object, other: await keyValueSnapshot(other.client()) }).toEqual(before);

    // Its own target resumes it: every job once, on the target.
    const b = await planStep(transfer('target'), provider);
    for (const next of b.work.batch) await finish(b, next, provider);
    expect(await summarizeStep({ settings: b.settings, execution: b.execution, tally: b.work.tally }, provider)).toMatchObject({ releasedLock: true, complete: true });
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(payloads.map((p) => jobEntry('queue:old', p)).sort());
    expect(await jobsIn(other.client())).toEqual([]);
  });

  it("a transfer whose record an older version kept (no target), resumed to another target: refused (that one holds nothing the run wrote), nothing touched; its own target (holding the run's ledgers) resumes it to the end", async () => {
    const payloads = Array.from({ length: 25 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    for (const p of payloads) await redis.source().rpush('queue:old', p);
    await redis.source().sadd('queues', 'old');
    await other.client().flushall();
    const provider = connect();
    const transfer = (target: string) => ({ runId: 'run-1', mode: 'transfer', target, sets: ['schedule'], pageSize: 10 });
    const a = await planStep(transfer('target'), provider);
    await pageStep({ settings: a.settings, item: a.work.batch.find((i) => i.kind === 'queue')! }, provider, { deadline: 0 });
    await stopRunStep({ runId: 'run-1', source: 'source', target: 'target', dryRun: false }, provider, { reason: 'ABORTED' });
    const record = JSON.parse((await redis.source().get('sidekiq-migrate:run-1:started-with'))!) as Record<string, unknown>;
    const { target: _target, ...legacy } = record;
    await redis.source().set('sidekiq-migrate:run-1:started-with', JSON.stringify(legacy), 'KEEPTTL');
    const before = { ...(await everything()) as object, other: await keyValueSnapshot(other.client()) };

    const error = await refusal(transfer('other'), provider);
    expect(error.message).toBe(
      "Run run-1 (transfer) was started with a target it did not record (an older version kept its record; this one holds nothing the run wrote, and no transfer wrote there yet), perhaps another than this execution's (its first plan fixed them for good): " +
        'resumed with this one, it would risk moving the rest of its jobs to another Redis than the jobs it moved, its summary and records split between the two. ' +
        'Finish it with its own target (--to), routing and classes (sidekiq-migrate start --resume run-1; locally, its run or move command with --run-id run-1); or start this one as a new run, without --resume (the jobs run-1 moved stay as it moved them). Nothing was touched.',
    );
    expect({ ...(await everything()) as object, other: await keyValueSnapshot(other.client()) }).toEqual(before);

    const b = await planStep(transfer('target'), provider);
    for (const next of b.work.batch) await finish(b, next, provider);
    expect(await summarizeStep({ settings: b.settings, execution: b.execution, tally: b.work.tally }, provider)).toMatchObject({ releasedLock: true, complete: true });
    expect(await jobsIn(redis.target())).toEqual(payloads.map((p) => jobEntry('queue:old', p)).sort());
    expect(await jobsIn(other.client())).toEqual([]);
  });

  it("a first plan that failed after recording what the run was started with, having moved nothing: a later start of the run id with other routing plans and moves; one that moved jobs keeps its record", async () => {
    const payloads = Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    for (const p of payloads) await redis.source().rpush('queue:old', p);
    await redis.source().sadd('queues', 'old');
    const provider = connect();
    const source = await provider.get('source');
    // The connection drops at the plan's first call after its record was written, or after it stored its routing and list.
    for (const written of ['started-with', 'routing']) {
      let failed = false;
      const dropping = interferingRedis(source.redis, async () => {
        if (failed || (await redis.source().exists(`sidekiq-migrate:run-1:${written}`)) === 0) return;
        failed = true;
        throw new Error('connection lost');
      });
      const failing = { get: async (name: string) => (name === 'source' ? { ...source, redis: dropping } : provider.get(name)) };
      const first = await planStep(reroute('new'), failing).then(
        () => 'planned',
        (error: unknown) => (error as Error).message,
      );
      expect(first, written).toMatch(/connection lost/);
      expect(await jobsIn(redis.source())).toEqual(payloads.map((p) => jobEntry('queue:old', p)).sort());
      // It cleaned up: no lock, list, executions, routing or record of the run.
      expect(await redis.source().keys('sidekiq-migrate:*'), written).toEqual([]);
    }

    // Started again with other routing: nothing of the failed plan's stands in its way.
    const b = await planStep(reroute('other'), provider);
    for (const next of b.work.batch) await finish(b, next, provider);
    expect(await summarizeStep({ settings: b.settings, execution: b.execution, tally: b.work.tally }, provider)).toMatchObject({ releasedLock: true, complete: true });
    expect(await jobsIn(redis.source())).toEqual(payloads.map((p) => jobEntry('queue:other', withQueue(p, 'old', 'other'))).sort());

    // The run moved jobs now: its record is kept, and other routing is refused.
    await refusal(reroute('new'), provider);
  });

  it('a selective transfer resumed with another selection of classes, and one with other routing too: refused, nothing touched on either server', async () => {
    for (let i = 0; i < 15; i++) {
      await redis.source().rpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
      await redis.source().rpush('queue:default', sidekiqPayload({ className: 'B', queue: 'default', args: `[${i}]` }));
    }
    await redis.source().sadd('queues', 'default');
    const provider = connect();
    const transfer = (classes: string[], routing?: unknown) => ({ runId: 'run-1', mode: 'transfer', target: 'target', sets: ['schedule'], pageSize: 10, classes, ...(routing ? { routing } : {}) });
    const a = await planStep(transfer(['A', 'C']), provider);
    await pageStep({ settings: a.settings, item: a.work.batch[0]! }, provider, budget);
    await stopRunStep({ runId: 'run-1', source: 'source', target: 'target', dryRun: false }, provider, { reason: 'FAILED' });
    const before = await everything();

    const classes = await refusal(transfer(['B']), provider);
    expect(classes.message).toBe(otherRoutingOfRunError('run-1', 'transfer', 'classes', executionResumeWays('run-1')).message);
    expect(classes.message).toContain('was started with another selection of classes than this execution\'s');
    const both = await refusal(transfer(['A', 'B'], { kind: 'renames', renames: { default: 'elsewhere' } }), provider);
    expect(both.message).toBe(otherRoutingOfRunError('run-1', 'transfer', 'both', executionResumeWays('run-1')).message);
    expect(await everything()).toEqual(before);

    // The same classes in another order are the same selection: resumed.
    const again = await planStep(transfer(['C', 'A']), provider);
    expect(again.settings.runId).toBe('run-1');
  });
});
