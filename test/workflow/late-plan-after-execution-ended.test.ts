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
