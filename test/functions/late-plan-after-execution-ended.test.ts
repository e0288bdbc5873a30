// The execution-ended clean-up of a stopped (ABORTED) execution whose plan Lambda still runs,
// not yet holding the run lock: the run is stopped, its marker naming the execution, and the plan
// that goes on afterwards takes no lock and writes nothing. A new execution of the run still
// plans (the marker names another execution), and lifts the stop.
import { afterEach, expect, it } from 'vitest';
import { runLockKey, runStopMarkerKey } from '../../core/redis/run-lock.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { cleanUpEndedExecution } from '../../functions/support/execution-ended-cleanup.js';
import { parseExecutionEndedEvent } from '../../functions/support/task-inputs.js';
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
