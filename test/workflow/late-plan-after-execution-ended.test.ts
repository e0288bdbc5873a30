// A plan task that outlives its execution (TIMED_OUT or ABORTED while its plan Lambda still runs):
// the execution-ended clean-up ran first and found no lock of the run. It used to write nothing,
// say "never took its lock: nothing to clean up", and let the plan take the run lock afterwards,
// with no stop marker, held until it expired 20 minutes later. Now the clean-up stops the run
// (its marker names the ended execution), and that execution's late plan is refused before it
// writes anything; a later start of the run (another execution) still resumes it.
import { afterEach, expect, it } from 'vitest';
import { localExecutionEnded, localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { ExecutionEndedBeforePlanError } from '../../core/errors/execution-ended-before-plan-error.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { workflowDefinition } from '../../infra/local/workflow-definition.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
  connections = undefined;
});

const input = { runId: 'late-plan-1', mode: 'reroute', source: 'source', routing: { kind: 'renames', renames: { old: 'new' } }, sets: [], pageSize: 1, pagesPerInvocation: 1 };

it('a plan held past its execution timeout until the clean-up ran takes no lock and writes nothing; the run is stopped; a later start resumes it, every job once', { timeout: 60_000 }, async () => {
  const jobs = Array.from({ length: 6 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  await redis.source().rpush('queue:old', ...jobs);
  await redis.source().sadd('queues', 'old');
  connections = new UrlConnections({ source: { url: redis.urls().source } });
  const real = localTaskHandlers(connections);
  let cleanedUp!: () => void;
  const cleaned = new Promise<void>((r) => (cleanedUp = r));
  let planTask: Promise<unknown> | undefined;
  // The plan goes on only once the clean-up after its execution's end has run.
  const handlers: LocalHandlers = { ...real, plan: (i, c) => (planTask = cleaned.then(() => real.plan(i, c))) };
  const outputs: unknown[] = [];
  const executions = await runWorkflowLocally(input, handlers, {
    definition: { ...workflowDefinition(), TimeoutSeconds: 1 },
    executionEnded: async (event) => {
      const out = await localExecutionEnded(connections!)(event);
      outputs.push(out);
      cleanedUp();
      return out;
    },
  });
  expect(executions.map((e) => e.status)).toEqual(['TIMED_OUT']);
  const before = await redis.source().keys('*');
  const planError = await planTask!.then(
    () => undefined,
    (e: unknown) => e,
  );

  // The task's error, as the state machine would see it (its name and message).
  expect((planError as Error).message).toBe(new ExecutionEndedBeforePlanError('late-plan-1', executions[0]!.executionArn, `source ${redis.urls().source}`).message);
  expect(await redis.source().get('sidekiq-migrate:lock')).toBeNull();
  expect((await redis.source().keys('*')).sort()).toEqual(before.sort());
  expect(outputs).toEqual([{ status: 'TIMED_OUT', action: 'stop', marked: true, released: false, superseded: false }]);
  expect(JSON.parse((await redis.source().get('sidekiq-migrate:late-plan-1:stopped'))!)).toMatchObject({ runId: 'late-plan-1', reason: 'TIMED_OUT', endedBy: executions[0]!.executionArn });
  expect(await jobsIn(redis.source())).toEqual(jobs.map((p) => jobEntry('queue:old', p)).sort());

  // `start --resume`: a new execution of the run.
  const again = await runWorkflowLocally(input, real);
  expect(again.map((e) => e.status)).toEqual(['SUCCEEDED']);
  expect(await jobsIn(redis.source())).toEqual(jobs.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))).sort());
  expect(await redis.source().get('sidekiq-migrate:lock')).toBeNull();
  expect(await redis.source().get('sidekiq-migrate:late-plan-1:stopped')).toBeNull();
});

// Two executions end while the first one's plan is still held: `start --resume` made a second
// execution, whose plan was held too, and it timed out as well. The marker names only the second
// (`endedBy`): the first one's plan used to take the lock and lift the stop, and the second's then
// took it from it, each planning a run no execution was left to page or release. Both are refused
// now, writing nothing; a third start moves every job once.
it('two executions time out while their plans are held: both late plans take no lock and write nothing; a later start moves every job once', { timeout: 90_000 }, async () => {
  const jobs = Array.from({ length: 6 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  await redis.source().rpush('queue:old', ...jobs);
  await redis.source().sadd('queues', 'old');
  connections = new UrlConnections({ source: { url: redis.urls().source } });
  const real = localTaskHandlers(connections);
  const outputs: unknown[] = [];
  let secondCleanedUp!: () => void;
  const secondCleaned = new Promise<void>((r) => (secondCleanedUp = r));
  const settled = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
  const cleanUp = (after?: () => void) => async (event: Record<string, unknown>) => {
    const out = await localExecutionEnded(connections!)(event);
    outputs.push(out);
    after?.();
    return out;
  };
  const definition = { ...workflowDefinition(), TimeoutSeconds: 1 };
  // The first execution's plan goes on only once the second execution ended and was cleaned up.
  let firstPlan: Promise<unknown> | undefined;
  const first = await runWorkflowLocally(input, { ...real, plan: (i, c) => (firstPlan = secondCleaned.then(() => real.plan(i, c))) }, { definition, executionEnded: cleanUp() });
  // `start --resume`: its plan goes on only once the first one's has settled.
  let secondPlan: Promise<unknown> | undefined;
  const second = await runWorkflowLocally(input, { ...real, plan: (i, c) => (secondPlan = secondCleaned.then(() => settled(firstPlan!)).then(() => real.plan(i, c))) }, { definition, executionEnded: cleanUp(secondCleanedUp) });
  expect([...first, ...second].map((e) => e.status)).toEqual(['TIMED_OUT', 'TIMED_OUT']);
  expect(outputs).toEqual([
    { status: 'TIMED_OUT', action: 'stop', marked: true, released: false, superseded: false },
    { status: 'TIMED_OUT', action: 'stop', marked: true, released: false, superseded: false },
  ]);
  const before = (await redis.source().keys('*')).sort();

  const errors = [await settled(firstPlan!), await settled(secondPlan!)] as Error[];

  expect(errors.map((e) => e?.message)).toEqual([first[0]!, second[0]!].map((e) => new ExecutionEndedBeforePlanError('late-plan-1', e.executionArn, `source ${redis.urls().source}`).message));
  expect(await redis.source().get('sidekiq-migrate:lock')).toBeNull();
  expect((await redis.source().keys('*')).sort()).toEqual(before);
  expect(JSON.parse((await redis.source().get('sidekiq-migrate:late-plan-1:stopped'))!)).toMatchObject({ runId: 'late-plan-1', reason: 'TIMED_OUT', endedBy: second[0]!.executionArn });
  expect(await jobsIn(redis.source())).toEqual(jobs.map((p) => jobEntry('queue:old', p)).sort());

  const again = await runWorkflowLocally(input, real);
  expect(again.map((e) => e.status)).toEqual(['SUCCEEDED']);
  expect(await jobsIn(redis.source())).toEqual(jobs.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))).sort());
  expect(await redis.source().get('sidekiq-migrate:lock')).toBeNull();
  expect(await redis.source().get('sidekiq-migrate:late-plan-1:stopped')).toBeNull();
});
