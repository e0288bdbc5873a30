import type { Context } from 'aws-lambda';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RunLock, runLockKey, runStopMarkerKey } from '../../core/redis/run-lock.js';
import type { LambdaConnections } from '../../functions/support/lambda-connections.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { switchableProxy } from '../support/switchable-proxy.js';
import { statusChange } from './support/execution-status-change.js';
import { captureOutput, fakeContext, logRecords, type OutputCapture } from './support/lambda-harness.js';

/**
 * A transfer's execution ended (stopped, timed out, failed) while its target was unreachable from
 * the execution-ended function. The source's clean-up needs nothing of the target: its stop marker
 * stops the run's pages at their next one (their renewal reads it on the source), and its lock is
 * released as when both ends answer. The target's lock stays until a retry of the clean-up reaches
 * it, or it expires; the error says which end was cleaned up and what stays until when.
 */

const redis = privateSourceAndTarget();

type Handler = (event: unknown, context: Context) => Promise<unknown>;
let handler: Handler;
let connections: LambdaConnections;
let proxy: Awaited<ReturnType<typeof switchableProxy>>;
let out: OutputCapture | undefined;

beforeAll(async () => {
  proxy = await switchableProxy({ host: '127.0.0.1', port: Number(new URL(redis.urls().target).port) });
  for (const name of Object.keys(process.env)) if (name.startsWith('SIDEKIQ_MIGRATE_')) vi.stubEnv(name, undefined);
  vi.stubEnv('SIDEKIQ_MIGRATE_SOURCE_URL', redis.urls().source);
  vi.stubEnv('SIDEKIQ_MIGRATE_TARGET_URL', proxy.url);
  vi.resetModules();
  const [module, container] = await Promise.all([import('../../functions/execution-ended.js'), import('../../functions/support/container.js')]);
  handler = module.handler as Handler;
  connections = container.connections;
});
afterEach(() => out?.stop());
afterAll(async () => {
  await connections.close();
  await proxy.close();
  vi.unstubAllEnvs();
});


const exists = async (client: Redis, key: string) => (await client.exists(key)) === 1;

describe('the execution-ended handler, the target unreachable', () => {
  it("stops the run on the source and releases its lock there, says what stays on the target until when, and the event's retry cleans up the target", async () => {
    const holder = { runId: 'run-1', operation: 'transfer' as const, plannedAt: Date.now() - 30_000 };
    await RunLock.acquire(redis.source(), '', holder, 60_000, 'source');
    await RunLock.acquire(redis.target(), '', holder, 60_000, 'target');
    const event = statusChange('ABORTED', { runId: 'run-1', mode: 'transfer', target: 'target', routing: { kind: 'mapping', mapping: { 'A::Worker': 'a' } } });

    proxy.down('reset');
    out = captureOutput();
    const first = await handler(event, fakeContext()).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    out.stop();

    expect(proxy.refused(), 'the target was tried').toBeGreaterThan(0);
    // Failed (Lambda retries the event, then the dead-letter queue), as RetryableError...
    expect(first).toMatchObject({ name: 'RetryableError' });
    // ...saying what was done, what stays and until when.
    expect(first!.message).toMatch(/^Cannot connect to target redis:\/\/127\.0\.0\.1:\d+/);
    expect(first!.message).toMatch(/\nThe run run-1 is stopped on the source redis:\/\/127\.0\.0\.1:\d+ \(stop marker set, run lock released\): its pages still running end at their next page\. On the target nothing was done: its run lock stays until a later clean-up of the run reaches it, or until it expires, 20 minutes after the run last renewed it \(a page still running renews it once more at most, at the end of its page in progress\); until then a run that needs the target is refused as locked\./);
    expect(await exists(redis.source(), runStopMarkerKey('', 'run-1'))).toBe(true);
    expect(await exists(redis.source(), runLockKey(''))).toBe(false);
    expect(await exists(redis.target(), runLockKey(''))).toBe(true);
    expect(await exists(redis.target(), runStopMarkerKey('', 'run-1'))).toBe(false);
    expect(logRecords(out.records()).map((r) => [r['level'], r['message']])).toEqual([['ERROR', 'execution-ended failed: RetryableError']]);

    // Lambda's retry of the event, the target back.
    proxy.up();
    out = captureOutput();
    const retried = await handler(event, fakeContext());
    out.stop();

    expect(retried).toEqual({ status: 'ABORTED', action: 'stop', marked: true, released: true, superseded: false });
    expect(await exists(redis.target(), runLockKey(''))).toBe(false);
    expect(await exists(redis.target(), runStopMarkerKey('', 'run-1'))).toBe(true);
    expect(await exists(redis.source(), runStopMarkerKey('', 'run-1'))).toBe(true);
  }, 60_000);
});
