import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import type { DrainReport } from '../../../core/drain/drain-report.js';
import { bufferIo } from '../../support/buffer-io.js';
import { FakeStepFunctions, REGION } from '../../support/fake-step-functions.js';

/** What the deployed function returns: a real report's shape, one orphaned queue. */
const report: DrainReport = {
  checkedAt: 1795471200,
  redis: 'rediss://old.example.com:6379',
  processes: { live: 2, quiet: 0, stale: 1 },
  queues: [
    { queue: 'default', depth: 0, oldestAgeSeconds: null, listeners: 2 },
    { queue: 'retired', depth: 12, oldestAgeSeconds: 95, listeners: 0, arrivedSinceLastCheck: 3 },
  ],
  sets: {
    schedule: { total: 4, dueNow: 0, dueWithinHour: 1, lastDueAt: 1795474800, orphaned: 0, toRetiredQueues: 0, sampled: 4 },
    retry: { total: 0, dueNow: 0, dueWithinHour: 0, lastDueAt: null, orphaned: 0, toRetiredQueues: 0, sampled: 0 },
    dead: { total: 1, dueNow: 0, dueWithinHour: 0, lastDueAt: null, orphaned: 0, toRetiredQueues: 0, sampled: 1 },
  },
  orphans: { queued: 12, scheduled: 0, total: 12, queues: ['retired'] },
  inflight: [],
  remaining: 16,
  readyNow: 12,
  verdict: { state: 'stuck', reasons: ['12 job(s) in queues nobody listens to: retired'], ratePerSecond: 0.5, etaSeconds: 32 },
} as unknown as DrainReport;

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
  const code = await main(['node', 'sidekiq-migrate', 'drain-check', ...args], io, undefined, { sleep: fake.sleep, now: fake.now });
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};
const payload = (value: unknown) => new Uint8Array(Buffer.from(JSON.stringify(value)));

describe('drain-check --deployed', () => {
  it("invokes the stack's drain check function and shows its report; exit 3 on orphans", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(report) as never });
    const dir = mkdtempSync(join(tmpdir(), 'drain-deployed-'));

    const { code, stdout } = await cli('--deployed', '--connection', 'source', '--retired-queues', 'retired', '--save', join(dir, 'check.json'));

    expect(code).toBe(3);
    expect(stdout).toContain('rediss://old.example.com:6379: STUCK — 16 job(s) left, 0.5 jobs/s');
    expect(stdout).toMatch(/retired +12 +95 s +NONE +\(3 arrived since last check\)/);
    const call = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(call.FunctionName).toBe('sidekiq-migrate-drain-check');
    expect(JSON.parse(Buffer.from(call.Payload as Uint8Array).toString())).toEqual({ connection: 'source', retiredQueues: ['retired'] });
    expect(JSON.parse(readFileSync(join(dir, 'check.json'), 'utf8'))).toEqual(report);
  });

  it('--json prints the report; --function skips the stack lookup; exit 0 without orphans', async () => {
    const drained = { ...report, queues: [], orphans: { queued: 0, scheduled: 0, total: 0, queues: [] }, remaining: 0, readyNow: 0, verdict: { state: 'drained', reasons: [] } };
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(drained) as never });

    const { code, stdout } = await cli('--deployed', '--function', 'my-check', '--json');

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(drained);
    expect(lambda.commandCalls(InvokeCommand)[0]!.args[0].input.FunctionName).toBe('my-check');
    expect(fake.cfn.calls()).toHaveLength(0);
  });

  it("reports the function's own error: bad input exits 2, anything else 1", async () => {
    lambda
      .on(InvokeCommand)
      .resolvesOnce({ StatusCode: 200, FunctionError: 'Unhandled', Payload: payload({ errorType: 'InvalidInputError', errorMessage: 'No connection named "elsewhere" is configured for this function (configured: source)' }) as never })
      .resolvesOnce({ StatusCode: 200, FunctionError: 'Unhandled', Payload: payload({ errorType: 'RetryableError', errorMessage: 'Checking what is left on rediss://old.example.com:6379: connection timed out' }) as never });

    const bad = await cli('--deployed', '--connection', 'elsewhere');
    const down = await cli('--deployed');

    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('The drain check sidekiq-migrate-drain-check failed: No connection named "elsewhere" is configured for this function (configured: source)\n');
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('connection timed out');
  });

  it('refuses local options with --deployed and deployed options without it, invoking nothing', async () => {
    const mixed = await cli('--deployed', '--redis', 'redis://127.0.0.1:1', '--previous', 'x.json');
    const orphanOption = await cli('--redis', 'redis://127.0.0.1:1', '--connection', 'source');
    const nothing = await cli();

    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--redis: not with --deployed');
    expect(mixed.stderr).toContain('--previous: not with --deployed');
    expect(orphanOption.code).toBe(2);
    expect(orphanOption.stderr).toContain('--connection: only with --deployed');
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('--redis: required: the Redis URL to check (or --deployed)');
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  // zod's "Too small: expected string to have >=1 characters" was the last word for these (`--function "$FN"`, FN unset).
  it("--connection '' and --function '' are named in words, invoking nothing", async () => {
    const result = await cli('--deployed', '--connection', '', '--function', '');

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: "Invalid options:\n  - --connection: a connection name of the deployment (e.g. source or target), not empty\n  - --function: the drain check function's name or ARN, not empty\n",
    });
    expect(lambda.calls()).toHaveLength(0);
    expect(fake.cfn.calls()).toHaveLength(0);
  });

  // --connection took any text: `--connection Source` or `--connection 'source '` reached the
  // function (a Lambda invocation, the account's quota), whose answer named no option. Now the
  // form `start --source` takes (lowercase letters, digits and "-"), said naming the option and value.
  it('--connection of a form no connection has is refused naming the option and the value, invoking nothing', async () => {
    const upper = await cli('--deployed', '--connection', 'Bad');
    const blank = await cli('--deployed', '--connection', '  ');
    const spaced = await cli('--deployed', '--connection', 'source ');

    const form = 'not a connection name of the deployment (e.g. source or target): lowercase letters, digits and "-", starting with a letter, at most 31';
    expect(upper).toEqual({ code: 2, stdout: '', stderr: `--connection: "Bad" is ${form}\n` });
    expect(blank).toEqual({ code: 2, stdout: '', stderr: '--connection: a connection name of the deployment (e.g. source or target), not blank\n' });
    expect(spaced).toEqual({ code: 2, stdout: '', stderr: `--connection: "source " is ${form}\n` });
    expect(lambda.calls()).toHaveLength(0);
    expect(fake.cfn.calls()).toHaveLength(0);
  });

  it("a configuration file's redis and timeLimit, which are a check run here's, do not stop --deployed", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(report) as never });
    const config = join(mkdtempSync(join(tmpdir(), 'drain-deployed-config-')), 'team.yml');
    writeFileSync(config, 'redis: redis://127.0.0.1:1\ntimeLimit: 600\n');

    const { code, stdout, stderr } = await cli('--config', config, '--deployed');

    expect(stderr).toBe(`Using configuration file ${config} (--config)\n`);
    expect(code).toBe(3);
    expect(stdout).toContain('rediss://old.example.com:6379: STUCK — 16 job(s) left, 0.5 jobs/s');
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  });
});
