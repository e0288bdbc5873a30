import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { MetricNames } from '../../functions/support/metric-names.js';
import { startRedisServer } from '../support/redis-server.js';
import { refusingEndpoint } from '../support/refusing-endpoint.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { captureOutput, emfRecords, fakeContext, logRecords, type OutputCapture } from './support/lambda-harness.js';
import { coldStart, type LoadedHandlers } from './support/load-handlers.js';
import { viaJson } from './support/run-workflow.js';

const secrets = mockClient(SecretsManagerClient);
const loaded: LoadedHandlers[] = [];
let out: OutputCapture | undefined;

async function container(env: Record<string, string>): Promise<LoadedHandlers> {
  const h = await coldStart(env);
  loaded.push(h);
  return h;
}

afterEach(async () => {
  out?.stop();
  await Promise.all(loaded.splice(0).map((h) => h.connections.close()));
  vi.unstubAllEnvs();
});
afterAll(() => secrets.restore());

const reroute = { runId: 'down-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'b' } } };

describe('a Redis that is down', () => {
  it('fails each task as RetryableError and counts the connection error', async () => {
    const endpoint = await refusingEndpoint();
    const { port } = endpoint;
    const h = await container({ SIDEKIQ_MIGRATE_SOURCE_URL: endpoint.url });
    const settings = { runId: 'down-1', mode: 'reroute', source: 'source', dryRun: false, pageSize: 10, unmapped: 'leave', placement: 'front', pagesPerInvocation: 5, maxIterations: 1000, routed: true };
    const item = { kind: 'queue', name: 'default', cursor: null, done: false, iteration: 0, counters: {} };
    out = captureOutput();

    // One invocation at a time, as a Lambda container runs them.
    for (const attempt of [() => h.plan(reroute, fakeContext()), () => h.rerouteQueueSlice({ settings, item }, fakeContext()), () => h.drainCheck({ scheduled: true }, fakeContext())]) {
      await expect(attempt()).rejects.toMatchObject({
        name: 'RetryableError',
        message: expect.stringMatching(new RegExp(`^Cannot connect to source redis://127\\.0\\.0\\.1:${port}`)),
        cause: { name: 'RedisUnavailableError', retryable: true },
      });
    }
    out.stop();
    await endpoint.close();
    expect(endpoint.attempts(), 'each invocation tried the endpoint').toBeGreaterThanOrEqual(3);
    const emf = emfRecords(out.records());
    expect(emf.map((d) => [d.dimensions['mode'], d.values])).toEqual([
      ['reroute', { [MetricNames.RedisConnectionErrors]: 1 }],
      ['reroute', { [MetricNames.RedisConnectionErrors]: 1 }],
      ['drain-check', { [MetricNames.RedisConnectionErrors]: 1 }],
    ]);
  });

  it('fails a page as RetryableError when the Redis goes away between invocations', async () => {
    const server = await startRedisServer();
    try {
      const h = await container({ SIDEKIQ_MIGRATE_SOURCE_URL: server.url });
      const { redis } = await h.connections.get('source');
      for (let i = 0; i < 30; i++) await redis.lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));
      const plan = viaJson((await h.plan({ ...reroute, sets: [], pageSize: 10, pagesPerInvocation: 1 }, fakeContext())) as PlanOutput);
      const first = await h.rerouteQueueSlice({ settings: plan.settings, item: plan.work.batch[0] }, fakeContext());
      expect(first).toMatchObject({ done: false, counters: { moved: 10 } });
      await server.stop();
      out = captureOutput();

      const second = h.rerouteQueueSlice({ settings: plan.settings, item: first }, fakeContext());

      await expect(second).rejects.toMatchObject({ name: 'RetryableError', cause: { retryable: true } });
      out.stop();
      expect(emfRecords(out.records())[0]?.values).toEqual({ [MetricNames.RedisConnectionErrors]: 1 });
    } finally {
      await server.stop();
    }
  });
});

describe('a page that fails after others of the same invocation were written', () => {
  it('returns those pages, counted, with a warning; the next invocation starts at the failed page and fails as before', async () => {
    const server = await startRedisServer();
    try {
      const h = await container({ SIDEKIQ_MIGRATE_SOURCE_URL: server.url });
      const { redis } = await h.connections.get('source');
      // Newest first: the 10 newest (A) go to queue:a, the next 10 (B) to queue:b, which is a string.
      for (let i = 0; i < 10; i++) await redis.lpush('queue:default', sidekiqPayload({ className: 'B', queue: 'default' }));
      for (let i = 0; i < 10; i++) await redis.lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));
      await redis.set('queue:b', 'not a list');
      const routing = { kind: 'mapping', mapping: { A: 'a', B: 'b' } };
      const plan = viaJson((await h.plan({ runId: 'half-1', mode: 'reroute', routing, sets: [], pageSize: 10, pagesPerInvocation: 5 }, fakeContext())) as PlanOutput);
      out = captureOutput();

      const first = await h.rerouteQueueSlice({ settings: plan.settings, item: plan.work.batch[0] }, fakeContext());

      expect(first).toMatchObject({ done: false, counters: { moved: 10, movedTo: { a: 10 } } });
      expect(await redis.llen('queue:a')).toBe(10);
      out.stop();
      const warnings = logRecords(out.records()).filter((r) => r['level'] === 'WARN');
      expect(warnings).toEqual([
        expect.objectContaining({
          message: 'queue default: a page failed after 1 page(s) were written; returning those, the next task starts at the failed page',
          error: { name: 'KeyTypeError', message: expect.stringContaining('queue:b holds a string, not a list') },
        }),
      ]);

      out = captureOutput();
      await expect(h.rerouteQueueSlice({ settings: plan.settings, item: viaJson(first) }, fakeContext())).rejects.toMatchObject({ name: 'FatalError', message: expect.stringContaining('queue:b holds a string') });
      out.stop();
      expect(logRecords(out.records()).map((r) => r['level'])).toContain('ERROR');
      expect(await redis.llen('queue:default')).toBe(10);
    } finally {
      await server.stop();
    }
  });
});

describe('a function deployed with a wrong configuration', () => {
  it('logs every problem once at cold start, then fails each task as InvalidInputError with the full list', async () => {
    out = captureOutput();
    const h = await container({ SIDEKIQ_MIGRATE_SOURCE_URL: 'redis://:leaked-pw-77@10.0.0.1:6379', SIDEKIQ_MIGRATE_TARGET_SECRET_ARN: 'target-secret' });

    for (const attempt of [() => h.plan(reroute, fakeContext()), () => h.drainCheck({}, fakeContext())]) {
      await expect(attempt()).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringMatching(/SIDEKIQ_MIGRATE_SOURCE_URL: .*contains a password[^]*SIDEKIQ_MIGRATE_TARGET_URL: is missing[^]*SIDEKIQ_MIGRATE_TARGET_SECRET_ARN: must be/) });
    }
    out.stop();
    const errors = logRecords(out.records()).filter((r) => r['level'] === 'ERROR');
    expect(errors.map((r) => r['task'] ?? 'cold start')).toEqual(['cold start', 'plan', 'drain-check']);
    expect(errors[0]).toMatchObject({ message: expect.stringContaining('Invalid connection configuration'), problems: expect.any(Array) });
    expect(out.text()).not.toContain('leaked-pw-77');
    expect(emfRecords(out.records())).toEqual([]);
  });

  it('fails as InvalidInputError when the secret holds a wrong token, without logging it', async () => {
    const server = await startRedisServer(['--requirepass', 'right-token-31']);
    try {
      const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:wrong-token-Xy12Zw';
      secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: 'wrong-token-68' });
      const h = await container({ SIDEKIQ_MIGRATE_SOURCE_URL: server.url, SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: arn });
      out = captureOutput();

      await expect(h.plan(reroute, fakeContext())).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('authentication failed') });

      out.stop();
      expect(out.text()).not.toMatch(/wrong-token-68|right-token-31/);
      expect(emfRecords(out.records())[0]?.values).toEqual({ [MetricNames.RedisConnectionErrors]: 1 });
    } finally {
      await server.stop();
    }
  });
});
