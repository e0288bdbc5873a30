import { DryRunListTooLongError } from '../../../core/errors/dry-run-list-too-long-error.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { executionResumeWays, otherRoutingOfRunError } from '../../../core/workflow/other-routing.js';
import { workflowInputSchema } from '../../../core/workflow/workflow-input.js';
import { toTaskError } from '../../../functions/support/task-error.js';
import { TRIAL_STACK_NAME } from '../../../cli/deployed/stack-outputs.js';
import { StateNames } from '../../../infra/constructs/state-names.js';
import { emptyCounters } from '../../../core/reroute/reroute-counters.js';
import { bufferIo } from '../../support/buffer-io.js';
import { repoPath } from '../../support/paths.js';
import { FakeStepFunctions, REGION, STATE_MACHINE_ARN } from '../../support/fake-step-functions.js';
import { scriptRun, type ScriptedRun } from '../../support/scripted-runs.js';

let fake: FakeStepFunctions;
beforeEach(() => {
  process.env['AWS_REGION'] = REGION;
  fake = new FakeStepFunctions();
});
afterEach(() => fake.restore());

const cli = async (args: string[], interactive = false) => {
  const io = bufferIo(interactive);
  const code = await main(['node', 'sidekiq-migrate', ...args], io, undefined, { sleep: fake.sleep, now: fake.now });
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

/** What watch says of twoItems' retried page (scripted-runs: a lost connection, twice). */
const retried = 'Re-route a slice of the queue: Redis connection lost\n  Transient: the state machine retries this step (at most 6 times, about 2 min in all)\n';

const execution = (name: string) => `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;

const twoItems: ScriptedRun = {
  runId: 'reroute-1',
  items: [
    { kind: 'set', name: 'schedule', total: 3000, pages: [[1000, 600], [2000, 1300], [3000, 1900]], retries: 2 },
    { kind: 'queue', name: 'old', total: 1500, pages: [[1000, 1000], [1500, 1500]] },
  ],
};

describe('start', () => {
  it('starts an execution named after the run id, with an input the plan step accepts, from the stack outputs', async () => {
    const { code, stdout } = await cli(['start', '--rename', 'old=new', '--run-id', 'reroute-7', '--sets', 'schedule,retry', '--append']);

    expect(code).toBe(0);
    expect(fake.started).toHaveLength(1);
    const { name, input } = fake.started[0]!;
    expect(name).toBe('reroute-7');
    expect(input).toEqual({
      runId: 'reroute-7',
      mode: 'reroute',
      source: 'source',
      routing: { kind: 'renames', renames: { old: 'new' } },
      sets: ['schedule', 'retry'],
      queues: true,
      dryRun: false,
      pageSize: 1000,
      unmapped: 'leave',
      placement: 'append',
      startRequest: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
    });
    expect(workflowInputSchema.safeParse(input).success).toBe(true);
    expect(stdout).toBe(
      [
        'Started re-route run reroute-7',
        `  execution  ${execution('reroute-7')}`,
        `  console    https://${REGION}.console.aws.amazon.com/states/home?region=${REGION}#/v2/executions/details/${execution('reroute-7')}`,
        `Follow it with: sidekiq-migrate watch ${execution('reroute-7')}`,
        '',
      ].join('\n'),
    );
  });

  it('starts a dry-run transfer on a named state machine, with a rate limit, and prints JSON', async () => {
    const { code, stdout } = await cli(['start', '--mode', 'transfer', '--state-machine', STATE_MACHINE_ARN, '--rate-limit', '500', '--dry-run', '--no-queues', '--json']);

    expect(code).toBe(0);
    const printed = JSON.parse(stdout);
    expect(printed).toMatchObject({ type: 'started', mode: 'transfer', dryRun: true, executionArn: expect.stringMatching(/:execution:sidekiq-migrate:transfer-\d{8}-\d{6}-[0-9a-f]{4}$/) });
    const { input } = fake.started[0]!;
    expect(input).toMatchObject({ mode: 'transfer', source: 'source', target: 'target', rateLimit: 500, dryRun: true, queues: false });
    expect(input).not.toHaveProperty('routing');
    expect(workflowInputSchema.safeParse(input).success).toBe(true);
  });

  it('--rollback starts a re-route whose routing is the earlier run to put back', async () => {
    const { code, stdout } = await cli(['start', '--rollback', 'reroute-7', '--dry-run']);

    expect(code).toBe(0);
    const { name, input } = fake.started[0]!;
    expect(name).toMatch(/^rollback-\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(input).toMatchObject({ mode: 'reroute', routing: { kind: 'rollback', of: 'reroute-7' }, dryRun: true });
    expect(workflowInputSchema.safeParse(input).success).toBe(true);
    expect(stdout).toMatch(/^Started rollback of reroute-7: run rollback-\S+ \(DRY RUN: writes nothing\)$/m);

    const mixed = await cli(['start', '--rollback', 'reroute-7', '--rename', 'a=b', '--mode', 'transfer']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--rollback: a rollback takes its routing from the run it rolls back');
    expect(mixed.stderr).toContain('--rollback: a rollback re-routes inside one Redis: not with --mode transfer');
    expect(fake.started).toHaveLength(1);
  });

  /** Executions `start` creates from now on fail one tick after they start. */
  const startedExecutionsFail = () => {
    fake.onStart = (name, input) => {
      fake.add(execution(name), JSON.stringify(input), [[{ type: 'ExecutionStarted', executionStartedEventDetails: { input: JSON.stringify(input) } }], [{ type: 'ExecutionFailed' }]]);
    };
  };

  it('--resume starts the same run id again in a new execution, named RUN-resume-2, RUN-resume-3 (only 0-9A-Za-z-_)', async () => {
    startedExecutionsFail();
    await cli(['start', '--rename', 'a=b', '--run-id', 'reroute-9']);
    await fake.sleep();

    const second = await cli(['start', '--rename', 'a=b', '--resume', 'reroute-9', '--json']);
    await fake.sleep();
    const third = await cli(['start', '--rename', 'a=b', '--resume', 'reroute-9', '--json']);

    expect([second.code, third.code]).toEqual([0, 0]);
    expect(fake.started.map((s) => s.name)).toEqual(['reroute-9', 'reroute-9-resume-2', 'reroute-9-resume-3']);
    expect(fake.started.every((s) => /^[0-9A-Za-z_-]{1,80}$/.test(s.name))).toBe(true);
    expect(fake.started.every((s) => (s.input as { runId: string }).runId === 'reroute-9')).toBe(true);
    expect(JSON.parse(third.stdout)).toMatchObject({ runId: 'reroute-9', executionArn: execution('reroute-9-resume-3') });
    expect([second.stderr, third.stderr]).toEqual(['', '']);
    // Each start's input is its own; everything else is the same run's.
    const requests = fake.started.map((s) => (s.input as { startRequest?: unknown }).startRequest);
    expect(new Set(requests).size).toBe(3);
    expect(fake.started.map(({ input }) => ({ ...(input as object), startRequest: 'x' }))).toEqual(Array(3).fill({ ...(fake.started[0]!.input as object), startRequest: 'x' }));
    const both = await cli(['start', '--rename', 'a=b', '--resume', 'reroute-9', '--run-id', 'x']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--resume: --resume names the run: not with --run-id');
  });

  it('refuses a run id that cannot name a Step Functions execution (a "."), starting nothing', async () => {
    const dotted = await cli(['start', '--rename', 'a=b', '--run-id', 'reroute.9']);
    const resumed = await cli(['start', '--rename', 'a=b', '--resume', 'reroute.9']);

    expect([dotted.code, resumed.code]).toEqual([2, 2]);
    expect(dotted.stderr).toContain('--run-id: use 1–70 letters, digits, "_" or "-" (it names the Step Functions execution)');
    expect(resumed.stderr).toContain('--resume: use 1–70 letters, digits, "_" or "-" (it names the Step Functions execution)');
    expect(fake.started).toEqual([]);
  });

  it('takes the state machine and routing from the configuration file; flags win', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'start-config-'));
    const file = join(dir, 'sidekiq-migrate.config.yaml');
    writeFileSync(file, ['aws:', `  stateMachine: ${STATE_MACHINE_ARN}`, 'routing:', '  rename: [old=new]', 'pageSize: 250', ''].join('\n'));

    const fromFile = await cli(['start', '--config', file, '--run-id', 'cfg-1']);
    const overridden = await cli(['start', '--config', file, '--run-id', 'cfg-2', '--rename', 'a=b', '--page-size', '10']);

    expect([fromFile.code, overridden.code]).toEqual([0, 0]);
    expect(fromFile.stderr).toContain(`Using configuration file ${file} (--config)`);
    expect(fake.started.map((s) => s.input)).toEqual([
      expect.objectContaining({ runId: 'cfg-1', routing: { kind: 'renames', renames: { old: 'new' } }, pageSize: 250 }),
      expect.objectContaining({ runId: 'cfg-2', routing: { kind: 'renames', renames: { a: 'b' } }, pageSize: 10 }),
    ]);
    // The ARN came from the file: no stack lookup.
    expect(fake.cfn.calls()).toHaveLength(0);
  });

  it("refuses an execution input over Step Functions' 256 KiB (262,144 bytes) less the plan task's room for the execution's ARN, starting nothing; one at the limit starts", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'start-size-'));
    // A mapping whose one long class name sets the input's size to the byte.
    const start = async (runId: string, padding: number) => {
      const file = join(dir, `${runId}.json`);
      writeFileSync(file, JSON.stringify({ A: 'q', [`B${'x'.repeat(padding)}`]: 'q' }));
      return cli(['start', '--mapping', file, '--run-id', runId, '--state-machine', STATE_MACHINE_ARN]);
    };
    expect((await start('size-0', 0)).code).toBe(0);
    const base = Buffer.byteLength(JSON.stringify(fake.started[0]!.input));
    // 256 KiB less the room the plan task's input needs beside it (the execution's ARN).
    const atLimit = 256 * 1024 - 512 - base;

    const fits = await start('size-1', atLimit);
    const over = await start('size-2', atLimit + 1);

    expect(fits.code).toBe(0);
    expect(Buffer.byteLength(JSON.stringify(fake.started[1]!.input))).toBe(261_632);
    expect(over.code).toBe(2);
    expect(over.stderr).toContain(
      "The run's input would be 261,633 bytes, over the 261,632 bytes a run's input may take (Step Functions takes 262,144 bytes a state, and its first task gets the input with the execution's name; the local runner holds to the same limit): its mapping names 2 classes. Split the mapping into runs of at most about 1 class each",
    );
    expect(over.stderr).toContain('Nothing was touched.');
    expect(over.stdout).toBe('');
    expect(fake.started.map((s) => s.name)).toEqual(['size-0', 'size-1']);
    expect(fake.calls('StartExecution')).toBe(2);
  });

  it('an input too large and a bad option, in one message (the size was said only once the option was fixed); --cron with a selection too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'start-size-'));
    const file = join(dir, 'big.json');
    writeFileSync(file, JSON.stringify({ A: 'q', [`B${'x'.repeat(300_000)}`]: 'q' }));

    const both = await cli(['start', '--mapping', file, '--run-id', 'size-3', '--page-size', '0', '--state-machine', STATE_MACHINE_ARN]);
    const alone = await cli(['start', '--mapping', file, '--run-id', 'size-3', '--state-machine', STATE_MACHINE_ARN]);
    const cron = await cli(['start', '--mode', 'transfer', '--classes', 'A', '--cron', '--rate-limit', 'ten', '--state-machine', STATE_MACHINE_ARN]);

    expect(both.code).toBe(2);
    expect(both.stdout).toBe('');
    expect(both.stderr).toMatch(/^Invalid options and files:\n {2}- --page-size: the page size must be positive\n {2}- The run's input would be [\d,]+ bytes, over the 261,632 bytes a run's input may take .*: its mapping names 2 classes\. .* Nothing was touched\.\n$/);
    // The size said with the option is the size said alone (the option left at its default).
    expect(both.stderr.split('\n  - ')[2]).toBe(alone.stderr);
    expect(cron.code).toBe(2);
    expect(cron.stderr).toBe(
      'Invalid options:\n  - --rate-limit: the rate limit must be a whole number in decimal digits, not "ten"\n' +
        "  - --cron copies every sidekiq-cron definition of the source, not only the selected classes: with --classes, --classes-file or --store each schedule would push from both Redis servers. Leave the definitions where they are, or copy them with a move of every class. Nothing was touched.\n",
    );
    expect(fake.calls('StartExecution')).toBe(0);
  });

  it('--verbose with --json is refused (start --watch, watch): it did nothing', async () => {
    const words = '--verbose: does nothing with --json (its JSON names every set and queue already): leave --verbose or --json out';
    const start = await cli(['start', '--rename', 'a=b', '--watch', '--json', '--verbose', '--state-machine', STATE_MACHINE_ARN]);
    const watch = await cli(['watch', 'reroute-1', '--json', '--verbose', '--state-machine', STATE_MACHINE_ARN]);

    expect(start).toMatchObject({ code: 2, stdout: '', stderr: `${words}\n` });
    expect(watch).toMatchObject({ code: 2, stdout: '', stderr: `${words}\n` });
    expect(fake.calls('StartExecution')).toBe(0);
  });

  it('refuses bad input with every problem in one message, starting nothing', async () => {
    const { code, stderr } = await cli(['start', '--rate-limit', 'ten', '--mode', 'sideways', '--region', 'mars']);

    expect(code).toBe(2);
    expect(stderr).toContain('--mode: must be reroute (like run) or transfer (like move)');
    expect(stderr).toContain('--rate-limit: the rate limit must be a whole number in decimal digits, not "ten"');
    expect(stderr).toContain('--region: an AWS region such as eu-west-1');
    expect(fake.calls('StartExecution')).toBe(0);
  });

  it('--rate-limit above 100000 jobs/s is refused, starting nothing; the execution input refuses it too', async () => {
    const { code, stdout, stderr } = await cli(['start', '--mode', 'transfer', '--state-machine', STATE_MACHINE_ARN, '--rate-limit', '100001']);

    const words = 'the rate limit is at most 100000 jobs per second per set or queue (a move is slower than that, so it would limit nothing): leave it out not to limit the move';
    expect({ code, stdout, stderr }).toEqual({ code: 2, stdout: '', stderr: `--rate-limit: ${words}\n` });
    expect(fake.calls('StartExecution')).toBe(0);
    expect(workflowInputSchema.safeParse({ runId: 'x', mode: 'transfer', source: 'source', target: 'target', rateLimit: 100_001 }).error?.issues.map((i) => i.message)).toEqual([words]);
    expect(workflowInputSchema.safeParse({ runId: 'x', mode: 'transfer', source: 'source', target: 'target', rateLimit: 100_000 }).success).toBe(true);
  });

  it('a re-route needs routing; a rate limit is for transfers', async () => {
    const noRouting = await cli(['start']);
    expect(noRouting.code).toBe(2);
    expect(noRouting.stderr).toContain('say where jobs go');
    const rateLimited = await cli(['start', '--rename', 'a=b', '--rate-limit', '10']);
    expect(rateLimited.code).toBe(2);
    expect(rateLimited.stderr).toContain('--rate-limit: only a transfer (--mode transfer) is rate limited');
    expect(fake.calls('StartExecution')).toBe(0);
  });

  it('--from-replicas / --to-replicas: the input of a transfer carries them (its WAITs ask for that many); on a re-route, or not a positive number, exit 2 starting nothing', async () => {
    const started = await cli(['start', '--mode', 'transfer', '--state-machine', STATE_MACHINE_ARN, '--from-replicas', '1', '--to-replicas', '2', '--json']);
    expect(started.code).toBe(0);
    const { input } = fake.started[0]!;
    expect(input).toMatchObject({ mode: 'transfer', fromReplicas: 1, toReplicas: 2 });
    expect(workflowInputSchema.safeParse(input).success).toBe(true);
    const reroute = await cli(['start', '--rename', 'a=b', '--to-replicas', '1', '--from-replicas', '-1']);
    expect(reroute.code).toBe(2);
    expect(reroute.stderr).toContain('--to-replicas: only a transfer (--mode transfer) waits for replicas');
    expect(reroute.stderr).toContain('--from-replicas: the replica count must be positive');
    expect(fake.calls('StartExecution')).toBe(1);
    expect(workflowInputSchema.safeParse({ runId: 'x', mode: 'reroute', routing: { kind: 'renames', renames: { a: 'b' } }, toReplicas: 1 }).success).toBe(false);
  });

  it('--source and --target of a form no connection has are refused naming the option and the value, starting nothing', async () => {
    const { code, stdout, stderr } = await cli(['start', '--mode', 'transfer', '--source', 'Old_Redis', '--target', '']);

    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe(
      'Invalid options:\n' +
        '  - --source: "Old_Redis" is not a connection name of the deployment (e.g. source or target): lowercase letters, digits and "-", starting with a letter, at most 31\n' +
        '  - --target: a connection name of the deployment (e.g. source or target), not empty\n',
    );
    expect(fake.calls('StartExecution')).toBe(0);
  });

  it('refuses a transfer from a connection to itself, starting nothing (its plan step would fail the execution)', async () => {
    const same = await cli(['start', '--mode', 'transfer', '--source', 'target']);

    expect(same.code).toBe(2);
    expect(same.stderr).toContain('--target: a transfer needs two connections: source and target are both "target"');
    expect(fake.calls('StartExecution')).toBe(0);
    expect(workflowInputSchema.safeParse({ runId: 'x', mode: 'transfer', source: 'source', target: 'source' }).success).toBe(false);
  });

  it('passes --rewrite-cron (re-route) and --cron (transfer) on as the cron action; refuses each in the other mode', async () => {
    expect((await cli(['start', '--rename', 'a=b', '--rewrite-cron'])).code).toBe(0);
    expect((await cli(['start', '--mode', 'transfer', '--cron'])).code).toBe(0);
    expect(fake.started.map((s) => (s.input as { cron?: string }).cron)).toEqual(['rewrite', 'carry']);
    for (const { input } of fake.started) expect(workflowInputSchema.safeParse(input).success).toBe(true);

    const wrong = await cli(['start', '--mode', 'transfer', '--rewrite-cron']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--rewrite-cron: only a re-route (not a rollback) rewrites cron definitions');
    const wrongToo = await cli(['start', '--rename', 'a=b', '--cron']);
    expect(wrongToo.stderr).toContain('--cron: only a transfer (--mode transfer) copies cron definitions');
    expect(fake.started).toHaveLength(2);
  });

  // The advice depends on the execution of that name (DescribeExecution): one still running is
  // watched or stopped, never resumed (a resume would start a second execution of a run that runs).
  const endedRun = async (name: string, type: 'ExecutionSucceeded' | 'ExecutionFailed' | 'ExecutionAborted' | 'ExecutionTimedOut') => {
    fake.add(execution(name), '{}', [[{ type: 'ExecutionStarted', executionStartedEventDetails: { input: '{}' } }], [{ type }]]);
    await fake.sleep();
  };

  for (const [type, status] of [['ExecutionSucceeded', 'SUCCEEDED'], ['ExecutionFailed', 'FAILED'], ['ExecutionAborted', 'ABORTED'], ['ExecutionTimedOut', 'TIMED_OUT']] as const) {
    it(`the run id names an execution that ended ${status}: says so and to give another --run-id or resume it; exit 2, nothing started`, async () => {
      await endedRun('taken', type);

      const { code, stdout, stderr } = await cli(['start', '--rename', 'a=b', '--run-id', 'taken']);

      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toBe(
        `An execution named taken already exists on ${STATE_MACHINE_ARN} (names stay taken for 90 days); it ended ${status}. Give another --run-id, or resume that run with --resume taken.\n`,
      );
      expect(fake.started).toEqual([]);
    });
  }

  it('the run id names an execution that ended, and the run goes on in RUN-resume-3, still running: says to watch or stop the run, never to resume it; exit 2, nothing started', async () => {
    await endedRun('taken', 'ExecutionFailed');
    await endedRun('taken-resume-2', 'ExecutionAborted');
    fake.add(execution('taken-resume-3'), '{}', [[{ type: 'ExecutionStarted', executionStartedEventDetails: { input: '{}' } }]]);

    const { code, stdout, stderr } = await cli(['start', '--rename', 'a=b', '--run-id', 'taken']);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `An execution named taken already exists on ${STATE_MACHINE_ARN}; it ended FAILED, and run taken goes on in execution taken-resume-3, still running. Follow it with: sidekiq-migrate watch taken, or stop it with: sidekiq-migrate stop taken (resuming a run that still runs would start a second execution of it). To start another run, give another --run-id.\n`,
    );
    expect(fake.started).toEqual([]);
  });

  it('the run id names an execution that ended, and so did the run\'s newest execution RUN-resume-2: names both ends, and says to resume; exit 2', async () => {
    await endedRun('taken', 'ExecutionFailed');
    await endedRun('taken-resume-2', 'ExecutionAborted');

    const { code, stderr } = await cli(['start', '--rename', 'a=b', '--run-id', 'taken']);

    expect(code).toBe(2);
    expect(stderr).toBe(
      `An execution named taken already exists on ${STATE_MACHINE_ARN} (names stay taken for 90 days); it ended FAILED, and the run's newest execution, taken-resume-2, ended ABORTED. Give another --run-id, or resume that run with --resume taken.\n`,
    );
    expect(fake.started).toEqual([]);
  });

  it('DescribeExecution refused (AccessDenied): the words without the execution\'s status, and a note saying what to do if it still runs; exit 2, nothing started', async () => {
    await cli(['start', '--rename', 'a=b', '--run-id', 'taken']);
    fake.sfn.on(DescribeExecutionCommand).rejects(Object.assign(new Error(`User: arn:aws:sts::123456789012:assumed-role/oncall/me is not authorized to perform: states:DescribeExecution on resource: ${execution('taken')}`), { name: 'AccessDeniedException', $metadata: {} }));

    const { code, stdout, stderr } = await cli(['start', '--rename', 'a=b', '--run-id', 'taken']);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `An execution named taken already exists on ${STATE_MACHINE_ARN} (names stay taken for 90 days). Give another --run-id, or resume that run with --resume taken.\n` +
        `Note: whether it still runs is unknown: this role may not call states:DescribeExecution (AccessDeniedException; the stack's OperatorPolicyArn policy allows it). If it still runs, follow it with: sidekiq-migrate watch taken, or stop it with: sidekiq-migrate stop taken; do not resume it (a second execution of a run that runs).\n`,
    );
    expect(fake.started.map((s) => s.name)).toEqual(['taken']);
  });

  // Step Functions answers a StartExecution with the name of an OPEN execution and the same input
  // with that execution (idempotent: nothing started); the fake does too. Each start's input is
  // its own (startRequest), so a name taken is always refused, never answered with another's run.
  it('a second start of a run id whose execution still runs, with the same flags: says the name is taken, exit 2, never "Started" a run it did not start', async () => {
    const first = await cli(['start', '--rename', 'a=b', '--run-id', 'taken']);
    const second = await cli(['start', '--rename', 'a=b', '--run-id', 'taken']);

    expect(first.code).toBe(0);
    expect(fake.status(execution('taken'))).toBe('RUNNING');
    expect(second.code).toBe(2);
    expect(second.stdout).toBe('');
    expect(second.stderr).toBe(
      `An execution named taken already exists on ${STATE_MACHINE_ARN} and is still running (run taken is not over). Follow it with: sidekiq-migrate watch taken, or stop it with: sidekiq-migrate stop taken (resuming a run that still runs would start a second execution of it). To start another run, give another --run-id.\n`,
    );
    expect(fake.started.map((s) => s.name)).toEqual(['taken']);
    expect(fake.answeredExisting).toEqual([]);
  });

  // --resume looks first (DescribeExecution of RUN and the run's newest RUN-resume-N): a run that
  // still runs is followed or stopped, then resumed; a second execution of it is never started.
  it('--resume of a run whose first execution still runs: says so, to watch or stop it, then resume; exit 2, nothing started', async () => {
    await cli(['start', '--rename', 'a=b', '--run-id', 'again']);

    const { code, stdout, stderr } = await cli(['start', '--rename', 'a=b', '--resume', 'again']);

    expect(fake.status(execution('again'))).toBe('RUNNING');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'Run again is still running, in execution again: nothing started (--resume now would start a second execution of a run that runs). Follow it with: sidekiq-migrate watch again, or stop it with: sidekiq-migrate stop again, then resume it.\n',
    );
    expect(fake.started.map((s) => s.name)).toEqual(['again']);
    expect(fake.answeredExisting).toEqual([]);
  });

  it('a second --resume while the first resume (RUN-resume-2) still runs: says so, to watch or stop it, then resume; exit 2, nothing started, never RUN-resume-3', async () => {
    await endedRun('again', 'ExecutionFailed');
    const first = await cli(['start', '--rename', 'a=b', '--resume', 'again']);
    const second = await cli(['start', '--rename', 'a=b', '--resume', 'again']);

    expect(fake.status(execution('again-resume-2'))).toBe('RUNNING');
    expect([first.code, second.code]).toEqual([0, 2]);
    expect(second.stdout).toBe('');
    expect(second.stderr).toBe(
      'Run again is still running, in execution again-resume-2: nothing started (--resume now would start a second execution of a run that runs). Follow it with: sidekiq-migrate watch again, or stop it with: sidekiq-migrate stop again, then resume it.\n',
    );
    expect(fake.started.map((s) => s.name)).toEqual(['again-resume-2']);
    expect(fake.answeredExisting).toEqual([]);
  });

  it('--resume once the run\'s newest execution ended (stopped): starts the next RUN-resume-N, no note', async () => {
    await endedRun('again', 'ExecutionFailed');
    await endedRun('again-resume-2', 'ExecutionAborted');

    const { code, stdout, stderr } = await cli(['start', '--rename', 'a=b', '--resume', 'again']);

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain(`  execution  ${execution('again-resume-3')}\n`);
    expect(fake.started.map((s) => s.name)).toEqual(['again-resume-3']);
  });

  it('--resume of a run with no execution of its name on this state machine: starts RUN-resume-2 as before, no note', async () => {
    const { code, stderr } = await cli(['start', '--rename', 'a=b', '--resume', 'elsewhere']);

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(fake.started.map((s) => s.name)).toEqual(['elsewhere-resume-2']);
  });

  it('--resume when DescribeExecution is refused (AccessDenied): the run\'s first execution, still running, is known by its name (ListExecutions): refused, exit 2, nothing more started', async () => {
    await cli(['start', '--rename', 'a=b', '--run-id', 'again']);
    fake.sfn.on(DescribeExecutionCommand).rejects(Object.assign(new Error(`User: arn:aws:sts::123456789012:assumed-role/oncall/me is not authorized to perform: states:DescribeExecution on resource: ${execution('again')}`), { name: 'AccessDeniedException', $metadata: {} }));

    const { code, stdout, stderr } = await cli(['start', '--rename', 'a=b', '--resume', 'again']);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'Run again is still running, in execution again: nothing started (--resume now would start a second execution of a run that runs). Follow it with: sidekiq-migrate watch again, or stop it with: sidekiq-migrate stop again, then resume it.\n',
    );
    expect(fake.started.map((s) => s.name)).toEqual(['again']);
  });

  it('names the stack that does not exist, and a bad --state-machine', async () => {
    const noStack = await cli(['start', '--rename', 'a=b', '--stack', 'Nope']);
    expect(noStack.code).toBe(2);
    // Where it was looked for: a stack deployed in another region than the shell's is the usual cause.
    expect(noStack.stderr).toBe(`Reading the outputs of stack Nope in ${REGION}: Stack with id Nope does not exist (ValidationError). Deployed in another region? Give --region (or set AWS_REGION).\n`);
    const badArn = await cli(['start', '--rename', 'a=b', '--state-machine', 'arn:aws:lambda:eu-west-1:123456789012:function:x']);
    expect(badArn.code).toBe(2);
    expect(badArn.stderr).toContain('not a state machine ARN');
  });

  it('says that --stack was not given when the default stack does not exist (cdk.json deploys SidekiqMigrateTrial)', async () => {
    fake.cfn.reset();
    fake.cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id SidekiqMigrate does not exist'), { name: 'ValidationError' }));

    const { code, stderr } = await cli(['start', '--rename', 'a=b']);

    expect(code).toBe(2);
    // The stack's name is the usual cause here, not the region: `npx cdk deploy` with cdk.json as
    // shipped deploys SidekiqMigrateTrial, and a configuration names its own stackName.
    expect(stderr).toBe(
      `Reading the outputs of stack SidekiqMigrate in ${REGION}: Stack with id SidekiqMigrate does not exist (ValidationError). No --stack was given, so the default SidekiqMigrate was looked for: give --stack with the stackName the deployment configuration names (cdk.json's trial: SidekiqMigrateTrial), or --state-machine ARN. Deployed in another region? Give --region (or set AWS_REGION).\n`,
    );
    expect(fake.started).toHaveLength(0);
    expect((JSON.parse(readFileSync(repoPath('cdk.json'), 'utf8')) as { context: { sidekiqMigrate: { stackName: string } } }).context.sidekiqMigrate.stackName).toBe(TRIAL_STACK_NAME);
  });

  it('turns missing AWS credentials into one clear message', async () => {
    fake.cfn.reset();
    fake.cfn.rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));

    const { code, stderr } = await cli(['start', '--rename', 'a=b']);

    expect(code).toBe(2);
    expect(stderr).toContain(`Reading the outputs of stack SidekiqMigrate in ${REGION}: Could not load credentials from any providers (CredentialsProviderError)`);
    expect(stderr).toContain('Check the AWS credentials and region');
  });

  it('--watch follows the execution it started to the end', async () => {
    fake.onStart = (name) => scriptRun(fake, { ...twoItems, runId: name });

    const { code, stdout } = await cli(['start', '--rename', 'old=new_queue', '--run-id', 'reroute-1', '--watch', '--interval', '1']);

    expect(code).toBe(0);
    expect(stdout).toContain('Started re-route run reroute-1');
    expect(stdout).toContain('Succeeded after');
  });
});

describe('watch', () => {
  // "Continue the list in a new execution" met ExecutionAlreadyExists: an earlier attempt started
  // the list's continuation (its answer lost), which has ended; "The list’s continuation had
  // started" hands the list on to it all the same, and watch follows it as it follows a started one.
  it('follows the list\'s continuation an earlier attempt started (its name taken): reads its history and its summary, the run not over before it ended', async () => {
    const counters = (moved: number) => ({ ...emptyCounters(), scanned: moved, moved, movedTo: { new_queue: moved } });
    const summary = (runId: string, listed: string | undefined, moved: number) => ({
      runId, mode: 'reroute', dryRun: false, sets: {}, queues: { [`q${moved}`]: counters(moved) },
      totals: counters(moved), counts: { finished: 1, failed: 0, continued: listed ? 1 : 0 }, failures: [],
      continuedIn: listed ? [{ kind: 'list', name: 'the rest of the sets and queues', execution: listed }] : [], complete: !listed,
    });
    const rest = execution('long-l-0123456789abcdef0123456789abcdef');
    fake.add(rest, '{}', [[{ type: 'ExecutionStarted', executionStartedEventDetails: { input: '{}' } }], [{ type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: JSON.stringify(summary('long', undefined, 7)) } }]], { startTick: 1 });
    fake.add(execution('long'), '{}', [
      [{ type: 'ExecutionStarted', executionStartedEventDetails: { input: '{}' } }],
      [{ type: 'TaskStateEntered', stateEnteredEventDetails: { name: StateNames.continueList } }, { type: 'TaskFailed', taskFailedEventDetails: { resourceType: 'states', resource: 'startExecution', error: 'StepFunctions.ExecutionAlreadyExistsException', cause: `Execution Already Exists: '${rest}'` } }],
      [{ type: 'PassStateExited', stateExitedEventDetails: { name: StateNames.listContinuationStartedEarlier, output: JSON.stringify({ plan: { listContinuedIn: { executionArn: rest } } }) } }],
      [{ type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: JSON.stringify(summary('long', rest, 5)) } }],
    ]);

    const { code, stdout, stderr } = await cli(['watch', execution('long'), '--interval', '1', '--json']);

    // Never "Transient: the state machine retries this step (at most 0 times…)": it is never retried.
    expect(stderr).toBe('');
    const end = JSON.parse(stdout.trim().split('\n').at(-1)!) as { type: string; summary: { totals: { moved: number }; complete: boolean } };
    expect(end.type).toBe('end');
    expect(end.summary.totals.moved).toBe(12);
    expect(end.summary.complete).toBe(true);
    expect(code).toBe(0);
  });

  it('in a pipe: one plain line per update, then the summary; exit 0 when the run succeeded', async () => {
    const arn = scriptRun(fake, twoItems);

    const { code, stdout, stderr } = await cli(['watch', arn, '--interval', '1']);

    expect(code).toBe(0);
    // The retried page's error, once, with the retries to come: "2 retries" alone said not why.
    expect(stderr).toBe(retried);
    expect(stdout).toMatchSnapshot();
  });

  it('a selective run: examined of the source\'s jobs and selected moved, never "Jobs N of" every job; a whole-queue run: jobs of the planned total', async () => {
    const selective: ScriptedRun = {
      runId: 'shard-1',
      selective: true,
      plannedJobs: 6000,
      items: [
        { kind: 'queue', name: 'default', total: 5000, pages: [[2000, 100], [5000, 300]] },
        { kind: 'set', name: 'schedule', total: 1000, pages: [[1000, 50]] },
      ],
    };
    const overall = (stdout: string) => stdout.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')).filter((l) => /^(Examining|Jobs)/.test(l));

    const piped = await cli(['watch', scriptRun(fake, selective), '--interval', '1']);
    const terminal = await cli(['watch', execution('shard-1'), '--interval', '1'], true);

    expect(piped.code).toBe(0);
    // Each pipe line: time · status · state · items · jobs examined · selected moved · rate · retries.
    expect(piped.stdout.split('\n').filter((l) => /^\d{4}-/.test(l)).map((l) => l.split(' · ').slice(3, 6).join(' · '))).toEqual([
      'items 0/2 done · 0 examined · 0 selected moved',
      'items 1/2 done · 3,000 examined · 150 selected moved',
      'items 2/2 done · 6,000 examined · 350 selected moved',
    ]);
    expect(terminal.code).toBe(0);
    expect(overall(terminal.stdout).at(-1)).toMatch(/^Examining 6,000\/6,000 · 350 selected moved · [\d,]+\/s$/);
    expect(overall(terminal.stdout).every((l) => l.startsWith('Examining '))).toBe(true);

    const whole = await cli(['watch', scriptRun(fake, { ...selective, runId: 'whole-1', selective: false }), '--interval', '1'], true);
    expect(whole.code).toBe(0);
    expect(overall(whole.stdout).at(-1)).toMatch(/^Jobs 6,000 of 6,000 \(100%\) · 350 moved · [\d,]+\/s$/);
    expect(overall(whole.stdout).every((l) => l.startsWith('Jobs '))).toBe(true);
  });

  it('reads only what is new at each poll: history reads do not grow with the history', async () => {
    const pages = Array.from({ length: 60 }, (_, i) => [(i + 1) * 100, (i + 1) * 100] as const);
    const arn = scriptRun(fake, { runId: 'long-3', items: [{ kind: 'queue', name: 'old', total: 6000, pages }] });

    expect((await cli(['watch', arn, '--interval', '1'])).code).toBe(0);

    const total = [...fake.executions.values()].reduce((n, e) => n + e.events.length, 0);
    // Re-reading whole histories would serve about 30× the events there are (60 polls of a growing
    // history); reading backwards to the last event seen serves one small page per execution and poll.
    expect(fake.eventsServed).toBeLessThan(total * 10);
    expect(fake.calls('GetExecutionHistory')).toBeLessThanOrEqual(2 * (fake.tick + 1));
  });

  it("says what the plan found once, as a local run does: a Redis that may evict, cron still pushing to old queues, jobs under another prefix", async () => {
    const planNotes = {
      memoryPolicies: { source: 'allkeys-lru' },
      cron: { definitions: 3, misrouted: 1, examples: [{ name: 'nightly', queue: 'old', to: 'new_queue' }], action: 'leave', dryRun: false },
      otherPrefixes: [{ prefix: 'resque:gitlab:', keys: 4, jobs: 12 }],
    };
    const notices = [
      'maxmemory-policy: source allkeys-lru',
      expect.stringMatching(/^WARNING: source has maxmemory-policy allkeys-lru: under memory pressure Redis evicts any key/),
      'warning: 1 sidekiq-cron definition(s) still push to their old queue (nightly: old → new_queue): restart Sidekiq with the new rules (GitLab saves its cron definitions at boot), or run with --rewrite-cron.',
      expect.stringMatching(/^Note: this Redis also holds 12 job\(s\) under the prefix "resque:gitlab:", which this run does not touch\./),
    ];
    const lines = (text: string) => text.trimEnd().split('\n');

    const piped = await cli(['watch', scriptRun(fake, { ...twoItems, planNotes }), '--interval', '1']);
    const json = await cli(['watch', scriptRun(fake, { ...twoItems, runId: 'reroute-json', planNotes }), '--interval', '1', '--json']);
    const status = await cli(['status', scriptRun(fake, { ...twoItems, runId: 'reroute-status', planNotes })]);
    const terminal = await cli(['watch', scriptRun(fake, { ...twoItems, runId: 'reroute-tty', planNotes }), '--interval', '1'], true);

    // Then the retried page's error, once.
    const withRetry = [...notices, ...lines(retried)];
    expect(piped.code).toBe(0);
    expect(lines(piped.stderr)).toEqual(withRetry);
    // --json: the warnings on stderr, without the policies line; the updates do not repeat them.
    expect(lines(json.stderr)).toEqual(withRetry.slice(1));
    expect(json.stdout).not.toContain('allkeys-lru');
    expect(json.stdout).not.toContain('Redis connection lost');
    // status shows one moment: the plan's notes, and the retry when it had happened by then.
    expect(lines(status.stderr).slice(0, notices.length)).toEqual(notices);
    // On a terminal, once, above the view (which is drawn again below them).
    expect(lines(terminal.stderr)).toEqual(withRetry);
    expect(terminal.stdout).toContain('Succeeded after');
  });

  it("a transfer's plan that found Sidekiq 7.3+ iterable states (it-<jid>) on the source: watch and status name them, as a local move does", async () => {
    const planNotes = { memoryPolicies: { source: 'noeviction', target: 'noeviction' }, iterableStates: { count: 12, jids: ['aaaaaaaaaaaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaaaaaaaaaaa2'] } };
    const items: ScriptedRun['items'] = [{ kind: 'queue', name: 'default', total: 1000, pages: [[1000, 400]] }];
    const warning = (by: string) =>
      `warning: sidekiq: 12 iterable job state(s) (it-<jid>) on the source are not carried by ${by}: a job of such a jid that it moves (queued, scheduled, retrying or dead) restarts its iteration from the beginning on the target, every item processed again (a cancelled one runs). jids: aaaaaaaaaaaaaaaaaaaaaaa1 · aaaaaaaaaaaaaaaaaaaaaaa2 · … and 10 more. Let them finish on the old Redis first (docs/runbooks/redis-move.md, "Iterable jobs").`;

    const run = await cli(['watch', scriptRun(fake, { runId: 'iterable-run', selective: true, planNotes, items }), '--interval', '1']);
    const dry = await cli(['status', scriptRun(fake, { runId: 'iterable-dry', selective: true, dryRun: true, planNotes, items })]);

    expect(run.code).toBe(0);
    expect(run.stderr.split('\n').filter((l) => l.includes('it-<jid>'))).toEqual([warning('this move')]);
    expect(dry.stderr.split('\n').filter((l) => l.includes('it-<jid>'))).toEqual([warning('a move')]);
  });

  it("--json carries the iterable states a transfer's plan found (iterableStates), as a local move --json does: a script reading stdout alone sees them", async () => {
    const iterableStates = { count: 12, jids: ['aaaaaaaaaaaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaaaaaaaaaaa2'] };
    const items: ScriptedRun['items'] = [{ kind: 'queue', name: 'default', total: 2000, pages: [[1000, 400], [2000, 800]] }];
    const arn = scriptRun(fake, { runId: 'iterable-json', selective: true, planNotes: { iterableStates }, items });

    const running = await cli(['status', arn, '--json']);
    fake.tick = 0;
    const watched = await cli(['watch', arn, '--interval', '1', '--json']);
    const none = await cli(['status', scriptRun(fake, { runId: 'no-iterable', selective: true, items }), '--json']);

    expect([running.code, watched.code]).toEqual([0, 0]);
    expect(JSON.parse(running.stdout)).toMatchObject({ type: 'progress', status: 'RUNNING', iterableStates });
    const end = JSON.parse(watched.stdout.trimEnd().split('\n').at(-1)!);
    expect(end).toMatchObject({ type: 'end', status: 'SUCCEEDED', iterableStates });
    // Still said once on stderr, as without --json.
    expect(watched.stderr.split('\n').filter((l) => l.includes('it-<jid>'))).toHaveLength(1);
    expect(JSON.parse(none.stdout.trimEnd().split('\n').at(-1)!)).not.toHaveProperty('iterableStates');
  });

  it("a transfer dry run toward a target that may evict any key: watch and status say first that a run would be refused (the plan's notes), as a local dry run does", async () => {
    const planNotes = { memoryPolicies: { source: 'noeviction', target: 'allkeys-lru' } };
    const dry: ScriptedRun = { runId: 'dry-evict', selective: true, dryRun: true, planNotes, items: [{ kind: 'queue', name: 'default', total: 1000, pages: [[1000, 400]] }] };
    const refused = "Dry run, nothing written: a run would be refused, touching nothing: the target's maxmemory-policy is allkeys-lru, which may evict any key (set noeviction, or a volatile-* policy, first). Once it is set: ";

    const piped = await cli(['watch', scriptRun(fake, dry), '--interval', '1']);
    const json = await cli(['watch', scriptRun(fake, { ...dry, runId: 'dry-evict-json' }), '--interval', '1', '--json']);
    // The same dry run toward a target that evicts nothing: what a run would move, as before.
    const kept = await cli(['watch', scriptRun(fake, { ...dry, runId: 'dry-kept', planNotes: { memoryPolicies: { source: 'noeviction', target: 'noeviction' } } }), '--interval', '1']);
    // status of the ended run, human and --json.
    const statusArn = scriptRun(fake, { ...dry, runId: 'dry-evict-status' });
    fake.tick = 100;
    const status = await cli(['status', statusArn]);
    const statusJson = await cli(['status', statusArn, '--json']);

    const verdictOf = (stdout: string) => stdout.trimEnd().split('\n').at(-2);
    const line = `${refused}a run would move 400 job(s) and leave none behind.`;
    expect(piped.code).toBe(0);
    expect(verdictOf(piped.stdout)).toBe(line);
    expect(piped.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Succeeded after /);
    // The policy and its warning, once, on stderr.
    expect(piped.stderr.trimEnd().split('\n')).toEqual(['maxmemory-policy: source noeviction · target allkeys-lru', expect.stringMatching(/^WARNING: target has maxmemory-policy allkeys-lru: under memory pressure Redis evicts any key/)]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout.trimEnd().split('\n').at(-1)!)).toMatchObject({ type: 'end', dryRun: true, verdict: { state: 'dry-run', line } });
    expect(status.code).toBe(0);
    expect(verdictOf(status.stdout)).toBe(line);
    expect(JSON.parse(statusJson.stdout)).toMatchObject({ type: 'end', verdict: { state: 'dry-run', line } });
    expect(kept.code).toBe(0);
    expect(verdictOf(kept.stdout)).toBe('Dry run, nothing written: a run would move 400 job(s) and leave none behind.');
    expect(kept.stdout).not.toContain('refused');
  });

  it('on a terminal: bars redrawn in place', async () => {
    const arn = scriptRun(fake, twoItems);

    const { code, stdout } = await cli(['watch', arn, '--interval', '1'], true);

    expect(code).toBe(0);
    expect(stdout).toMatchSnapshot();
  });

  it('--json: one object per update, the last with the summary', async () => {
    const arn = scriptRun(fake, twoItems);

    const { code, stdout } = await cli(['watch', arn, '--interval', '1', '--json']);

    expect(code).toBe(0);
    const updates = stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(updates.length).toBeGreaterThan(3);
    expect(updates.slice(0, -1).every((u) => u.type === 'progress' && u.status === 'RUNNING')).toBe(true);
    const end = updates.at(-1);
    expect(end).toMatchObject({ type: 'end', status: 'SUCCEEDED', finished: true, runId: 'reroute-1', mode: 'reroute', retries: 2, summary: { complete: true, totals: { scanned: 4500, moved: 3400 } } });
    // The line the human view ends with, and its kind: `complete` says only that every item finished.
    expect(end.verdict).toEqual({ state: 'complete', line: 'Complete: everything that could be moved was moved.' });
    expect(end.items).toEqual([
      expect.objectContaining({ kind: 'set', name: 'schedule', total: 3000, seen: 3000, moved: 1900, done: true }),
      expect.objectContaining({ kind: 'queue', name: 'old', total: 1500, seen: 1500, moved: 1500, done: true }),
    ]);
    // Rates come from the event timestamps: 3,000 jobs over the schedule child's 3 pages (15 s).
    expect(end.items[0].rate).toBe(200);
  });

  it('follows the executions items continued in, and combines their summaries', async () => {
    const arn = scriptRun(fake, { runId: 'long-1', items: [{ kind: 'queue', name: 'old', total: 4000, pages: [[1000, 1000], [2000, 2000], [3000, 3000], [4000, 4000]], continueAfter: 2 }] });

    const { code, stdout } = await cli(['watch', arn, '--interval', '1', '--json']);

    expect(code).toBe(0);
    const end = JSON.parse(stdout.trimEnd().split('\n').at(-1)!);
    expect(end.executions).toHaveLength(2);
    expect(end.executions.every((e: { status: string }) => e.status === 'SUCCEEDED')).toBe(true);
    expect(end.summary).toMatchObject({ complete: true, continuedIn: [], queues: { old: { scanned: 4000, moved: 4000 } }, totals: { moved: 4000 } });
    expect(end.items).toEqual([expect.objectContaining({ name: 'old', seen: 4000, done: true })]);
  });

  // Each execution's summary looks over the whole source; the combined one took those looks from
  // the execution that started last, which may end first, its look taken while another execution
  // still had a slice in flight (the local run: test/workflow/cli-continued-run-findings.test.ts).
  // They are the looks of the execution whose end ended the run (`endedRun`, summarize-step.ts).
  it('a continued run whose root ended it: the combined summary takes the root\'s looks, not those of the continuation that started last (a slice in flight when it looked)', async () => {
    const inflightOnSource = { jobs: 10, keys: ['sidekiq-migrate:transfer-1:inflight:queue:old'], lists: 1 };
    const items = [{ kind: 'queue' as const, name: 'old', total: 4000, pages: [[1000, 1000], [2000, 2000], [3000, 3000], [4000, 4000]] as const, continueAfter: 2 }];
    const arn = scriptRun(fake, { runId: 'long-5', items, lastSummary: { inflightOnSource }, rootSummary: { endedRun: true } });
    const falseLook = await cli(['watch', arn, '--interval', '1']);
    expect(falseLook.code).toBe(0);
    expect(falseLook.stdout).not.toContain('in flight');
    expect(falseLook.stdout).toContain('\nComplete: everything that could be moved was moved.\n');
    const status = JSON.parse((await cli(['status', arn, '--json'])).stdout) as { summary: { inflightOnSource?: unknown } };
    expect(status.summary.inflightOnSource).toBeUndefined();

    // And the other way: what the root found when it ended the run is said, whatever the continuation saw before.
    const realLook = await cli(['watch', scriptRun(fake, { runId: 'long-6', items, rootSummary: { endedRun: true, inflightOnSource } }), '--interval', '1']);
    expect(realLook.code).toBe(0);
    expect(realLook.stdout).toContain('\nDone, but jobs were left behind: 10 in flight from an interrupted transfer out of this Redis (see "Needs a look" above).\n');
    expect(realLook.stdout).not.toContain('Complete');
  });

  it('jobs under other prefixes, seen by the last execution of a continued run: the combined summary names them and never says "Complete"', async () => {
    // What summarize-step.ts reports (cli-other-prefixes-summary.test.ts runs it on a real Redis).
    const underOtherPrefixes = { own: '', jobs: 3, places: [{ name: 'resque:gitlab:queue:default', jobs: 2 }, { name: 'other:schedule', jobs: 1 }], more: 0, prefixes: ['resque:gitlab:', 'other:'], morePrefixes: 0 };
    const run = { runId: 'long-2', items: [{ kind: 'queue' as const, name: 'old', total: 4000, pages: [[1000, 1000], [2000, 2000], [3000, 3000], [4000, 4000]] as const, continueAfter: 2 }], lastSummary: { underOtherPrefixes } };

    const { code, stdout } = await cli(['watch', scriptRun(fake, run), '--interval', '1']);

    expect(code).toBe(0);
    expect(stdout).toContain(
      '\nNot looked at by this run (other prefixes of this Redis: "resque:gitlab:", "other:"), 3 job(s): resque:gitlab:queue:default 2 · other:schedule 1. This run works under no prefix only: run again with --namespace and their prefix to move them.\n',
    );
    expect(stdout).not.toContain('Complete');
    const json = await cli(['watch', scriptRun(fake, { ...run, runId: 'long-3' }), '--interval', '1', '--json']);
    expect(JSON.parse(json.stdout.trimEnd().split('\n').at(-1)!).verdict).toEqual({
      state: 'done-but',
      line: 'Done, but jobs were left behind: 3 under other prefixes this run did not look at (see "Needs a look" above).',
    });
    expect(stdout).toContain('\nDone, but jobs were left behind: 3 under other prefixes this run did not look at (see "Needs a look" above).\n');
  });

  it("a continued run's combined summary says what its last execution found left out and held by gone workers, not what its first one saw", async () => {
    // When the first execution ended, the left-out retry set was empty and no worker held a job; by the last one's end, both hold jobs.
    const notLookedAt = { jobs: 4, places: [{ name: 'retry', jobs: 4 }], more: 0, options: ['--sets'] };
    const heldByWorkers = { working: 0, abandoned: 2, workingLists: [], abandonedLists: [{ key: 'working:queue:old:host:1:0a1b2c', size: 2 }], lists: 1 };
    const run = { runId: 'long-3', items: [{ kind: 'queue' as const, name: 'old', total: 4000, pages: [[1000, 1000], [2000, 2000], [3000, 3000], [4000, 4000]] as const, continueAfter: 2 }], lastSummary: { notLookedAt, heldByWorkers } };

    const { code, stdout } = await cli(['watch', scriptRun(fake, run), '--interval', '1']);

    expect(code).toBe(0);
    expect(stdout).toContain('\nNot looked at by this run (--sets), 4 job(s): retry 4. Run again without those options to move them.\n');
    expect(stdout).not.toContain('Complete');
    expect(stdout).toContain('\nDone, but jobs were left behind: 4 in sets and queues this run did not look at · 2 in private lists of gone workers (see "Needs a look" above).\n');
  });

  it('exits 2 and says why when the execution fails in its plan on bad input', async () => {
    const arn = scriptRun(fake, { runId: 'bad-1', items: [], planFails: { error: 'InvalidInputError', message: 'routing: a re-route needs routing' } });

    const { code, stdout } = await cli(['watch', arn, '--interval', '1']);

    expect(code).toBe(2);
    expect(stdout).toMatchSnapshot();
    expect(stdout).toContain('Execution error: InvalidInputError: routing: a re-route needs routing');
    expect(stdout).toContain('Ended FAILED');
  });

  it('a start --resume with other routing than the run was started with: its plan refuses (plan-other-routing), and watch shows the refusal whole — nothing touched, what to do — never "Run it again to finish", exit 1', async () => {
    // What the plan Lambda throws: the plan step's OtherRoutingError, a FatalError (not retried).
    const refusal = toTaskError(otherRoutingOfRunError('moved-1', 'reroute', 'routing', executionResumeWays('moved-1')), 'Plan');
    expect(refusal.name).toBe('FatalError');
    const arn = scriptRun(fake, { runId: 'moved-1', items: [], planFails: { error: refusal.name, message: refusal.message } });

    const { code, stdout } = await cli(['watch', arn, '--interval', '1']);

    expect(code).toBe(1);
    expect(stdout).toBe(
      [
        '',
        'Run moved-1 (re-route): no summary — the execution ended before its plan completed.',
        "Execution error: FatalError: Run moved-1 (reroute) was started with other routing than this execution's (its first plan fixed them for good): resumed with this one, it would move the rest of its jobs elsewhere than the jobs it moved, and its rollback record would mix both. " +
          'Finish it with its own routing (sidekiq-migrate start --resume moved-1; locally, its run or move command with --run-id moved-1), or roll it back (sidekiq-migrate start --rollback moved-1); ' +
          'or start this one as a new run, without --resume (the jobs moved-1 moved stay as it moved them). Nothing was touched.',
        'Ended FAILED after 0s.',
        '',
      ].join('\n'),
    );
  });

  it("an execution whose plan refused its input (InvalidInputError: nothing touched) exits 2 in watch and status, as the same refusal does in a local run; one that failed otherwise before its plan completed exits 1", async () => {
    const refused = scriptRun(fake, { runId: 'bad-input', items: [], planFails: { error: 'InvalidInputError', message: 'classes: no class of the selection has jobs on the source: Nope' } });
    const failed = scriptRun(fake, { runId: 'redis-down', items: [], planFails: { error: 'RetryableError', message: 'connect ECONNREFUSED 10.0.0.5:6379' } });

    const watched = await cli(['watch', refused, '--interval', '1']);
    const status = await cli(['status', refused, '--json']);
    const other = await cli(['status', failed]);

    expect([watched.code, status.code, other.code]).toEqual([2, 2, 1]);
    expect(watched.stdout).toContain('Execution error: InvalidInputError: classes: no class of the selection has jobs on the source: Nope\n');
    expect(watched.stdout).toContain('Run bad-input (re-route): no summary — its plan refused the input: nothing was touched.\n');
    expect(JSON.parse(status.stdout)).toMatchObject({ type: 'end', status: 'FAILED', verdict: { state: 'not-complete', line: 'Run bad-input (re-route): no summary — its plan refused the input: nothing was touched.' } });
    expect(other.stdout).toContain('Run redis-down (re-route): no summary — the execution ended before its plan completed.\n');
  });

  it('an execution that fails after its plan says what its pages moved, never "ended before its plan completed"', async () => {
    const arn = scriptRun(fake, { ...twoItems, runId: 'late-1', summaryFails: { error: 'FatalError', message: 'Summarizing the run: OOM command not allowed' } });

    const { code, stdout } = await cli(['watch', arn, '--interval', '1']);

    expect(code).toBe(1);
    expect(stdout).toContain(
      '\nRun late-1 (re-route): no summary — the execution failed after its plan: its pages moved at least 3,400 job(s) (each page is whole). Run it again to finish: sidekiq-migrate start --resume late-1, with the same routing and selection.\n',
    );
    expect(stdout).toContain('Execution error: FatalError: Summarizing the run: OOM command not allowed');
    expect(stdout).not.toContain('before its plan completed');

    const dry = await cli(['watch', scriptRun(fake, { ...twoItems, runId: 'late-dry', dryRun: true, summaryFails: { error: 'FatalError', message: 'x' } }), '--interval', '1']);
    expect(dry.stdout).toContain('no summary — the dry run failed after its plan, having written nothing: its pages counted at least 3,400 job(s) to move. Run it again for the whole count.\n');
  });

  it("a dry run whose listing of its sets and queues ran out of time (DryRunListTooLongError): watch never says to run it again as it is, and points at the error's way out", async () => {
    const error = new DryRunListTooLongError('source redis://redis.internal:6379', 'queue q09', { lookedAt: 1_000_000, keys: 40_000_000 }, 450);
    const arn = scriptRun(fake, { ...twoItems, runId: 'dry-cut', dryRun: true, summaryFails: { error: 'FatalError', message: error.message } });

    const { code, stdout } = await cli(['watch', arn, '--interval', '1']);

    expect(code).toBe(1);
    expect(stdout).toContain(
      'no summary — the dry run failed after its plan, having written nothing: its pages counted at least 3,400 job(s) to move, not the whole count, because it could not list every set and queue in time. Run as it is, it stops at the same place: do first what the error below says.\n',
    );
    expect(stdout).not.toContain('Run it again for the whole count');
    expect(stdout).toContain("Execution error: FatalError: The dry run stopped before it had looked at every set and queue: a dry run stores no list of them, so it lists them again to go on after queue q09, looking at every key of the source redis://redis.internal:6379 once (SCAN) to find every queue list, and in 450 s (its share of the task's time) it got through about 1,000,000 of the 40,000,000 keys there.");
    expect(stdout).toContain("Raise the workflow functions' timeout (functions.timeoutSeconds in the deployment config, at most 900 s)");
  });

  it('a run whose plan left sidekiq-cron definitions unread (the 10,000 bound) while rewriting or carrying them: watch and status end "Done, but …" and exit 1, as a local run does', async () => {
    const rewrite = { cron: { definitions: 10000, unread: 1, misrouted: 0, examples: [], action: 'rewrite', rewritten: 0, dryRun: false } };
    const carry = { cron: { definitions: 10000, unread: 2, misrouted: 0, examples: [], action: 'carry', carried: 10000, dryRun: false } };
    const rewriteLine = 'Done, but 1 sidekiq-cron definition(s) were not read, so neither judged nor rewritten (see above).';
    const carryLine = 'Done, but 2 sidekiq-cron definition(s) were not read, so not copied to the target (see above).';
    const verdictOf = (stdout: string) => stdout.trimEnd().split('\n').at(-2);

    const piped = await cli(['watch', scriptRun(fake, { ...twoItems, runId: 'cron-unread', planNotes: rewrite }), '--interval', '1']);
    const json = await cli(['watch', scriptRun(fake, { ...twoItems, runId: 'cron-unread-json', planNotes: rewrite }), '--interval', '1', '--json']);
    const carried = await cli(['watch', scriptRun(fake, { runId: 'cron-carry', selective: true, planNotes: carry, items: [{ kind: 'queue', name: 'default', total: 1000, pages: [[1000, 1000]] }] }), '--interval', '1']);
    const statusArn = scriptRun(fake, { ...twoItems, runId: 'cron-unread-status', planNotes: rewrite });
    fake.tick = 100;
    const status = await cli(['status', statusArn]);
    const statusJson = await cli(['status', statusArn, '--json']);
    // The same run that read every definition: Complete, exit 0.
    const whole = await cli(['watch', scriptRun(fake, { ...twoItems, runId: 'cron-whole', planNotes: { cron: { ...rewrite.cron, unread: undefined } } }), '--interval', '1']);

    expect([piped.code, json.code, carried.code, status.code, statusJson.code]).toEqual([1, 1, 1, 1, 1]);
    expect(verdictOf(piped.stdout)).toBe(rewriteLine);
    expect(JSON.parse(json.stdout.trimEnd().split('\n').at(-1)!)).toMatchObject({ type: 'end', verdict: { state: 'done-but', line: rewriteLine } });
    expect(verdictOf(carried.stdout)).toBe(carryLine);
    expect(verdictOf(status.stdout)).toBe(rewriteLine);
    expect(JSON.parse(statusJson.stdout)).toMatchObject({ type: 'end', verdict: { state: 'done-but', line: rewriteLine } });
    expect(whole.code).toBe(0);
    expect(verdictOf(whole.stdout)).toMatch(/^Complete: /);
    // Definitions a rewrite could not judge (left as they are): the same, as a local run.
    const unjudged = { cron: { definitions: 3, misrouted: 0, examples: [], unjudged: 2, unjudgedExamples: [{ name: 'a', problem: 'not JSON' }, { name: 'b', problem: 'not JSON' }], action: 'rewrite', rewritten: 0, dryRun: false } };
    const left = await cli(['watch', scriptRun(fake, { ...twoItems, runId: 'cron-unjudged', planNotes: unjudged }), '--interval', '1']);
    expect(left.code).toBe(1);
    expect(verdictOf(left.stdout)).toBe('Done, but 2 sidekiq-cron definition(s) could not be judged by the routing, so not rewritten (see above).');
    // Definitions saved by someone else between the plan's read and its write (left as they are): the same, as a local run.
    const raced = { cron: { definitions: 3, misrouted: 1, examples: [{ name: 'a', queue: 'old', to: 'new' }], action: 'rewrite', rewritten: 0, changedMeanwhile: 1, changedMeanwhileExamples: ['a'], dryRun: false } };
    const racedWatch = await cli(['watch', scriptRun(fake, { ...twoItems, runId: 'cron-raced', planNotes: raced }), '--interval', '1']);
    const racedLine = 'Done, but 1 sidekiq-cron definition(s) changed while this run was rewriting them, so not rewritten: re-run with --rewrite-cron to judge them again (see above).';
    expect(racedWatch.code).toBe(1);
    expect(verdictOf(racedWatch.stdout)).toBe(racedLine);
    expect(racedWatch.stdout + racedWatch.stderr).toContain('1 saved by someone else meanwhile, left as they are now (a).');
  });

  it('exits 1 when an item failed, though the execution succeeded', async () => {
    const arn = scriptRun(fake, { runId: 'partial-1', items: [{ kind: 'queue', name: 'old', total: 2000, pages: [[1000, 1000]], failsWith: 'WRONGTYPE queue:old is not a list' }] });

    const { code, stdout } = await cli(['watch', arn, '--interval', '1']);

    expect(code).toBe(1);
    expect(stdout).toContain('FAILED queue old: FatalError: WRONGTYPE queue:old is not a list');
    // Starting the same command again would be refused (the execution name is taken) or start another run.
    expect(stdout).toContain('\nNot complete: resume the run to finish: sidekiq-migrate start --resume partial-1, with the same routing and selection.\n');
    expect(stdout).not.toContain('same command');
  });

  it('a transfer that left jobs pushed meanwhile on the source says to start another, not to "run move again"', async () => {
    const arn = scriptRun(fake, { runId: 'left-1', selective: true, items: [{ kind: 'queue', name: 'default', total: 1000, pages: [[1000, 1000]] }], extraTotals: { leftOnSource: 3 } });

    const { stdout } = await cli(['watch', arn, '--interval', '1']);

    expect(stdout).toContain('\nDone, but jobs remain on the source (3, above): start another transfer (sidekiq-migrate start --mode transfer, same routing and selection).\n');
    expect(stdout).toContain('added during the run: start another transfer (sidekiq-migrate start --mode transfer, same routing and selection) or see drain-check.');
    expect(stdout).not.toContain('move again');
  });

  it('slows down when Step Functions throttles it, and still sees the end', async () => {
    const arn = scriptRun(fake, twoItems);
    fake.throttle('GetExecutionHistory', 3);

    const { code, stderr } = await cli(['watch', arn, '--interval', '1']);

    expect(code).toBe(0);
    expect(stderr.match(/AWS Step Functions is throttling these reads; waiting \d+\.\d s\./g)).toHaveLength(3);
  });

  it('gives up with a clear message when throttling never stops', async () => {
    const arn = scriptRun(fake, twoItems);
    fake.throttle('GetExecutionHistory', 1000);

    const { code, stderr } = await cli(['watch', arn, '--interval', '1']);

    expect(code).toBe(1);
    expect(stderr).toContain(`Reading the history of ${arn}: Rate exceeded (throttled by AWS; try again in a minute)`);
  });

  it("an execution or state machine ARN is asked of its own region, whatever AWS_REGION says (an ARN copied from another shell); a --region that contradicts it is refused, nothing called", async () => {
    const arn = scriptRun(fake, twoItems);
    process.env['AWS_REGION'] = 'us-east-1';
    const regionsCalled = async () => [...new Set(await Promise.all(fake.sfn.calls().map((c) => (c.thisValue as { config: { region: () => Promise<string> } }).config.region())))];

    const watched = await cli(['watch', arn, '--interval', '1']);
    expect(watched.code).toBe(0);
    expect(await regionsCalled()).toEqual([REGION]);

    fake.sfn.resetHistory();
    const listed = await cli(['list', '--state-machine', STATE_MACHINE_ARN]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('reroute-1');
    expect(await regionsCalled()).toEqual([REGION]);

    fake.sfn.resetHistory();
    const contradicted = await cli(['status', arn, '--region', 'us-east-1']);
    expect(contradicted.code).toBe(2);
    expect(contradicted.stderr).toBe(`--region us-east-1: the execution ${arn} is in ${REGION}: leave --region out, or give --region ${REGION}\n`);
    expect(fake.sfn.calls()).toEqual([]);
  });

  it('by run id with expired credentials: says it was looking for the run\'s newest execution, not only a RUN-resume-2 the operator never typed; exit 2', async () => {
    scriptRun(fake, twoItems);
    fake.sfn.on(DescribeExecutionCommand).rejects(Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredTokenException', $metadata: {} }));

    const { code, stderr } = await cli(['status', 'reroute-1']);

    expect(code).toBe(2);
    expect(stderr).toMatch(
      new RegExp(`^Finding the newest execution of run reroute-1 \\(it or a RUN-resume-N\\): Describing execution ${execution('reroute-1-resume-2')}: The security token included in the request is expired \\(ExpiredTokenException\\)\\. Check the AWS credentials and region`),
    );
  });

  it('finds an execution by its run id through the stack, and names one that does not exist', async () => {
    scriptRun(fake, twoItems);
    expect((await cli(['watch', 'reroute-1', '--interval', '1'])).code).toBe(0);

    const missing = await cli(['watch', 'no-such-run', '--interval', '1']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`Reading the history of ${execution('no-such-run')}: Execution Does Not Exist`);
  });
});

describe('status', () => {
  it('shows a running execution once and exits 0; an ended one with its summary', async () => {
    const arn = scriptRun(fake, twoItems);
    fake.tick = 2;

    const running = await cli(['status', arn]);
    expect(running.code).toBe(0);
    expect(running.stdout).toMatchSnapshot();
    expect(fake.tick).toBe(2);

    fake.tick = 10;
    const ended = await cli(['status', arn, '--json']);
    expect(ended.code).toBe(0);
    expect(JSON.parse(ended.stdout)).toMatchObject({ type: 'end', status: 'SUCCEEDED', summary: { complete: true } });
  });
});

describe('list', () => {
  it('lists recent runs with mode, status, moved and duration, newest first', async () => {
    scriptRun(fake, twoItems, { startTick: 0 });
    scriptRun(fake, { runId: 'reroute-2', items: [{ kind: 'queue', name: 'old', total: 10, pages: [[10, 10], [10, 10], [10, 10], [10, 10], [10, 10], [10, 10], [10, 10], [10, 10]] }] }, { startTick: 2 });
    fake.tick = 6;

    const { code, stdout } = await cli(['list']);

    expect(code).toBe(0);
    expect(stdout).toMatchSnapshot();
    const json = JSON.parse((await cli(['list', '--json', '--limit', '1'])).stdout);
    expect(json).toEqual([expect.objectContaining({ runId: 'reroute-2', status: 'RUNNING', mode: 'reroute', continuation: false })]);
  });

  it("an execution that succeeded without finishing the run (an item failed, an item continued in another execution) is never listed as a plain SUCCEEDED: its summary's `not complete` is said, and --json has `complete`", async () => {
    scriptRun(fake, { runId: 'failed-item', items: [{ kind: 'queue', name: 'old', total: 10, pages: [[10, 10]], failsWith: 'READONLY You cannot write against a read only replica.' }] }, { startTick: 0 });
    scriptRun(fake, { runId: 'continued', items: [{ kind: 'queue', name: 'big', total: 30, pages: [[10, 10], [20, 20], [30, 30]], continueAfter: 1 }] }, { startTick: 0 });
    scriptRun(fake, { runId: 'whole', items: [{ kind: 'queue', name: 'old', total: 10, pages: [[10, 10]] }] }, { startTick: 0 });
    fake.tick = 5;

    const { code, stdout } = await cli(['list']);
    const json = JSON.parse((await cli(['list', '--json'])).stdout) as { name: string; status: string; complete?: boolean }[];

    expect(code).toBe(0);
    const statusOf = (name: string) => stdout.split('\n').find((l) => l.startsWith(`${name} `))?.split(/\s{2,}/)[1];
    expect(statusOf('failed-item')).toBe('SUCCEEDED, not complete');
    expect(statusOf('whole')).toBe('SUCCEEDED');
    expect(stdout.split('\n').filter((l) => l.startsWith('continued ')).map((l) => l.split(/\s{2,}/)[1])).toEqual(['RUNNING', 'SUCCEEDED, not complete']);
    const byName = Object.fromEntries(json.map((r) => [r.name, r]));
    expect(byName['failed-item']).toMatchObject({ status: 'SUCCEEDED', complete: false });
    expect(byName['continued']).toMatchObject({ status: 'SUCCEEDED', complete: false });
    expect(byName['whole']).toMatchObject({ status: 'SUCCEEDED', complete: true });
  });
});

describe('stop', () => {
  it('stops the execution and the executions it continued in, and waits until they ended', async () => {
    const arn = scriptRun(fake, { runId: 'long-2', items: [{ kind: 'queue', name: 'old', total: 6000, pages: [[1000, 1000], [2000, 2000], [3000, 3000], [4000, 4000], [5000, 5000], [6000, 6000]], continueAfter: 1 }] });
    fake.tick = 5;

    const { code, stdout } = await cli(['stop', arn, '--interval', '1']);

    expect(code).toBe(0);
    const continuation = [...fake.executions.keys()].find((k) => k.includes(':cont-0-long-2') && !k.includes('/'))!;
    expect(fake.stopped).toEqual([continuation]);
    expect(fake.status(continuation)).toBe('ABORTED');
    expect(stdout).toContain('Stopped 1 execution(s) of run long-2');
    expect(stdout).toContain('nothing was half-moved');
  });

  it('stops a running root and its map children', async () => {
    const arn = scriptRun(fake, twoItems);
    fake.tick = 2;

    const { code, stdout } = await cli(['stop', 'reroute-1', '--interval', '1', '--json']);

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ type: 'stopped', runId: 'reroute-1', stopped: [arn], status: 'ABORTED', finished: true });
    expect([...fake.executions.keys()].filter((k) => k.startsWith(`${arn}/`)).map((k) => fake.status(k))).toEqual(['ABORTED', 'ABORTED']);
  });

  it('by run id, stops the run\'s newest execution: the one --resume started (RUN-resume-N), not the first that ended', async () => {
    scriptRun(fake, twoItems);
    fake.tick = 2;
    await cli(['stop', 'reroute-1', '--interval', '1']);
    const resumed = scriptRun(fake, twoItems, { name: 'reroute-1-resume-2', startTick: fake.tick });
    fake.tick += 2;

    const { code, stdout } = await cli(['stop', 'reroute-1', '--interval', '1']);

    expect(code).toBe(0);
    expect(fake.stopped.at(-1)).toBe(resumed);
    expect(fake.status(resumed)).toBe('ABORTED');
    expect(stdout).toContain(`Stopped 1 execution(s) of run reroute-1:\n  ${resumed}\n`);
    const status = await cli(['status', 'reroute-1']);
    expect(status.stdout).toContain('ABORTED');
  });

  it("a run stopped in the execution an item continued in: status shows no time left, and says what the summary's totals (the executions that ended) do not count, never fewer jobs moved than it watched", async () => {
    const big = { kind: 'queue' as const, name: 'big', total: 5000, pages: [[1000, 1000], [2000, 2000], [3000, 3000], [4000, 4000], [5000, 5000]] as [number, number][], continueAfter: 1 };
    scriptRun(fake, { runId: 'cont-stop', plannedJobs: 6000, items: [big, { kind: 'queue', name: 'small', total: 1000, pages: [[1000, 1000]] }] });
    fake.tick = 6;
    expect((await cli(['stop', 'cont-stop'])).code).toBe(0);

    const { code, stdout } = await cli(['status', 'cont-stop']);

    expect(code).toBe(1);
    const lines = stdout.split('\n');
    expect(lines[1]).toBe('Jobs 4,000 of 6,000 (66%) · 4,000 moved · 133/s');
    // Nothing is in progress in an ended run: its items that did not finish are said so.
    expect(lines[3]).toBe('Items: 1 done · 1 not finished · 0 not started · 0 failed');
    // The root's summary counts the item that finished there (1,000); the stopped execution's pages moved 3,000 more of "big".
    expect(lines).toContain('total           1,000  1,000        0');
    expect(lines).toContain('Not counted in the totals above: what the executions that did not finish did. By the pages watched, this run moved at least 4,000 job(s) in all (each page is whole).');
    expect(lines.at(-2)).toBe('Ended ABORTED after 30s over 2 executions.');
  });

  it('status of a stopped run says it was stopped, not that it failed', async () => {
    scriptRun(fake, twoItems);
    fake.tick = 3;
    await cli(['stop', 'reroute-1', '--interval', '1']);

    const { code, stdout } = await cli(['status', 'reroute-1']);

    expect(code).toBe(1);
    expect(stdout).toContain(
      '\nRun reroute-1 (re-route): no summary — the execution was stopped after its plan: its pages moved at least 2,800 job(s) (each page is whole). Run it again to finish: sidekiq-migrate start --resume reroute-1, with the same routing and selection.\n',
    );
    expect(stdout).not.toContain('failed after its plan');
  });

  it('watch of a run whose execution timed out (TIMED_OUT) says it timed out, never that it failed or is complete, exit 1', async () => {
    scriptRun(fake, { ...twoItems, timesOut: true });

    const { code, stdout } = await cli(['watch', 'reroute-1', '--interval', '1']);

    expect(code).toBe(1);
    expect(stdout).toContain(
      '\nRun reroute-1 (re-route): no summary — the execution timed out after its plan: its pages moved at least 3,400 job(s) (each page is whole). Run it again to finish: sidekiq-migrate start --resume reroute-1, with the same routing and selection.\n' +
        'Execution error: States.Timeout: The execution ran longer than the specified timeout.\nEnded TIMED_OUT after 30s.\n',
    );
    expect(stdout).not.toContain('failed after its plan');
    expect(stdout).not.toContain('Complete');
    expect(stdout).not.toContain('Succeeded');
  });

  it('--no-wait sends the stop requests and exits 0, without saying it gave up waiting', async () => {
    const arn = scriptRun(fake, twoItems);
    fake.tick = 2;

    const { code, stdout, stderr } = await cli(['stop', 'reroute-1', '--no-wait']);

    expect(code).toBe(0);
    expect(fake.stopped).toEqual([arn]);
    expect(stdout).toContain(`Stopped 1 execution(s) of run reroute-1:\n  ${arn}\n`);
    expect(stderr).toBe('');
  });

  it('has nothing to stop once the run ended', async () => {
    const arn = scriptRun(fake, twoItems);
    fake.tick = 20;

    const { code, stdout } = await cli(['stop', arn]);

    expect(code).toBe(0);
    expect(stdout).toBe('Nothing to stop: run reroute-1 already ended (SUCCEEDED).\n');
    expect(fake.calls('StopExecution')).toBe(0);
  });
});

// `--state-machine "$ARN"` with the variable unset was answered in zod's words ("Too small:
// expected string to have >=1 characters"): each command names it now, calling nothing.
describe("--state-machine ''", () => {
  it('start, watch, status, list and stop: named in words, exit 2, no AWS call', async () => {
    const results = [
      await cli(['start', '--rename', 'a=b', '--state-machine', '']),
      await cli(['watch', 'reroute-1', '--state-machine', '']),
      await cli(['status', 'reroute-1', '--state-machine', '']),
      await cli(['list', '--state-machine', '']),
      await cli(['stop', 'reroute-1', '--state-machine', '']),
    ];

    expect(results).toEqual(Array(5).fill({ code: 2, stdout: '', stderr: '--state-machine: the state machine ARN, not empty\n' }));
    expect(fake.sfn.calls()).toHaveLength(0);
    expect(fake.cfn.calls()).toHaveLength(0);
  });
});

describe('the fake Step Functions', () => {
  // As AWS's StartExecution: "Executions with the same name and input are considered idempotent".
  it('answers a start with the name and input of an open execution with that execution and its startDate, starting nothing; another input, or an ended execution\'s name, is refused', async () => {
    const client = new SFNClient({ region: REGION });
    const start = (name: string, input: string) => client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name, input }));
    const refused = (name: string, input: string) => start(name, input).then(() => 'started', (e: Error) => `${e.name}: ${e.message}`);

    const first = await start('same', '{"a":1}');
    await fake.sleep();
    const again = await start('same', '{"a":1}');

    expect(again).toEqual({ executionArn: execution('same'), startDate: first.startDate });
    expect(fake.answeredExisting).toEqual([execution('same')]);
    expect(await refused('same', '{"a":2}')).toBe(`ExecutionAlreadyExists: Execution Already Exists: '${execution('same')}'`);
    expect(await refused('same', '{"a": 1}')).toBe(`ExecutionAlreadyExists: Execution Already Exists: '${execution('same')}'`);
    await client.send(new StopExecutionCommand({ executionArn: execution('same') }));
    expect(await refused('same', '{"a":1}')).toBe(`ExecutionAlreadyExists: Execution Already Exists: '${execution('same')}'`);
    expect(fake.started.map((s) => s.name)).toEqual(['same']);
    expect(fake.answeredExisting).toHaveLength(1);
  });

  it("the plan step's schema takes a start's request id and refuses one that is not an id", () => {
    const input = { runId: 'r', mode: 'reroute', routing: { kind: 'renames', renames: { a: 'b' } } };
    expect(workflowInputSchema.safeParse({ ...input, startRequest: '0b9c3f6e-6a7d-4c1e-9a51-2f4d8e0c7a11' }).success).toBe(true);
    expect(workflowInputSchema.safeParse(input).success).toBe(true);
    const bad = workflowInputSchema.safeParse({ ...input, startRequest: 'x'.repeat(3) });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['startRequest: a start request id: hex digits and "-"']);
  });
});
