import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RunLock, runLockKey, runStopMarkerKey } from '../../core/redis/run-lock.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import type { LambdaConnections } from '../../functions/support/lambda-connections.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { switchableProxy } from '../support/switchable-proxy.js';
import { executionArnOf, statusChange } from './support/execution-status-change.js';
import { captureOutput, fakeContext, logRecords, type OutputCapture } from './support/lambda-harness.js';

/**
 * A transfer's clean-up when one of its ends does not answer: the end that answers is cleaned up
 * (stop marker set, its lock released) and the one that did not is named, retryably, whether the
 * source or the target, by the execution-ended function and by the state machine's own "Release
 * the run lock after a failure" (the release-lock function). An event without its input (over
 * EventBridge's size limit) finds the run by DescribeExecution, or else by the lock on the
 * connections that answer.
 */

const redis = privateSourceAndTarget();

type Handler = (event: unknown, context: Context) => Promise<unknown>;
let ended: Handler;
let release: Handler;
let connections: LambdaConnections;
let proxies: { source: Awaited<ReturnType<typeof switchableProxy>>; target: Awaited<ReturnType<typeof switchableProxy>> };
let sfn: AwsClientStub<SFNClient>;
let out: OutputCapture | undefined;

beforeAll(async () => {
  const port = (url: string) => Number(new URL(url).port);
  proxies = {
    source: await switchableProxy({ host: '127.0.0.1', port: port(redis.urls().source) }),
    target: await switchableProxy({ host: '127.0.0.1', port: port(redis.urls().target) }),
  };
  for (const name of Object.keys(process.env)) if (name.startsWith('SIDEKIQ_MIGRATE_')) vi.stubEnv(name, undefined);
  vi.stubEnv('SIDEKIQ_MIGRATE_SOURCE_URL', proxies.source.url);
  vi.stubEnv('SIDEKIQ_MIGRATE_TARGET_URL', proxies.target.url);
  vi.resetModules();
  const [endedModule, releaseModule, container] = await Promise.all([import('../../functions/execution-ended.js'), import('../../functions/release-lock.js'), import('../../functions/support/container.js')]);
  ended = endedModule.handler as Handler;
  release = releaseModule.handler as Handler;
  connections = container.connections;
  sfn = mockClient(SFNClient);
});
beforeEach(() => {
  proxies.source.up();
  proxies.target.up();
  sfn.reset();
  // No route to Step Functions' API from the VPC, unless a test says otherwise.
  sfn.on(DescribeExecutionCommand).rejects(Object.assign(new Error('connect ETIMEDOUT 10.0.0.1:443'), { name: 'TimeoutError' }));
});
afterEach(() => out?.stop());
afterAll(async () => {
  sfn.restore();
  await connections.close();
  await proxies.source.close();
  await proxies.target.close();
  vi.unstubAllEnvs();
});

const exists = async (client: Redis, key: string) => (await client.exists(key)) === 1;
const transferInput = { runId: 'run-1', mode: 'transfer', target: 'target', routing: { kind: 'mapping', mapping: { 'A::Worker': 'a' } } };

async function call(handler: Handler, event: unknown): Promise<{ output?: unknown; error?: Error; lines: Record<string, unknown>[] }> {
  out = captureOutput();
  try {
    const output = await handler(event, fakeContext());
    return { output, lines: logRecords(out.records()) };
  } catch (error) {
    return { error: error as Error, lines: logRecords(out.records()) };
  } finally {
    out.stop();
  }
}

async function lockBothEnds(): Promise<void> {
  const holder = { runId: 'run-1', operation: 'transfer' as const, plannedAt: Date.now() - 30_000 };
  await RunLock.acquire(redis.source(), '', holder, 60_000, 'source');
  await RunLock.acquire(redis.target(), '', holder, 60_000, 'target');
}

async function state(): Promise<{ sourceLock: boolean; targetLock: boolean; sourceStopped: boolean; targetStopped: boolean }> {
  return {
    sourceLock: await exists(redis.source(), runLockKey('')),
    targetLock: await exists(redis.target(), runLockKey('')),
    sourceStopped: await exists(redis.source(), runStopMarkerKey('', 'run-1')),
    targetStopped: await exists(redis.target(), runStopMarkerKey('', 'run-1')),
  };
}

/**
 * How an end that is down fails: a new connection is refused, or (a warm container's connection
 * open from an earlier call) the call that ends the run there gets no reply. Either way the end is named.
 */
const downAt = (end: string) =>
  `^(Cannot connect to ${end} redis://127\\.0\\.0\\.1:\\d+|Ending run run-1 \\(its stop marker and run lock\\): Redis is unreachable)[^\\n]*\\n`;
const staysOn = (end: string) =>
  `On the ${end} (nothing was done: its run lock stays|the call that ends the run got no reply \\(it may or may not have run there\\): unless it did, the ${end}'s run lock stays) until a later clean-up of the run reaches it`;

const SOURCE_STAYS =
  /\nThe run run-1 is stopped on the target redis:\/\/127\.0\.0\.1:\d+ \(stop marker set, run lock released\): its pages still running end at their next page\. On the source nothing was done: its run lock stays until a later clean-up of the run reaches it, or until it expires, 20 minutes after the run last renewed it \(a page still running renews it once more at most, at the end of its page in progress\); until then a run that needs the source is refused as locked\./;

describe('a transfer clean-up with one end unreachable', () => {
  it('the execution-ended function, the source down: stops the run on the target and releases its lock there, names the source (retryable), and its retry cleans up the source', async () => {
    await lockBothEnds();
    proxies.source.down('reset');

    const first = await call(ended, statusChange('ABORTED', transferInput));

    expect(first.error).toMatchObject({ name: 'RetryableError' });
    expect(first.error!.message).toMatch(/^Cannot connect to source redis:\/\/127\.0\.0\.1:\d+/);
    expect(first.error!.message).toMatch(SOURCE_STAYS);
    expect(await state()).toEqual({ sourceLock: true, targetLock: false, sourceStopped: false, targetStopped: true });

    proxies.source.up();
    const retried = await call(ended, statusChange('ABORTED', transferInput));
    expect(retried.output).toEqual({ status: 'ABORTED', action: 'stop', marked: true, released: true, superseded: false });
    expect(await state()).toEqual({ sourceLock: false, targetLock: false, sourceStopped: true, targetStopped: true });
  }, 60_000);

  it.each(['source', 'target'] as const)("the state machine's \"Release the run lock after a failure\", the %s down: releases the other end's lock, names the one down (retryable); its retry releases both", async (down) => {
    await lockBothEnds();
    const plan = await planStepSettings();
    proxies[down].down('reset');

    const first = await call(release, { settings: plan });

    expect(first.error).toMatchObject({ name: 'RetryableError' });
    expect(first.error!.message).toMatch(new RegExp(downAt(down)));
    expect(first.error!.message).toMatch(new RegExp(staysOn(down)));
    const other = down === 'source' ? 'target' : 'source';
    expect(first.error!.message).toContain(`The run run-1 is stopped on the ${other} `);
    expect(await state()).toEqual(down === 'source' ? { sourceLock: true, targetLock: false, sourceStopped: false, targetStopped: true } : { sourceLock: false, targetLock: true, sourceStopped: true, targetStopped: false });

    proxies[down].up();
    const retried = await call(release, { settings: plan });
    expect(retried.output).toEqual({ released: true });
    expect(await state()).toEqual({ sourceLock: false, targetLock: false, sourceStopped: true, targetStopped: true });
  }, 60_000);

  it('an event without its input: DescribeExecution gives it (a continuation, whose ARN no lock names), the target down: the source is cleaned up, the target named', async () => {
    await lockBothEnds();
    const settings = await planStepSettings();
    const continuation = { continuation: { settings, item: { kind: 'queue', name: 'default', cursor: '0', done: false, iteration: 0, counters: {} }, from: executionArnOf('root') } };
    const event = statusChange('TIMED_OUT', undefined, Date.now(), { name: 'continued', startDate: Date.now() - 60_000, redriveCount: 0 });
    sfn.on(DescribeExecutionCommand, { executionArn: executionArnOf('continued') }).resolves({ input: JSON.stringify(continuation) });
    proxies.target.down('reset');

    const first = await call(ended, event);

    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input)).toEqual([{ executionArn: executionArnOf('continued') }]);
    expect(first.error).toMatchObject({ name: 'RetryableError', message: expect.stringMatching(new RegExp(downAt('target'))) });
    expect(first.error!.message).toMatch(new RegExp(staysOn('target')));
    expect(await state()).toEqual({ sourceLock: false, targetLock: true, sourceStopped: true, targetStopped: false });

    proxies.target.up();
    const retried = await call(ended, event);
    expect(retried.output).toEqual({ status: 'TIMED_OUT', action: 'stop', marked: true, released: true, superseded: false });
    expect(retried.lines.map((l) => l['message'])).toEqual(['execution TIMED_OUT: run stopped (stop marker set, run lock released); its input read by DescribeExecution (the event carries none)']);
    expect(await state()).toEqual({ sourceLock: false, targetLock: false, sourceStopped: true, targetStopped: true });
  }, 60_000);

  it('an event without its input, DescribeExecution unreachable, the source down: the run found by its lock on the target is stopped there, the source named (retryable), and the retry finds and cleans up the source', async () => {
    const planned = await planStep(transferInput, connections, { executionArn: executionArnOf('big') });
    expect(planned.settings.plannedBy).toBe(executionArnOf('big'));
    const event = statusChange('ABORTED', undefined, Date.now(), { name: 'big', startDate: Date.now() - 60_000, redriveCount: 0 });
    proxies.source.down('reset');

    const first = await call(ended, event);

    expect(first.error).toMatchObject({ name: 'RetryableError' });
    expect(first.error!.message).toMatch(
      /^The execution arn:aws:states:us-east-1:123456789012:execution:sidekiq-migrate:big ended without its input in the event, and DescribeExecution did not give it; the run lock on connection "source" \((Cannot connect to source redis:\/\/127\.0\.0\.1:\d+|Reading the run lock on redis:\/\/127\.0\.0\.1:\d+: Redis is unreachable).*\) could not be read: a run of that execution may still hold its lock there until a later clean-up reaches it, or until it expires\. On "target", where its lock named it: run stopped \(stop marker set, run lock released\)\.$/,
    );
    expect(await state()).toEqual({ sourceLock: true, targetLock: false, sourceStopped: false, targetStopped: true });

    proxies.source.up();
    const retried = await call(ended, event);
    expect(retried.output).toEqual({ status: 'ABORTED', action: 'stop', marked: true, released: true, superseded: false });
    expect(await state()).toEqual({ sourceLock: false, targetLock: false, sourceStopped: true, targetStopped: true });
  }, 60_000);
});

/** The run's settings as its plan gives them (the locks taken, both ends answering). */
async function planStepSettings() {
  await redis.source().del(runLockKey(''));
  await redis.target().del(runLockKey(''));
  return (await planStep(transferInput, connections, { executionArn: executionArnOf('root') })).settings;
}
