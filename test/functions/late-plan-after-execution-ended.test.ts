// The execution-ended clean-up of a stopped (ABORTED) execution whose plan Lambda still runs,
// not yet holding the run lock: the run is stopped, its marker naming the execution, and the plan
// that goes on afterwards takes no lock and writes nothing. A new execution of the run still
// plans (the marker names another execution), and lifts the stop.
import { afterEach, expect, it } from 'vitest';
import { RUN_STOP_MARKER_TTL_MS, RunLock, runEndedExecutionKey, runLockKey, runStopMarkerKey } from '../../core/redis/run-lock.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { cleanUpEndedExecution } from '../../functions/support/execution-ended-cleanup.js';
import { parseExecutionEndedEvent } from '../../functions/support/task-inputs.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { dumpAll } from './support/lambda-harness.js';
import { executionArnOf, statusChange } from './support/execution-status-change.js';

const redis = privateSourceAndTarget();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
  connections = undefined;
});

const input = { runId: 'run-late', mode: 'reroute', source: 'source', routing: { kind: 'renames', renames: { old: 'new' } }, sets: [] };

it.each(['ABORTED', 'TIMED_OUT'])('%s while its plan still ran: the clean-up stops the run; the late plan is refused, writing nothing; a new execution plans', async (status) => {
  await redis.source().rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
  await redis.source().sadd('queues', 'old');
  connections = new UrlConnections({ source: { url: redis.urls().source } });
  const event = statusChange(status, input);
  const ended = executionArnOf((event['detail'] as { name: string }).name);

  const cleanUp = await cleanUpEndedExecution(parseExecutionEndedEvent(event), connections);

  expect(cleanUp.output).toEqual({ status, action: 'stop', marked: true, released: false, superseded: false });
  expect(cleanUp.message).toBe(`execution ${status}: run stopped (stop marker set, no run lock of this run held; a plan of this execution still running takes no lock)`);
  expect(JSON.parse((await redis.source().get(runStopMarkerKey('', 'run-late')))!)).toMatchObject({ runId: 'run-late', reason: status, endedBy: ended });
  const before = await dumpAll(redis.source());

  const late = await planStep(input, connections, { executionArn: ended }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );

  expect(late?.name).toBe('ExecutionEndedBeforePlanError');
  expect(late?.message).toBe(`Run run-late: its execution ${ended} ended (stopped or timed out) before its plan took the run lock on source ${redis.urls().source}; this plan takes no lock and writes nothing. Nothing is lost: start run run-late again to resume it.`);
  expect(await dumpAll(redis.source())).toEqual(before);

  const resumed = await planStep(input, connections, { executionArn: executionArnOf('resume') });
  expect(resumed.settings.plannedBy).toBe(executionArnOf('resume'));
  expect(JSON.parse((await redis.source().get(runLockKey('')))!)).toMatchObject({ runId: 'run-late', plannedBy: executionArnOf('resume') });
  expect(await redis.source().exists(runStopMarkerKey('', 'run-late'))).toBe(0);
});

// Two executions of the run end while the first one's plan still runs: the stop marker names only
// the latest (`endedBy`), so the first one's late plan used to take the lock, lift the stop and plan
// a run no execution was left to page or release. Every end is recorded now, and each such plan refused.
it('two executions end (the second after it took the lock) while the first one\'s plan still runs: each clean-up stops the run, and that late plan is refused, writing nothing', async () => {
  const job = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' });
  await redis.source().rpush('queue:old', job);
  await redis.source().sadd('queues', 'old');
  connections = new UrlConnections({ source: { url: redis.urls().source } });
  const first = statusChange('ABORTED', input);
  const a = executionArnOf((first['detail'] as { name: string }).name);
  expect((await cleanUpEndedExecution(parseExecutionEndedEvent(first), connections)).output).toEqual({ status: 'ABORTED', action: 'stop', marked: true, released: false, superseded: false });

  // `start --resume`: execution B plans (takes the lock, lifts A's stop), then ends too.
  const second = statusChange('TIMED_OUT', input);
  const b = executionArnOf((second['detail'] as { name: string }).name);
  await planStep(input, connections, { executionArn: b });
  expect(await redis.source().exists(runStopMarkerKey('', 'run-late'))).toBe(0);
  const cleanUp = await cleanUpEndedExecution(parseExecutionEndedEvent(second), connections);

  // The second end's clean-up: B's lock released, the marker naming B, A's end still recorded.
  expect(cleanUp.output).toEqual({ status: 'TIMED_OUT', action: 'stop', marked: true, released: true, superseded: false });
  expect(cleanUp.message).toBe('execution TIMED_OUT: run stopped (stop marker set, run lock released)');
  expect(JSON.parse((await redis.source().get(runStopMarkerKey('', 'run-late')))!)).toMatchObject({ runId: 'run-late', reason: 'TIMED_OUT', endedBy: b });
  expect(await redis.source().get(runLockKey(''))).toBeNull();
  // Each end has its own record, as long-lived as the marker.
  for (const ended of [a, b]) {
    expect(JSON.parse((await redis.source().get(runEndedExecutionKey('', 'run-late', ended)))!)).toMatchObject({ runId: 'run-late', endedBy: ended });
    expect(await redis.source().pttl(runEndedExecutionKey('', 'run-late', ended))).toBeGreaterThan(RUN_STOP_MARKER_TTL_MS - 60_000);
  }
  const before = await dumpAll(redis.source());

  for (const ended of [a, b]) {
    const late = await planStep(input, connections, { executionArn: ended }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(late?.name).toBe('ExecutionEndedBeforePlanError');
    expect(late?.message).toBe(`Run run-late: its execution ${ended} ended (stopped or timed out) before its plan took the run lock on source ${redis.urls().source}; this plan takes no lock and writes nothing. Nothing is lost: start run run-late again to resume it.`);
    expect(await dumpAll(redis.source())).toEqual(before);
  }
  expect(await jobsIn(redis.source())).toEqual([jobEntry('queue:old', job)]);

  // A third execution resumes the run.
  const resumed = await planStep(input, connections, { executionArn: executionArnOf('resume') });
  expect(resumed.settings.plannedBy).toBe(executionArnOf('resume'));
  expect(await redis.source().exists(runStopMarkerKey('', 'run-late'))).toBe(0);
});

// The first end's clean-up may come late (EventBridge delivers within minutes, and retries): after
// a later start of the run took the lock, it leaves that run alone ('superseded', no marker). It
// used to record nothing, so once that run released its lock the ended execution's plan, still
// running, found no lock and no marker, took the lock and planned the run for an execution that was over.
it('an end whose clean-up comes after a later start took the lock leaves that run alone, yet its late plan is refused once the lock is released', async () => {
  const job = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' });
  await redis.source().rpush('queue:old', job);
  await redis.source().sadd('queues', 'old');
  connections = new UrlConnections({ source: { url: redis.urls().source } });
  const first = statusChange('ABORTED', input);
  const a = executionArnOf((first['detail'] as { name: string }).name);
  const b = executionArnOf('resume');
  await planStep(input, connections, { executionArn: b });

  const cleanUp = await cleanUpEndedExecution(parseExecutionEndedEvent(first), connections);

  expect(cleanUp.output).toEqual({ status: 'ABORTED', action: 'stop', marked: false, released: false, superseded: true });
  expect(cleanUp.message).toBe('execution ABORTED: the run was started again since: left to its new execution');
  expect(JSON.parse((await redis.source().get(runLockKey('')))!)).toMatchObject({ runId: 'run-late', plannedBy: b });
  expect(await redis.source().exists(runStopMarkerKey('', 'run-late'))).toBe(0);
  // Only A's end is recorded: B's run goes on.
  expect(JSON.parse((await redis.source().get(runEndedExecutionKey('', 'run-late', a)))!)).toMatchObject({ runId: 'run-late', reason: 'ABORTED', endedBy: a });
  expect(await redis.source().exists(runEndedExecutionKey('', 'run-late', b))).toBe(0);
  // B's run ends, giving its lock back.
  expect(await RunLock.releaseIfHeld(redis.source(), '', 'run-late', undefined, b)).toBe(true);
  const before = await dumpAll(redis.source());

  const late = await planStep(input, connections, { executionArn: a }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );

  expect(late?.name).toBe('ExecutionEndedBeforePlanError');
  expect(await dumpAll(redis.source())).toEqual(before);
  expect(await redis.source().get(runLockKey(''))).toBeNull();
  expect(await jobsIn(redis.source())).toEqual([jobEntry('queue:old', job)]);
});
