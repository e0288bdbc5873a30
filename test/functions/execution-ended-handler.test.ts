import type { Context } from 'aws-lambda';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RunLock, runLockKey, runStopMarkerKey } from '../../core/redis/run-lock.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { runExecutionsKey } from '../../core/workflow/run-executions.js';
import type { LambdaConnections } from '../../functions/support/lambda-connections.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { executionArnOf, statusChange } from './support/execution-status-change.js';
import { captureOutput, dumpAll, fakeContext, logRecords, type OutputCapture } from './support/lambda-harness.js';

const redis = privateSourceAndTarget();
const PREFIX = 'resque:gitlab:';
// In the execution input: it must never reach a log line.
const INPUT_MARKER = 'zebra-quince-8813';

type Handler = (event: unknown, context: Context) => Promise<unknown>;
let handler: Handler;
let connections: LambdaConnections;
let out: OutputCapture | undefined;

// A cold start of this one handler, as test/functions/support/load-handlers.ts does for the Tasks'.
beforeAll(async () => {
  for (const name of Object.keys(process.env)) if (name.startsWith('SIDEKIQ_MIGRATE_')) vi.stubEnv(name, undefined);
  vi.stubEnv('SIDEKIQ_MIGRATE_SOURCE_URL', redis.urls().source);
  vi.stubEnv('SIDEKIQ_MIGRATE_SOURCE_PREFIX', PREFIX);
  vi.stubEnv('SIDEKIQ_MIGRATE_TARGET_URL', redis.urls().target);
  vi.resetModules();
  const [module, container] = await Promise.all([import('../../functions/execution-ended.js'), import('../../functions/support/container.js')]);
  handler = module.handler as Handler;
  connections = container.connections;
});
afterEach(() => out?.stop());
afterAll(async () => {
  await connections.close();
  vi.unstubAllEnvs();
});

const transferInput = { runId: 'run-1', mode: 'transfer', target: 'target', routing: { kind: 'mapping', mapping: { 'Secret::Worker': INPUT_MARKER } } };
const rerouteSettings = {
  runId: 'run-1',
  mode: 'reroute',
  source: 'source',
  dryRun: false,
  pageSize: 1000,
  unmapped: 'leave',
  placement: 'front',
  pagesPerInvocation: 50,
  maxIterations: 1000,
  routed: true,
};


/** The run's lock, as a plan 30 s ago took it. */
async function lockRun(prefixes: { source: string; target?: string }): Promise<void> {
  const holder = { runId: 'run-1', operation: 'transfer' as const, plannedAt: Date.now() - 30_000 };
  await RunLock.acquire(redis.source(), prefixes.source, holder, 60_000, 'source');
  if (prefixes.target !== undefined) await RunLock.acquire(redis.target(), prefixes.target, holder, 60_000, 'target');
}

async function invoke(event: unknown): Promise<{ output: unknown; lines: Record<string, unknown>[]; text: string }> {
  out = captureOutput();
  const output = await handler(event, fakeContext());
  out.stop();
  return { output, lines: logRecords(out.records()), text: out.text() };
}

const exists = async (client: Redis, key: string) => (await client.exists(key)) === 1;

describe('the execution-ended handler', () => {
  it('stops the run of an aborted execution (initial input): stop marker and lock release on the source and the target, one log line', async () => {
    await lockRun({ source: PREFIX, target: '' });

    const { output, lines, text } = await invoke(statusChange('ABORTED', transferInput));

    expect(output).toEqual({ status: 'ABORTED', action: 'stop', marked: true, released: true, superseded: false });
    expect(await exists(redis.source(), runStopMarkerKey(PREFIX, 'run-1'))).toBe(true);
    expect(await exists(redis.target(), runStopMarkerKey('', 'run-1'))).toBe(true);
    expect(await exists(redis.source(), runLockKey(PREFIX))).toBe(false);
    expect(await exists(redis.target(), runLockKey(''))).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'INFO', message: 'execution ABORTED: run stopped (stop marker set, run lock released)', task: 'execution-ended', runId: 'run-1', mode: 'transfer' });
    expect(text).not.toContain(INPUT_MARKER);
  });

  it('stops the run of a timed-out continued execution (continuation input: the run is in its settings)', async () => {
    await lockRun({ source: PREFIX });
    const continuation = { continuation: { settings: rerouteSettings, item: { kind: 'set', name: 'retry', cursor: '0', done: false, iteration: 0, counters: {} }, from: 'arn:…:execution:x' } };

    const { output, lines } = await invoke(statusChange('TIMED_OUT', continuation));

    expect(output).toMatchObject({ status: 'TIMED_OUT', action: 'stop', marked: true, released: true });
    expect(await exists(redis.source(), runStopMarkerKey(PREFIX, 'run-1'))).toBe(true);
    expect(await redis.target().keys('*')).toEqual([]);
    expect(lines[0]).toMatchObject({ runId: 'run-1', mode: 'reroute' });
  });

  it("stops the run of a failed execution too: a failed Map's page Lambdas may still be paging, and would take the lock again", async () => {
    await lockRun({ source: PREFIX, target: '' });

    const { output, lines } = await invoke(statusChange('FAILED', transferInput));

    expect(output).toEqual({ status: 'FAILED', action: 'stop', marked: true, released: true, superseded: false });
    expect(await exists(redis.source(), runLockKey(PREFIX))).toBe(false);
    expect(await exists(redis.source(), runStopMarkerKey(PREFIX, 'run-1'))).toBe(true);
    expect(await exists(redis.target(), runStopMarkerKey('', 'run-1'))).toBe(true);
    expect(lines.map((l) => l['message'])).toEqual(['execution FAILED: run stopped (stop marker set, run lock released)']);
  });

  it('leaves the lock of a run started again after the execution ended to its new execution', async () => {
    await lockRun({ source: PREFIX, target: '' });

    const { output } = await invoke(statusChange('ABORTED', transferInput, Date.now() - 60_000));

    expect(output).toMatchObject({ action: 'stop', marked: false, released: false, superseded: true });
    expect(await exists(redis.source(), runLockKey(PREFIX))).toBe(true);
    expect(await exists(redis.source(), runStopMarkerKey(PREFIX, 'run-1'))).toBe(false);
  });

  it('leaves the run to a later execution when a redriven continuation of a superseded one ends after it planned (its settings name when it planned)', async () => {
    await lockRun({ source: PREFIX });
    const lock = await redis.source().get(runLockKey(PREFIX));
    const { plannedAt } = JSON.parse(lock!) as { plannedAt: number };
    // Planned an hour before the run's current execution, redriven, failed just now.
    const settings = { ...rerouteSettings, plannedAt: plannedAt - 3_600_000 };
    const continuation = { continuation: { settings, item: { kind: 'set', name: 'retry', cursor: '0', done: false, iteration: 0, counters: {} }, from: 'arn:…:execution:x' } };

    const { output, lines } = await invoke(statusChange('FAILED', continuation));

    expect(output).toEqual({ status: 'FAILED', action: 'stop', marked: false, released: false, superseded: true });
    expect(await redis.source().get(runLockKey(PREFIX))).toBe(lock);
    expect(await exists(redis.source(), runStopMarkerKey(PREFIX, 'run-1'))).toBe(false);
    expect(lines.map((l) => l['message'])).toEqual(['execution FAILED: the run was started again since: left to its new execution']);
  });

  it('leaves a later start of the run alone when a redriven root execution it superseded ends FAILED (its initial input names no plannedAt); the later one\'s own end still stops it', async () => {
    const rerouteInput = { runId: 'run-1', mode: 'reroute', routing: { kind: 'renames', renames: { default: 'mailers' } } };
    const older = { name: 'older-start', startDate: Date.now() - 3 * 3_600_000 };
    const newer = { name: 'start-resume', startDate: Date.now() - 120_000 };
    // The older execution planned hours ago, then failed; `start --resume` started the newer one,
    // whose plan took the run's lock (pages running). Then someone redrives the older execution.
    await planStep(rerouteInput, connections, { executionArn: executionArnOf(older.name) });
    const plan = await planStep(rerouteInput, connections, { executionArn: executionArnOf(newer.name) });
    expect(plan.settings).toMatchObject({ plannedBy: executionArnOf(newer.name), plannedAt: expect.any(Number) });
    // Its page steps take the lock again: one with the settings it carries, one with settings of an
    // older version (no plannedBy); the lock still names the execution that planned.
    const step = await RunLock.acquire(redis.source(), PREFIX, { runId: 'run-1', operation: 'reroute', plannedAt: plan.settings.plannedAt!, plannedBy: plan.settings.plannedBy! }, 60_000, 'source');
    await RunLock.acquire(redis.source(), PREFIX, { runId: 'run-1', operation: 'reroute', plannedAt: plan.settings.plannedAt! }, 60_000, 'source');
    expect(await step.renew()).toBe(true);
    const lock = await redis.source().get(runLockKey(PREFIX));
    expect(JSON.parse(lock!)).toMatchObject({ plannedBy: executionArnOf(newer.name), plannedAt: plan.settings.plannedAt });
    const before = [await dumpAll(redis.source()), await dumpAll(redis.target())];
    expect(await exists(redis.source(), runExecutionsKey(PREFIX, 'run-1'))).toBe(true);

    // Redriven (same ARN, start date and input), it fails again now: after the newer one planned.
    const redriven = await invoke(statusChange('FAILED', rerouteInput, Date.now(), { ...older, redriveCount: 1 }));

    expect(redriven.output).toEqual({ status: 'FAILED', action: 'stop', marked: false, released: false, superseded: true });
    expect(await redis.source().get(runLockKey(PREFIX))).toBe(lock);
    expect([await dumpAll(redis.source()), await dumpAll(redis.target())]).toEqual(before);
    expect(await exists(redis.source(), runStopMarkerKey(PREFIX, 'run-1'))).toBe(false);
    expect(redriven.lines.map((l) => l['message'])).toEqual(['execution FAILED: the run was started again since: left to its new execution']);

    // The newer execution's own end (stopped by an operator): its run is stopped and released.
    const genuine = await invoke(statusChange('ABORTED', rerouteInput, Date.now(), { ...newer, redriveCount: 0 }));

    expect(genuine.output).toEqual({ status: 'ABORTED', action: 'stop', marked: true, released: true, superseded: false });
    expect(await exists(redis.source(), runLockKey(PREFIX))).toBe(false);
    expect(await exists(redis.source(), runStopMarkerKey(PREFIX, 'run-1'))).toBe(true);
  });

  it('stops the run of a stopped execution whose event does not carry its input (over EventBridge\'s size limit): the run lock names the execution whose plan took it', async () => {
    const transfer = { runId: 'run-big', mode: 'reroute', routing: { kind: 'renames', renames: { default: 'mailers' } } };
    const other = { runId: 'run-other', mode: 'reroute', routing: { kind: 'renames', renames: { default: 'mailers' } } };
    // Another execution's run holds the lock: an input-less end of this one leaves it alone.
    await planStep(other, connections, { executionArn: executionArnOf('other') });
    const before = [await dumpAll(redis.source()), await dumpAll(redis.target())];
    const notOurs = await invoke(statusChange('ABORTED', undefined, Date.now(), { name: 'big', startDate: Date.now() - 60_000, redriveCount: 0 }));
    expect(notOurs.output).toMatchObject({ status: 'ABORTED', action: 'none', reason: expect.stringMatching(/does not carry the execution input/) });
    expect([await dumpAll(redis.source()), await dumpAll(redis.target())]).toEqual(before);
    await redis.source().flushall();

    await planStep(transfer, connections, { executionArn: executionArnOf('big') });
    const { output, lines } = await invoke(statusChange('ABORTED', undefined, Date.now(), { name: 'big', startDate: Date.now() - 60_000, redriveCount: 0 }));

    expect(output).toEqual({ status: 'ABORTED', action: 'stop', marked: true, released: true, superseded: false });
    expect(await exists(redis.source(), runLockKey(PREFIX))).toBe(false);
    expect(await exists(redis.source(), runStopMarkerKey(PREFIX, 'run-big'))).toBe(true);
    expect(lines.map((l) => l['message'])).toEqual(['execution ABORTED: run stopped (stop marker set, run lock released); its run found by the lock, which its plan took (the event carries no input)']);
    expect(lines[0]).toMatchObject({ runId: 'run-big' });
  });

  it('does nothing for a dry run (it takes no lock), for a missing input, or for an input the plan step refuses', async () => {
    await lockRun({ source: PREFIX, target: '' });
    const before = [await dumpAll(redis.source()), await dumpAll(redis.target())];

    const dry = await invoke(statusChange('ABORTED', { ...transferInput, dryRun: true }));
    const missing = await invoke(statusChange('ABORTED', undefined));
    const refused = await invoke(statusChange('FAILED', { runId: 'run-1', mode: 'transfer' }));

    expect(dry.output).toEqual({ status: 'ABORTED', action: 'none', reason: 'dry run' });
    expect(missing.output).toMatchObject({ status: 'ABORTED', action: 'none', reason: expect.stringMatching(/does not carry the execution input/) });
    expect(refused.output).toMatchObject({ action: 'none', reason: expect.stringMatching(/the plan step refuses/) });
    expect([await dumpAll(redis.source()), await dumpAll(redis.target())]).toEqual(before);
    expect(missing.lines).toEqual([expect.objectContaining({ level: 'WARN', message: 'execution ABORTED: its run is not known, nothing to clean up' })]);
    expect(dry.lines).toHaveLength(1);
  });

  it('writes nothing for a run that never took its lock: its plan refused it (a wrong prefix, say) or met another run holding the lock', async () => {
    await RunLock.acquire(redis.source(), PREFIX, { runId: 'other-run', operation: 'reroute' }, 60_000, 'source');
    const before = [await dumpAll(redis.source()), await dumpAll(redis.target())];

    const locked = await invoke(statusChange('FAILED', transferInput));
    await redis.source().del(runLockKey(PREFIX));
    const nothing = [await dumpAll(redis.source()), await dumpAll(redis.target())];
    const refused = await invoke(statusChange('FAILED', transferInput));

    expect(before[0]).not.toEqual({});
    expect(locked.output).toEqual({ status: 'FAILED', action: 'stop', marked: false, released: false, superseded: false });
    expect(refused.output).toEqual({ status: 'FAILED', action: 'stop', marked: false, released: false, superseded: false });
    expect(await exists(redis.source(), runStopMarkerKey(PREFIX, 'run-1'))).toBe(false);
    expect([await dumpAll(redis.source()), await dumpAll(redis.target())]).toEqual(nothing);
    expect(locked.lines.map((l) => l['message'])).toEqual(['execution FAILED: the run never took its lock (its plan refused it, or met another run): nothing to clean up']);
  });

  it('stops a run whose lock has gone but whose executions are recorded (it planned): its pages may still run', async () => {
    await redis.source().hset(`${PREFIX}sidekiq-migrate:run-1:executions`, 'root', '1');

    const { output } = await invoke(statusChange('ABORTED', transferInput));

    expect(output).toEqual({ status: 'ABORTED', action: 'stop', marked: true, released: false, superseded: false });
    expect(await exists(redis.source(), runStopMarkerKey(PREFIX, 'run-1'))).toBe(true);
    expect(await exists(redis.target(), runStopMarkerKey('', 'run-1'))).toBe(true);
  });

  it('refuses an event that is not an execution status change', async () => {
    const wrong = { ...statusChange('ABORTED', transferInput), 'detail-type': 'Something Else' };
    const running = statusChange('RUNNING', transferInput);

    out = captureOutput();
    await expect(handler(wrong, fakeContext())).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('event.detail-type') });
    await expect(handler(running, fakeContext())).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('event.detail.status') });
    out.stop();
    expect(out.text()).not.toContain(INPUT_MARKER);
  });
});
