import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { bufferIo } from '../../support/buffer-io.js';
import { FakeStepFunctions, REGION, STATE_MACHINE_ARN } from '../../support/fake-step-functions.js';

/**
 * Edge (c) of the closing notes (audit-edges): `start --resume RUN` looks for the run's running
 * executions (ListExecutions), then starts one (StartExecution): two calls, and Step Functions has
 * no conditional start. Here another `start --resume` of the run (another operator's) lands
 * between the two. What a second execution of the run does to the jobs is the run lock's to settle
 * (the later plan carries the run on; the earlier execution's tasks move nothing more and its
 * summary says "Not complete here": superseded-execution.test.ts,
 * resume-while-continuation-runs.test.ts); this is what the operator is told.
 */
let fake: FakeStepFunctions;
beforeEach(() => {
  process.env['AWS_REGION'] = REGION;
  fake = new FakeStepFunctions();
  fake.onStart = (name, input) => {
    fake.add(execution(name), JSON.stringify(input), [[{ type: 'ExecutionStarted', executionStartedEventDetails: { input: JSON.stringify(input) } }]]);
  };
});
afterEach(() => fake.restore());

const cli = async (args: string[]) => {
  const io = bufferIo(false);
  const code = await main(['node', 'sidekiq-migrate', ...args], io, undefined, { sleep: fake.sleep, now: fake.now });
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

const execution = (name: string) => `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;

/** The run's first execution, ended ABORTED (stopped): a run to resume. */
function stoppedRun(runId: string): void {
  const input = JSON.stringify({ runId, mode: 'reroute' });
  fake.add(execution(runId), input, [[{ type: 'ExecutionStarted', executionStartedEventDetails: { input } }], [{ type: 'ExecutionAborted' }]], { startTick: fake.tick - 2 });
}

/** Runs `other` once, right after the first ListExecutions is answered (this command's look), before anything else. */
function between(other: () => Promise<unknown>): { done: () => Promise<unknown> } {
  let ran: Promise<unknown> | undefined;
  const list = fake.listAnswer.bind(fake);
  fake.sfn.on(ListExecutionsCommand).callsFake(async (input: Parameters<typeof list>[0]) => {
    const answer = list(input);
    if (ran === undefined) {
      ran = other();
      await ran;
    }
    return answer;
  });
  return { done: () => ran ?? Promise.resolve() };
}

describe('start --resume: another start --resume of the run between its look and its start', () => {
  beforeEach(async () => {
    await fake.sleep();
    await fake.sleep();
  });

  it('both start (each input carries its own start request, so Step Functions starts both): the command says the run also runs in the other execution, and how the run lock settles it; exit 0', async () => {
    stoppedRun('race-1');
    let other: Awaited<ReturnType<typeof cli>> | undefined;
    between(async () => (other = await cli(['start', '--rename', 'a=b', '--resume', 'race-1'])));
    const ours = await cli(['start', '--rename', 'a=b', '--resume', 'race-1']);
    expect(other).toMatchObject({ code: 0, stderr: '' });
    expect(fake.started.map((s) => s.name)).toEqual(['race-1-resume-2', 'race-1-resume-3']);
    expect(ours.code).toBe(0);
    expect(ours.stdout).toContain(`  execution  ${execution('race-1-resume-3')}\n`);
    expect(ours.stderr).toBe(
      'Note: run race-1 also runs in execution race-1-resume-2, started after this command looked: two executions of the run run at once. ' +
        'The later of their plans carries the run on; the other moves nothing more and its summary says "Not complete here". sidekiq-migrate list shows them.\n',
    );
  });

  it('nothing started in between: no note', async () => {
    stoppedRun('race-2');
    const ours = await cli(['start', '--rename', 'a=b', '--resume', 'race-2']);
    expect(fake.started.map((s) => s.name)).toEqual(['race-2-resume-2']);
    expect([ours.code, ours.stderr]).toEqual([0, '']);
  });
});
