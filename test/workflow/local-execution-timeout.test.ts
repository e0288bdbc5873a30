// Step Functions ends an execution that runs longer than its state machine's TimeoutSeconds with
// status TIMED_OUT (error States.Timeout), and the execution-ended rule cleans it up as TIMED_OUT.
// The local runner ended every execution SUCCEEDED or FAILED: a definition with an execution
// timeout ended FAILED with the emulator's own error ("Execution timed out", not an AWS name), its
// clean-up was told FAILED, and the CLI said "The run failed after its plan". The shipped
// definition sets no execution timeout (a decision, infra/stacks/README.md, "Quotas"): this test
// runs the local definition given one, as a deployment that set one would run.
import { afterEach, describe, expect, it } from 'vitest';
import { localExecutionEnded, localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowFromCli } from '../../cli/workflow/run-workflow.js';
import { FatalError } from '../../core/errors/sidekiq-migrate-error.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { workflowDefinition } from '../../infra/local/workflow-definition.js';
import { bufferIo } from '../support/buffer-io.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
let connections: UrlConnections | undefined;
/** Every page task slowHandlers started in this test, until it ended (one goes on after its execution timed out). */
let pageTasks: Promise<unknown>[] = [];
afterEach(async () => {
  await Promise.allSettled(pageTasks);
  pageTasks = [];
  await connections?.close();
  connections = undefined;
});

/** The local task handlers, each page of a queue slowed by `delayMs` (a slow link): a run of many pages outlasts a short timeout. */
function slowHandlers(delayMs: number): LocalHandlers {
  connections = new UrlConnections({ source: { url: redis.urls().source } });
  const real = localTaskHandlers(connections);
  return {
    ...real,
    rerouteQueueSlice: (input, context) => {
      const task = new Promise((resolve) => setTimeout(resolve, delayMs)).then(() => real.rerouteQueueSlice(input, context));
      pageTasks.push(task);
      return task;
    },
  };
}

/** 60 jobs of class A in queue `old`: their payloads. */
async function seed(): Promise<string[]> {
  const jobs = Array.from({ length: 60 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  await redis.source().rpush('queue:old', ...jobs);
  await redis.source().sadd('queues', 'old');
  return jobs;
}

/**
 * Every job exactly once, on its new queue (its queue rewritten) or still on the old one (as it
 * was), nothing else there: how many moved, some but not all (the timeout came mid-run).
 */
async function everyJobOnce(jobs: readonly string[]): Promise<number> {
  const entries = await jobsIn(redis.source());
  const expected = jobs.map((p) => (entries.includes(jobEntry('queue:new', withQueue(p, 'old', 'new'))) ? jobEntry('queue:new', withQueue(p, 'old', 'new')) : jobEntry('queue:old', p))).sort();
  expect(entries).toEqual(expected);
  const count = entries.filter((e) => e.startsWith('queue:new\t')).length;
  expect(count).toBeLessThan(jobs.length);
  return count;
}

/** The local definition with an execution timeout, as a deployment that set one would run it. */
const withTimeout = (seconds: number) => ({ ...workflowDefinition(), TimeoutSeconds: seconds });
/**
 * Long enough for the plan to end before it on a loaded machine (a plan still running when the
 * execution ends takes no lock and moves nothing: late-plan-after-execution-ended.test.ts), short
 * of the 60 slowed pages (6 s at least): the timeout comes mid-run.
 */
const TIMEOUT_S = 3;

const input = { runId: 'timeout-1', mode: 'reroute', source: 'source', routing: { kind: 'renames', renames: { old: 'new' } }, sets: [], pageSize: 1, pagesPerInvocation: 1 };

describe('an execution that outlasts its state machine’s TimeoutSeconds, locally as on AWS', { timeout: 60_000 }, () => {
  it('the shipped definition sets no execution timeout and no state timeout (decided: infra/stacks/README.md, Quotas)', () => {
    const definition = workflowDefinition() as { TimeoutSeconds?: number; States: Record<string, Record<string, unknown>> };
    expect(definition.TimeoutSeconds).toBeUndefined();
    const timeouts: string[] = [];
    const walk = (states: Record<string, Record<string, unknown>>) => {
      for (const [name, state] of Object.entries(states)) {
        for (const field of ['TimeoutSeconds', 'TimeoutSecondsPath', 'HeartbeatSeconds', 'HeartbeatSecondsPath']) if (field in state) timeouts.push(`${name}.${field}`);
        const inner = (state['ItemProcessor'] ?? state['Iterator']) as { States: Record<string, Record<string, unknown>> } | undefined;
        if (inner) walk(inner.States);
      }
    };
    walk(definition.States);
    expect(timeouts).toEqual([]);
  });

  it('ends TIMED_OUT with States.Timeout, and the execution-ended rule gets a TIMED_OUT event: the run stopped as TIMED_OUT, its lock released; every job is once on its old or its new queue', async () => {
    const jobs = await seed();
    const ended: Record<string, unknown>[] = [];
    const handlers = slowHandlers(100);
    const executions = await runWorkflowLocally(input, handlers, {
      definition: withTimeout(TIMEOUT_S),
      // The CLI's clean-up, as the rule's target: the page in progress, which goes on after the
      // execution ended (a Lambda does), meets the stop marker and moves nothing more.
      executionEnded: (event) => {
        ended.push(event);
        return localExecutionEnded(connections!)(event);
      },
    });

    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({ status: 'TIMED_OUT', error: { name: 'States.Timeout', message: `The execution ran longer than its state machine's TimeoutSeconds (${TIMEOUT_S} s).` } });
    expect(ended).toHaveLength(1);
    expect(ended[0]!['detail']).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout', executionArn: executions[0]!.executionArn });
    expect(await redis.source().get('sidekiq-migrate:lock')).toBeNull();
    expect(JSON.parse((await redis.source().get('sidekiq-migrate:timeout-1:stopped'))!)).toMatchObject({ runId: 'timeout-1', reason: 'TIMED_OUT' });
    // Once the page in progress when it timed out has met the stop marker (its task has ended).
    await Promise.allSettled(pageTasks);
    expect(await everyJobOnce(jobs)).toBeGreaterThan(0);
  });

  it('the CLI says it timed out, never "Complete" nor "failed"; the clean-up stops the run as TIMED_OUT and releases its lock; the same command again finishes it, every job once', async () => {
    const jobs = await seed();
    const io = bufferIo();
    const handlers = slowHandlers(100);
    const run = { input, connections: connections!, handlers, io, json: false, endpoint: redis.urls().source };

    const error = await runWorkflowFromCli({ ...run, definition: withTimeout(TIMEOUT_S) }).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(
      new RegExp(`^States\\.Timeout: The execution ran longer than its state machine's TimeoutSeconds \\(${TIMEOUT_S} s\\)\\.\\nThe run timed out after its plan: its pages moved at least [1-9]\\d* job\\(s\\) \\(each page is whole\\)\\. Run the same command again to finish\\.$`),
    );
    expect(io.stdout()).not.toContain('Complete');
    expect(await everyJobOnce(jobs)).toBeGreaterThan(0);
    expect(await redis.source().get('sidekiq-migrate:lock')).toBeNull();
    expect(JSON.parse((await redis.source().get('sidekiq-migrate:timeout-1:stopped'))!)).toMatchObject({ runId: 'timeout-1', reason: 'TIMED_OUT' });

    const again = await runWorkflowFromCli({ ...run, io: bufferIo(), handlers: localTaskHandlers(connections!) });
    expect(again).toBe(0);
    expect(await jobsIn(redis.source())).toEqual(jobs.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))).sort());
  });
});
