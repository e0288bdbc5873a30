import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { continuationExecutionName } from '../../../core/workflow/continuation-name.js';
import { bufferIo } from '../../support/buffer-io.js';
import { FakeStepFunctions, REGION, STATE_MACHINE_ARN } from '../../support/fake-step-functions.js';

/**
 * `start --resume RUN` looks for every execution of the run still running before it starts one:
 * RUN, its RUN-resume-N, and the continuations any of them started (an item's, `<run>-i-…`, the
 * rest of the list's, `<run>-l-…`), which go on after the execution that started them ended.
 * Locally, what a resume beside them does: test/workflow/resume-while-continuation-runs.test.ts.
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

const execution = (name: string) => `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
const started = (input: unknown) => [{ type: 'ExecutionStarted', executionStartedEventDetails: { input: JSON.stringify(input) } }];

/** An execution `start` gave the run (RUN or RUN-resume-N) that ended (SUCCEEDED: it handed its work on). */
function endedRoot(name: string, runId: string, end: 'ExecutionSucceeded' | 'ExecutionAborted' = 'ExecutionSucceeded'): void {
  fake.add(execution(name), JSON.stringify({ runId, mode: 'reroute' }), [started({ runId, mode: 'reroute' }), [{ type: end }]], { startTick: fake.tick - 2 });
}

/** A continuation the state machine started (named as it names them), still running. */
function runningContinuation(runId: string, kind: 'item' | 'list', from: string, plannedAt = 1_796_000_000_000): string {
  const name = continuationExecutionName({ runId, plannedAt, plannedBy: execution(from) }, kind, kind === 'item' ? 'item:queue:old:root' : 'list:340');
  const input = { continuation: { settings: { runId, mode: 'reroute', plannedAt }, ...(kind === 'item' ? { item: { kind: 'queue', name: 'old' } } : { list: { next: 340 } }), from: execution(from) } };
  fake.add(execution(name), JSON.stringify(input), [started(input)], { startTick: fake.tick - 1 });
  return name;
}

const resume = (run: string) => cli(['start', '--rename', 'a=b', '--resume', run]);

describe('start --resume while an execution the run continued in still runs, its parent ended', () => {
  beforeEach(async () => {
    await fake.sleep();
    await fake.sleep();
  });

  for (const kind of ['list', 'item'] as const) {
    it(`a ${kind} continuation of RUN still running: refused, naming it and what to do (wait, or stop it), exit 2, nothing started`, async () => {
      endedRoot('long-1', 'long-1');
      const continuation = runningContinuation('long-1', kind, 'long-1');

      const { code, stdout, stderr } = await resume('long-1');

      expect(code).toBe(2);
      expect(stdout).toBe('');
      const carries = kind === 'list' ? "the rest of the run's list" : 'a set or queue of the run';
      expect(stderr).toBe(
        `Run long-1 is still running, in execution ${continuation} (it carries ${carries} on, after the execution that started it ended): nothing started (--resume now would start a second execution of a run that runs). ` +
          `Wait for it to end (sidekiq-migrate watch ${continuation}), or stop it with: sidekiq-migrate stop ${continuation}, then resume the run.\n`,
      );
      expect(fake.started).toEqual([]);
    });
  }

  it('what it says to do works: stop the continuation it names, then the resume starts', async () => {
    endedRoot('long-6', 'long-6');
    const continuation = runningContinuation('long-6', 'list', 'long-6');
    expect((await resume('long-6')).code).toBe(2);

    const stopped = await cli(['stop', continuation, '--interval', '1']);

    expect(stopped.code).toBe(0);
    expect(fake.stopped).toEqual([execution(continuation)]);
    expect(stopped.stdout).toContain('To finish, resume the run with the same routing and selection: sidekiq-migrate start --resume long-6');
    const { code, stderr } = await resume('long-6');
    expect([code, stderr]).toEqual([0, '']);
    expect(fake.started.map((s) => s.name)).toEqual(['long-6-resume-2']);
  });

  it("a continuation of the run's newest execution, RUN-resume-2, still running: refused the same, nothing started", async () => {
    endedRoot('long-2', 'long-2', 'ExecutionAborted');
    endedRoot('long-2-resume-2', 'long-2');
    const continuation = runningContinuation('long-2', 'list', 'long-2-resume-2');

    const { code, stderr } = await resume('long-2');

    expect(code).toBe(2);
    expect(stderr).toContain(`Run long-2 is still running, in execution ${continuation} (it carries the rest of the run's list on`);
    expect(fake.started).toEqual([]);
  });

  it('several executions of the run still running: names each, and how to stop them all', async () => {
    endedRoot('long-3', 'long-3');
    const item = runningContinuation('long-3', 'item', 'long-3');
    const list = runningContinuation('long-3', 'list', 'long-3');

    const { code, stderr } = await resume('long-3');

    expect(code).toBe(2);
    const names = [item, list].sort();
    expect(stderr).toBe(
      `Run long-3 is still running, in 2 executions: ${names.join(', ')}: nothing started (--resume now would start a second execution of a run that runs). ` +
        `Wait for them to end (sidekiq-migrate list shows them), or stop each with: ${names.map((n) => `sidekiq-migrate stop ${n}`).join('; ')}, then resume the run.\n`,
    );
    expect(fake.started).toEqual([]);
  });

  it('a run with no execution of its name here, whose first resume (RUN-resume-2) still runs: refused, never RUN-resume-3', async () => {
    fake.add(execution('elsewhere-resume-2'), JSON.stringify({ runId: 'elsewhere' }), [started({ runId: 'elsewhere' })], { startTick: fake.tick - 1 });

    const { code, stderr } = await resume('elsewhere');

    expect(code).toBe(2);
    expect(stderr).toContain('Run elsewhere is still running, in execution elsewhere-resume-2: nothing started');
    expect(fake.started).toEqual([]);
  });

  it("another run's continuation (a run id sharing the first 40 characters, the part a continuation's name keeps) does not stop the resume", async () => {
    const runId = `${'r'.repeat(40)}-one`;
    endedRoot(runId, runId);
    runningContinuation(`${'r'.repeat(40)}-two`, 'list', `${'r'.repeat(40)}-two`);

    const { code, stderr } = await resume(runId);

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(fake.started.map((s) => s.name)).toEqual([`${runId}-resume-2`]);
  });

  it("other runs' continuations, named apart from this run's, are not described one by one (a busy state machine runs many)", async () => {
    endedRoot('mine-1', 'mine-1');
    for (let i = 0; i < 5; i++) runningContinuation(`theirs-${i}`, 'list', `theirs-${i}`);
    const describedBefore = fake.calls('DescribeExecution');

    const { code, stderr } = await resume('mine-1');

    expect([code, stderr]).toEqual([0, '']);
    expect(fake.calls('DescribeExecution') - describedBefore).toBe(0);
    expect(fake.started.map((s) => s.name)).toEqual(['mine-1-resume-2']);
  });

  it('continuations of the run that ended: the resume starts (RUN-resume-2), no note', async () => {
    endedRoot('done-1', 'done-1');
    const name = runningContinuation('done-1', 'list', 'done-1');
    fake.executions.get(execution(name))!.events.push({ tick: fake.tick, event: { id: 2, type: 'ExecutionSucceeded', timestamp: fake.now() } });

    const { code, stderr } = await resume('done-1');

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(fake.started.map((s) => s.name)).toEqual(['done-1-resume-2']);
  });

  it('ListExecutions refused (AccessDenied): resumes as asked, with a note that it could not look for the run\'s continuations', async () => {
    endedRoot('long-4', 'long-4');
    fake.sfn.on(ListExecutionsCommand).rejects(Object.assign(new Error('User: arn:aws:sts::123456789012:assumed-role/oncall/me is not authorized to perform: states:ListExecutions'), { name: 'AccessDeniedException', $metadata: {} }));

    const { code, stderr } = await resume('long-4');

    expect(code).toBe(0);
    expect(stderr).toBe(
      "Note: could not check that run long-4 had ended before resuming it: this role may not call states:ListExecutions (AccessDeniedException; the stack's OperatorPolicyArn policy allows it). If it still runs, this is a second execution of it: sidekiq-migrate list shows the run's executions.\n",
    );
    expect(fake.started.map((s) => s.name)).toEqual(['long-4-resume-2']);
  });

  it('DescribeExecution refused (AccessDenied): a running continuation whose run cannot be read: resumes as asked, with a note that it could not check', async () => {
    endedRoot('long-5', 'long-5');
    runningContinuation('long-5', 'list', 'long-5');
    fake.sfn.on(DescribeExecutionCommand).rejects(Object.assign(new Error('User: arn:aws:sts::123456789012:assumed-role/oncall/me is not authorized to perform: states:DescribeExecution'), { name: 'AccessDeniedException', $metadata: {} }));

    const { code, stderr } = await resume('long-5');

    expect(code).toBe(0);
    expect(stderr).toBe(
      "Note: could not check that run long-5 had ended before resuming it: this role may not call states:DescribeExecution (AccessDeniedException; the stack's OperatorPolicyArn policy allows it). If it still runs, this is a second execution of it: sidekiq-migrate list shows the run's executions.\n",
    );
    expect(fake.started.map((s) => s.name)).toEqual(['long-5-resume-2']);
  });

  it('the taken-name advice (start --run-id RUN) never says to resume a run whose continuation still runs', async () => {
    endedRoot('taken-1', 'taken-1');
    const continuation = runningContinuation('taken-1', 'item', 'taken-1');

    const { code, stderr } = await cli(['start', '--rename', 'a=b', '--run-id', 'taken-1']);

    expect(code).toBe(2);
    expect(stderr).toContain(`it ended SUCCEEDED, and run taken-1 goes on in execution ${continuation}, still running.`);
    expect(stderr).not.toContain('--resume taken-1');
    expect(fake.started).toEqual([]);
  });
});

// Check and start are two calls: two operators' `start --resume RUN` may both find nothing running
// and both start (RUN-resume-2 and RUN-resume-3, each name taken once). Neither is refused here;
// the run lock makes the one that planned first harmless (resume-while-continuation-runs.test.ts:
// its tasks move nothing more once the later plan holds the lock, each job moved once).
describe('two resumes racing between check and start', () => {
  it('both start, under two names; the second start finds RUN-resume-2 taken and takes RUN-resume-3', async () => {
    await fake.sleep();
    await fake.sleep();
    endedRoot('race-1', 'race-1', 'ExecutionAborted');
    // Both checks answered before either start: each listing waits for the other's.
    let listings = 0;
    let bothChecked!: () => void;
    const checked = new Promise<void>((resolve) => (bothChecked = resolve));
    const answer = fake.listAnswer.bind(fake);
    fake.sfn.on(ListExecutionsCommand).callsFake(async (input: Parameters<typeof answer>[0]) => {
      if (++listings === 2) bothChecked();
      await checked;
      return answer(input);
    });

    const [a, b] = await Promise.all([resume('race-1'), resume('race-1')]);

    // Each command lists twice: its check, then, once started, its look for another start of the run (start-resume-race.test.ts).
    expect(listings).toBe(4);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(fake.started.map((s) => s.name).sort()).toEqual(['race-1-resume-2', 'race-1-resume-3']);
    // The one that looked after both started says so.
    expect([a.stderr, b.stderr].filter((e) => /^Note: run race-1 also runs in execution race-1-resume-[23], started after this command looked/.test(e)).length).toBeGreaterThan(0);
  });
});
