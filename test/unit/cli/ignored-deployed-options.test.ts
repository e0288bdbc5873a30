// The deployed commands' options accepted and silently ignored in some combinations (audit-input):
// a re-route's --target, a transfer's --unmapped, --append or --unmapped quarantine with
// --no-queues, --stack beside --state-machine (or --function), either beside an execution ARN.
// Each is refused with the options' other problems, before any AWS call; where it acts, accepted.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { bufferIo } from '../../support/buffer-io.js';
import { FakeStepFunctions, REGION, STATE_MACHINE_ARN } from '../../support/fake-step-functions.js';

let fake: FakeStepFunctions;
let lambda: AwsClientStub<LambdaClient>;
beforeEach(() => {
  process.env['AWS_REGION'] = REGION;
  fake = new FakeStepFunctions();
  lambda = mockClient(LambdaClient);
});
afterEach(() => {
  fake.restore();
  lambda.restore();
});

const cli = async (...args: string[]) => {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', ...args], io, undefined, { sleep: fake.sleep, now: fake.now });
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

const awsCalls = () => fake.calls('StartExecution') + fake.calls('DescribeExecution') + fake.calls('ListExecutions') + fake.calls('StopExecution') + fake.calls('GetExecutionHistory') + lambda.commandCalls(InvokeCommand).length;

function refused(result: { code: number; stdout: string; stderr: string }, problems: readonly string[]): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe(problems.length === 1 ? `${problems[0]}\n` : `Invalid options and files:\n  - ${problems.join('\n  - ')}\n`);
}

const EXECUTION = `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:reroute-1`;
const STACK_AND_MACHINE = '--stack: not with a state machine given (--state-machine, aws.stateMachine or $SIDEKIQ_MIGRATE_STATE_MACHINE), which is used as it is (the stack is only read to find it): leave one out';

describe('deployed options that did nothing in some combinations are refused', () => {
  it('start: a re-route\'s --target, --append and --unmapped quarantine with --no-queues, --stack beside --state-machine, with a bad option, in one message', async () => {
    const result = await cli('start', '--rename', 'a=b', '--target', 'other', '--no-queues', '--append', '--unmapped', 'quarantine', '--page-size', 'ten', '--state-machine', STATE_MACHINE_ARN, '--stack', 'SidekiqMigrate');

    refused(result, [
      '--page-size: the page size must be a whole number in decimal digits, not "ten"',
      '--target: only a transfer (--mode transfer) has a target; a re-route stays on --source. Leave --target out, or add --mode transfer',
      "--append: only applies to queue lists (it queues the jobs moved off a queue behind the destination's backlog), and --no-queues leaves them alone: set entries stay in their set. Leave --append or --no-queues out",
      '--unmapped quarantine: only queued jobs are quarantined (unmapped entries of the sets stay in their set, counted), and --no-queues leaves the queue lists alone. Leave --unmapped or --no-queues out',
      STACK_AND_MACHINE,
    ]);
    expect(awsCalls()).toBe(0);
  });

  it("start --mode transfer: --unmapped refused (a transfer carries such jobs unchanged); --target, --append with --no-queues accepted (in flight leftovers are queued by it)", async () => {
    refused(await cli('start', '--mode', 'transfer', '--unmapped', 'leave', '--state-machine', STATE_MACHINE_ARN), ['--unmapped: only a re-route leaves or quarantines jobs with no destination; a transfer carries them unchanged, as move does. Leave --unmapped out']);
    expect(awsCalls()).toBe(0);

    const accepted = await cli('start', '--mode', 'transfer', '--source', 'old', '--target', 'other', '--no-queues', '--append', '--run-id', 'transfer-1', '--state-machine', STATE_MACHINE_ARN);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(fake.started.map((s) => [s.name, (s.input as { target: string; placement: string }).target, (s.input as { placement: string }).placement])).toEqual([['transfer-1', 'other', 'append']]);
  });

  it('watch, status, stop: --stack or --state-machine beside an execution ARN; list and watch by run id: --stack beside --state-machine', async () => {
    for (const command of ['watch', 'status', 'stop']) {
      refused(await cli(command, EXECUTION, '--stack', 'SidekiqMigrate', '--state-machine', STATE_MACHINE_ARN), [
        '--state-machine: not with an execution ARN, which names the execution already: leave --state-machine out (or give the run id instead of the ARN)',
        '--stack: not with an execution ARN, which names the execution already: leave --stack out (or give the run id instead of the ARN)',
      ]);
    }
    refused(await cli('list', '--stack', 'SidekiqMigrate', '--state-machine', STATE_MACHINE_ARN), [STACK_AND_MACHINE]);
    refused(await cli('watch', 'reroute-1', '--stack', 'SidekiqMigrate', '--state-machine', STATE_MACHINE_ARN), [STACK_AND_MACHINE]);
    expect(awsCalls()).toBe(0);
  });

  it('--stack beside a state machine named by $SIDEKIQ_MIGRATE_STATE_MACHINE is refused; a stack in the configuration file beside a typed --state-machine is not (one file serves several commands)', async () => {
    process.env['SIDEKIQ_MIGRATE_STATE_MACHINE'] = STATE_MACHINE_ARN;
    try {
      refused(await cli('list', '--stack', 'SidekiqMigrate'), [STACK_AND_MACHINE]);
    } finally {
      delete process.env['SIDEKIQ_MIGRATE_STATE_MACHINE'];
    }
    expect(awsCalls()).toBe(0);
    const config = join(mkdtempSync(join(tmpdir(), 'ignored-deployed-')), 'sidekiq-migrate.config.yml');
    writeFileSync(config, 'aws:\n  stack: Other\n');
    const listed = await cli('--config', config, 'list', '--state-machine', STATE_MACHINE_ARN, '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(fake.calls('ListExecutions')).toBeGreaterThan(0);
  });

  it("start --rollback RUN given RUN's own id (--run-id or --resume): refused before starting, as its plan would refuse it once started", async () => {
    refused(await cli('start', '--rollback', 'reroute-1', '--run-id', 'reroute-1', '--state-machine', STATE_MACHINE_ARN), ['--run-id: a rollback needs a run id of its own: reroute-1 is the run it rolls back']);
    refused(await cli('start', '--rollback', 'reroute-1', '--resume', 'reroute-1', '--state-machine', STATE_MACHINE_ARN), ['--resume: a rollback needs a run id of its own: reroute-1 is the run it rolls back']);
    expect(awsCalls()).toBe(0);
  });

  it('drain-check --deployed: --stack beside --function refused', async () => {
    refused(await cli('drain-check', '--deployed', '--function', 'sidekiq-migrate-drain-check', '--stack', 'SidekiqMigrate'), ['--stack: not with --function, which names the drain check function (the stack is only read to find it): leave one out']);
    expect(awsCalls()).toBe(0);
  });
});
