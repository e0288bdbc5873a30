import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/config/config-error.js';
import { RunLockedError } from '../../core/redis/run-lock.js';
import { RedisUnavailableError } from '../../core/redis/redis-errors.js';
import { addCountMetrics, createHandler, type TaskSpec } from '../../functions/support/create-handler.js';
import { MetricNames } from '../../functions/support/metric-names.js';
import { logger } from '../../functions/support/powertools.js';
import { captureOutput, emfRecords, fakeContext, logRecords, type OutputCapture } from './support/lambda-harness.js';

const connections = { failedConnects: 0 };

function handlerOf(run: TaskSpec<{ runId?: string }, unknown>['run']) {
  return createHandler<{ runId?: string }, unknown>(
    {
      task: 'test-task',
      scope: (event) => ({ runId: (event as { runId?: string })?.runId, mode: (event as { mode?: string })?.mode }),
      parse: (event) => event as { runId?: string },
      run,
    },
    connections,
  );
}

let out: OutputCapture;
afterEach(() => {
  out?.stop();
  connections.failedConnects = 0;
});

describe('the error policy, through middy', () => {
  it.each([
    ['a ConfigError', () => new ConfigError(['input.a: bad', 'input.b: worse']), 'InvalidInputError'],
    ['a retryable core error', () => new RedisUnavailableError('Redis is unreachable'), 'RetryableError'],
    ['a fatal core error', () => new RunLockedError('source', 'someone', 1000), 'FatalError'],
    ['an unknown error', () => new TypeError('x is not a function'), 'FatalError'],
  ])('%s leaves as %s, the original kept as cause', async (_what, make, name) => {
    const original = make();
    out = captureOutput();

    const failure = (await handlerOf(() => Promise.reject(original))({ runId: 'r1', mode: 'reroute' }, fakeContext()).catch((e: unknown) => e)) as Error;

    out.stop();
    expect(failure).toMatchObject({ name, cause: original });
    expect(failure.message).toContain(original.message);
    const errors = logRecords(out.records()).filter((r) => r['level'] === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ task: 'test-task', runId: 'r1', error: { name, message: failure.message } });
  });

  it("turns middy's early timeout (the Lambda is about to be killed) into a RetryableError", async () => {
    out = captureOutput();

    const failure = handlerOf(() => new Promise(() => {}))({}, fakeContext(50));

    await expect(failure).rejects.toMatchObject({ name: 'RetryableError', message: expect.stringContaining('ran out of time'), cause: { name: 'TimeoutError' } });
  });

  it('counts a failed Redis connection once, under the mode of the invocation', async () => {
    out = captureOutput();
    const failing = handlerOf(() => {
      connections.failedConnects++;
      return Promise.reject(new RedisUnavailableError('Cannot connect to source redis://x:6379'));
    });

    await expect(failing({ mode: 'transfer' }, fakeContext())).rejects.toMatchObject({ name: 'RetryableError' });
    await expect(failing({ mode: 'nonsense' }, fakeContext())).rejects.toMatchObject({ name: 'RetryableError' });

    out.stop();
    expect(emfRecords(out.records())).toEqual([
      { namespace: 'SidekiqMigrate', dimensions: { service: 'sidekiq-migrate', mode: 'transfer' }, values: { [MetricNames.RedisConnectionErrors]: 1 } },
      // A mode the event makes up is not a dimension value.
      { namespace: 'SidekiqMigrate', dimensions: { service: 'sidekiq-migrate', mode: 'unknown' }, values: { [MetricNames.RedisConnectionErrors]: 1 } },
    ]);
  });
});

describe('logs and metrics per invocation', () => {
  it('publishes what an invocation recorded, once, and nothing (not even a warning) when it recorded nothing', async () => {
    out = captureOutput();
    const withMetrics = handlerOf(async () => addCountMetrics({ [MetricNames.JobsMoved]: 3, [MetricNames.PagesProcessed]: 1 }));
    const without = handlerOf(async () => 'ok');

    await withMetrics({ mode: 'reroute' }, fakeContext());
    await without({ mode: 'reroute' }, fakeContext());
    await without({ mode: 'reroute' }, fakeContext());

    out.stop();
    expect(emfRecords(out.records())).toEqual([{ namespace: 'SidekiqMigrate', dimensions: { service: 'sidekiq-migrate', mode: 'reroute' }, values: { JobsMoved: 3, PagesProcessed: 1 } }]);
    expect(out.text()).not.toMatch(/No application metrics|already been added/);
  });

  it("keeps an invocation's keys to that invocation", async () => {
    out = captureOutput();
    const handler = handlerOf(async () => logger.info('done'));

    await handler({ runId: 'first-run' }, fakeContext());
    await handler({}, fakeContext());

    out.stop();
    const lines = logRecords(out.records()).filter((r) => r['message'] === 'done');
    expect(lines.map((r) => r['runId'])).toEqual(['first-run', undefined]);
    expect(lines.every((r) => r['task'] === 'test-task' && typeof r['function_request_id'] === 'string')).toBe(true);
  });
});
