import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { emptyCounters } from '../../../core/reroute/reroute-counters.js';
import type { RunSummary } from '../../../core/workflow/steps/summarize-step.js';
import { StateNames } from '../../../infra/constructs/state-names.js';
import { bufferIo } from '../../support/buffer-io.js';
import { FakeStepFunctions, REGION, type ScriptedEvent } from '../../support/fake-step-functions.js';
import { scriptRun } from '../../support/scripted-runs.js';

/**
 * RedriveExecution (the console's "Redrive" button) runs an ended execution again under the same
 * ARN, from its unsuccessful state: its history goes on after its ExecutionAborted (or Failed,
 * TimedOut) with ExecutionRedriven, and a Distributed Map run aborted with it goes on after
 * MapRunRedriven. The commands that read a run must take the execution as running again.
 */
let fake: FakeStepFunctions;
beforeEach(() => {
  process.env['AWS_REGION'] = REGION;
  fake = new FakeStepFunctions();
});
afterEach(() => fake.restore());

const cli = async (args: string[]) => {
  const io = bufferIo(false);
  const code = await main(['node', 'sidekiq-migrate', ...args], io, undefined, { sleep: fake.sleep, now: fake.now });
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

const stoppedMessage = 'Run reroute-1 was stopped (noticed on source); ending here.';
const lambdaCause = (message: string) => JSON.stringify({ errorType: 'FatalError', errorMessage: message });
const exited = (type: string, name: string, output: unknown): ScriptedEvent => ({ type, stateExitedEventDetails: { name, output: JSON.stringify(output) } });

/** Stops twoItems' run in the middle of its Distributed Map, then redrives it from the console. */
async function stopThenRedrive(): Promise<{ arn: string }> {
  const arn = scriptRun(fake, {
    runId: 'reroute-1',
    items: [
      { kind: 'set', name: 'schedule', total: 3000, pages: [[1000, 600], [2000, 1300], [3000, 1900]] },
      { kind: 'queue', name: 'old', total: 1500, pages: [[1000, 1000], [1500, 1500]] },
    ],
  });
  fake.tick = 2;
  expect((await cli(['stop', 'reroute-1', '--interval', '1'])).code).toBe(0);
  fake.tick = 4;

  // The redriven children meet the run's stop marker: each page task ends with RunStoppedError,
  // recorded as the item's failure (as the deployed state machine does).
  const mapRunArn = `${arn.replace(':execution:', ':mapRun:')}/${StateNames.eachItem.replace(/ /g, '')}:0001`;
  const items = [
    { kind: 'set', name: 'schedule', counters: { ...emptyCounters(), scanned: 1000, moved: 600, alreadyRouted: 400 } },
    { kind: 'queue', name: 'old', counters: { ...emptyCounters(), scanned: 1000, moved: 1000 } },
  ] as const;
  items.forEach((item, index) => {
    const error = { Error: 'FatalError', Cause: lambdaCause(stoppedMessage) };
    const result = { ...item, error };
    const state = item.kind === 'set' ? StateNames.rerouteSet : StateNames.rerouteQueue;
    fake.redrive(`${arn}/${index}`, [
      [{ type: 'TaskStateEntered', stateEnteredEventDetails: { name: state } }, { type: 'LambdaFunctionScheduled' }],
      [{ type: 'LambdaFunctionFailed', lambdaFunctionFailedEventDetails: { error: error.Error, cause: error.Cause } }, exited('PassStateExited', StateNames.itemFailed, result), { type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: JSON.stringify(result) } }],
    ]);
  });
  const totals = { ...emptyCounters(), scanned: 2000, moved: 1600, alreadyRouted: 400 };
  const summary: RunSummary = {
    runId: 'reroute-1',
    mode: 'reroute',
    dryRun: false,
    sets: { schedule: items[0].counters },
    queues: { old: items[1].counters },
    totals,
    counts: { finished: 0, failed: 2, continued: 0 },
    failures: items.map((i) => ({ kind: i.kind, name: i.name, error: `FatalError: ${stoppedMessage}` })),
    continuedIn: [],
    complete: false,
  } as unknown as RunSummary;
  fake.redrive(arn, [
    [{ type: 'MapRunRedriven', mapRunRedrivenEventDetails: { mapRunArn, redriveCount: 1 } }],
    [],
    [
      { type: 'MapRunSucceeded' },
      { type: 'TaskStateEntered', stateEnteredEventDetails: { name: StateNames.summarize } },
      { type: 'LambdaFunctionScheduled' },
      { type: 'LambdaFunctionSucceeded' },
      exited('TaskStateExited', StateNames.summarize, summary),
      { type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: JSON.stringify(summary) } },
    ],
  ]);
  fake.tick = 5;
  expect(fake.status(arn)).toBe('RUNNING');
  return { arn };
}

describe('a redriven execution', () => {
  it('status says it runs again, not that it was stopped, even once its items have ended', async () => {
    await stopThenRedrive();
    fake.tick = 6; // the redriven items ended; the execution runs its summary

    const { code, stdout } = await cli(['status', 'reroute-1', '--json']);

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ type: 'progress', status: 'RUNNING', finished: false });
  });

  it('stop stops it again', async () => {
    const { arn } = await stopThenRedrive();
    const stopsBefore = fake.stopped.length;

    const { code, stdout } = await cli(['stop', 'reroute-1', '--interval', '1']);

    expect(code).toBe(0);
    expect(fake.stopped.slice(stopsBefore)).toEqual([arn]);
    expect(fake.status(arn)).toBe('ABORTED');
    expect(stdout).not.toContain('Nothing to stop');
  });

  it('watch follows it to its new end and tells what that end says', async () => {
    await stopThenRedrive();

    const { code, stdout } = await cli(['watch', 'reroute-1', '--interval', '1', '--json']);

    expect(code).toBe(1);
    const end = JSON.parse(stdout.trimEnd().split('\n').at(-1)!);
    expect(end).toMatchObject({ type: 'end', status: 'SUCCEEDED', errors: [], summary: { complete: false, counts: { failed: 2 } } });
    expect(end.verdict).toEqual({ state: 'not-complete', line: 'Not complete: resume the run to finish: sidekiq-migrate start --resume reroute-1, with the same routing and selection.' });
    expect(fake.tick).toBeGreaterThanOrEqual(7);
  });
});
