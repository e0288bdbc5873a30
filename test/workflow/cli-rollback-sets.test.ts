import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { bufferIo } from '../support/buffer-io.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { FakeStepFunctions, REGION } from '../support/fake-step-functions.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// `start --rollback RUN` took --sets and --no-queues (a rollback of only some sets), the local
// `rollback RUN` had neither: what the deployed rollback could do, the local one could not, and
// the local one always undid everything. It takes them now, with start's meaning and checks. The
// input each hands on (rollback: to the local workflow; start: to Step Functions) is compared, and
// the local one run: the jobs of the sets named go back, the others stay where the run put them.
const captured: Record<string, unknown>[] = [];
vi.mock('../../cli/workflow/run-workflow.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../cli/workflow/run-workflow.js')>();
  return {
    ...real,
    runWorkflowFromCli: (options: Parameters<typeof real.runWorkflowFromCli>[0]) => {
      captured.push(options.input as Record<string, unknown>);
      return real.runWorkflowFromCli(options);
    },
  };
});

const redis = privateRedis();
let fake: FakeStepFunctions;
beforeEach(() => {
  vi.stubEnv('AWS_REGION', REGION);
  fake = new FakeStepFunctions();
  captured.length = 0;
});
afterEach(() => {
  fake.restore();
  vi.unstubAllEnvs();
});

const cli = async (...args: string[]) => {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', ...args], io, undefined, { sleep: fake.sleep, now: fake.now, retryIntervalMs: 0 });
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

const JOBS = [1, 2, 3, 4, 5].map((i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, jid: i.toString(16).padStart(24, '0') }));
const job = (i: number) => JOBS[i - 1]!;

describe('rollback --sets / --no-queues, locally as start --rollback', { timeout: 120_000 }, () => {
  it('puts back only the jobs of the sets named, and hands on the input start --rollback gives', async () => {
    const client = redis.client();
    await client.rpush('queue:old', job(1), job(2));
    await client.sadd('queues', 'old');
    await client.zadd('retry', '1895459303.5', job(3), '1895459304.5', job(4));
    await client.zadd('schedule', '1895459305.5', job(5));
    const ran = await cli('run', '--redis', redis.url(), '--rename', 'old=new', '--run-id', 'reroute-1', '--json');
    expect(ran.code, ran.stderr).toBe(0);

    const rolled = await cli('rollback', 'reroute-1', '--redis', redis.url(), '--sets', 'retry', '--no-queues', '--run-id', 'rollback-1', '--json');
    const started = await cli('start', '--rollback', 'reroute-1', '--sets', 'retry', '--no-queues', '--run-id', 'rollback-1');

    expect([rolled.code, started.code], rolled.stderr + started.stderr).toEqual([0, 0]);
    // The retry set's jobs back on "old"; the queued and the scheduled ones stay on "new".
    const moved = (i: number) => withQueue(job(i), 'old', 'new');
    expect(await jobsIn(client)).toEqual(
      [
        jobEntry('queue:new', moved(1)),
        jobEntry('queue:new', moved(2)),
        jobEntry('retry', job(3), '1895459303.5'),
        jobEntry('retry', job(4), '1895459304.5'),
        jobEntry('schedule', moved(5), '1895459305.5'),
      ].sort(),
    );
    const { startRequest, ...deployed } = fake.started[0]!.input as Record<string, unknown>;
    expect(startRequest).toMatch(/^[0-9a-f-]{36}$/);
    expect(captured.at(-1)).toStrictEqual(deployed);
    expect(deployed).toMatchObject({ routing: { kind: 'rollback', of: 'reroute-1' }, sets: ['retry'], queues: false });
  });

  it("a partial rollback says what it left in a rollback's words, and a rollback of the rest puts it back", async () => {
    const client = redis.client();
    await client.rpush('queue:old', job(1), job(2));
    await client.sadd('queues', 'old');
    await client.zadd('retry', '1895459303.5', job(3));
    await client.zadd('schedule', '1895459305.5', job(5));
    expect((await cli('run', '--redis', redis.url(), '--rename', 'old=new', '--run-id', 'reroute-1')).code).toBe(0);

    const partial = await cli('rollback', 'reroute-1', '--redis', redis.url(), '--sets', 'retry', '--no-queues', '--run-id', 'rollback-1');
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.stdout).toContain('Not looked at by this run (--sets, --no-queues), 3 job(s): queue:new 2 · schedule 1. Roll back reroute-1 again without those options to move them back.\n');
    expect(partial.stdout).not.toMatch(/Complete|to move them\./);
    expect(partial.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 3 in sets and queues this run did not look at (see "Needs a look" above).');

    const rest = await cli('rollback', 'reroute-1', '--redis', redis.url(), '--run-id', 'rollback-2');
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(client)).toEqual([jobEntry('queue:old', job(1)), jobEntry('queue:old', job(2)), jobEntry('retry', job(3), '1895459303.5'), jobEntry('schedule', job(5), '1895459305.5')].sort());
  });

  it('the same checks as start: no set and --no-queues refused, and --append with --no-queues, in one message (exit 2)', async () => {
    const local = await cli('rollback', 'reroute-1', '--redis', redis.url(), '--sets', '', '--no-queues', '--append');
    const deployed = await cli('start', '--rollback', 'reroute-1', '--sets', '', '--no-queues', '--append');

    const words =
      'Invalid options and files:\n' +
      '  - --sets: no set given and --no-queues: nothing would be looked at; name a set (schedule, retry, dead, interrupted) or leave out --no-queues\n' +
      "  - --append: only applies to queue lists (it queues the jobs moved off a queue behind the destination's backlog), and --no-queues leaves them alone: set entries stay in their set. Leave --append or --no-queues out\n";
    expect(local).toEqual({ code: 2, stdout: '', stderr: words });
    expect(deployed).toEqual({ code: 2, stdout: '', stderr: words });
    expect(captured).toEqual([]);
    expect(fake.started).toEqual([]);
  });

  it('a RUN that is no run id is said with those checks, in one round, as start --rollback says them', async () => {
    const local = await cli('rollback', 'bad id!', '--redis', redis.url(), '--sets', '', '--no-queues', '--json', '--verbose');
    const deployed = await cli('start', '--rollback', 'bad id!', '--sets', '', '--no-queues');

    const checks =
      '  - --verbose: does nothing with --json (its JSON names every set and queue already): leave --verbose or --json out\n' +
      '  - --sets: no set given and --no-queues: nothing would be looked at; name a set (schedule, retry, dead, interrupted) or leave out --no-queues\n';
    expect(local).toEqual({ code: 2, stdout: '', stderr: `Invalid options:\n  - RUN: "bad id!" is not a run id: use 1–80 letters, digits, "_", "." or "-"\n${checks}` });
    expect(deployed).toEqual({ code: 2, stdout: '', stderr: `Invalid options:\n  - --rollback: the run id of the re-route to roll back\n${checks.split('\n')[1]}\n` });
    expect(captured).toEqual([]);
    expect(fake.started).toEqual([]);
  });
});
