// A run whose execution fails after its pages ran (here its summary step: say an out-of-memory
// Redis refused the write of the run's record): the CLI printed the error alone, as it does when
// the plan fails and nothing moved, so an operator took a run that had moved jobs for one that had
// done nothing. Now it says what the pages that ran did, and that running it again finishes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { summarizeFunctionStep, SummarizeFunctionSteps } from '../../functions/support/task-inputs.js';
import { RedisUnavailableError } from '../../core/redis/redis-errors.js';
import { TaskError, TaskErrorNames } from '../../functions/support/task-error.js';
import { bufferIo } from '../support/buffer-io.js';
import { privateRedis, privateSourceAndTarget } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const pair = privateSourceAndTarget();

/** The local handlers, but the summary step fails as a Redis refusing a write would make it. */
const failingSummary: typeof localTaskHandlers = (connections) => {
  const handlers = localTaskHandlers(connections);
  return {
    ...handlers,
    summarize: (input) =>
      summarizeFunctionStep(input) === SummarizeFunctionSteps.addUp
        ? handlers.summarize(input)
        : Promise.reject(new TaskError(TaskErrorNames.fatal, 'Summarizing the run: OOM command not allowed', { cause: new Error('OOM') })),
  };
};

/** Every job, the run's own bookkeeping left out (its list of sets and queues expires by itself). */
const jobsOf = async () =>
  (await allJobs(redis.client(), ''))
    .filter((j) => !j.key.startsWith('sidekiq-migrate:'))
    .map((j) => `${j.key} ${j.score ?? '-'} ${j.payload}`)
    .sort();

describe('an execution that fails after its pages moved jobs', () => {
  it('says how many its pages moved and to run again; the next run finishes, every job once', { timeout: 60_000 }, async () => {
    const client = redis.client();
    const queued = [0, 1, 2, 3].map((i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    const scheduled = [4, 5].map((i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await client.lpush('queue:old', ...queued);
    await client.zadd('schedule', '1795459303', scheduled[0]!, '1795459304', scheduled[1]!);
    await client.sadd('queues', 'old');
    const moved = [
      ...queued.map((p) => `queue:new - ${p.replace('"queue":"old"', '"queue":"new"')}`),
      `schedule 1795459303 ${scheduled[0]!.replace('"queue":"old"', '"queue":"new"')}`,
      `schedule 1795459304 ${scheduled[1]!.replace('"queue":"old"', '"queue":"new"')}`,
    ].sort();

    const io = bufferIo();
    const code = await main(['node', 'sidekiq-migrate', 'run', '--redis', redis.url(), '--rename', 'old=new'], io, failingSummary);

    expect(code).toBe(1);
    expect(io.stderr()).toMatch(
      /\nSummarizing the run: OOM command not allowed\nThe run failed after its plan: its pages moved at least 6 job\(s\) \(each page is whole\)\. Run the same command again to finish\.\n$/,
    );
    expect(io.stdout()).toBe('');
    expect(await jobsOf()).toEqual(moved);
    expect(await client.exists('sidekiq-migrate:lock')).toBe(0);

    const again = bufferIo();
    expect(await main(['node', 'sidekiq-migrate', 'run', '--redis', redis.url(), '--rename', 'old=new'], again)).toBe(0);
    expect(again.stdout()).toMatch(/\nComplete: everything that could be moved was moved\.\n$/);
    expect(await jobsOf()).toEqual(moved);
  });
});

describe('a dry run whose execution fails after its pages', () => {
  it('says it wrote nothing and what its pages counted, never "moved"; every job stays as it was', { timeout: 60_000 }, async () => {
    const client = redis.client();
    const queued = [0, 1, 2].map((i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await client.lpush('queue:old', ...queued);
    await client.sadd('queues', 'old');
    const before = await jobsOf();

    const io = bufferIo();
    expect(await main(['node', 'sidekiq-migrate', 'run', '--redis', redis.url(), '--rename', 'old=new', '--dry-run'], io, failingSummary)).toBe(1);
    expect(io.stderr()).toMatch(
      /\nSummarizing the run: OOM command not allowed\nThe dry run failed after its plan, having written nothing: its pages counted at least 3 job\(s\) to move\. Run it again for the whole count\.\n$/,
    );
    expect(await jobsOf()).toEqual(before);
  });
});

describe('a move whose execution fails after its slices wrote jobs', () => {
  it('says how many were written to the target and to run again; the next run finishes, every job once on the target', { timeout: 60_000 }, async () => {
    const source = pair.source();
    const queued = [0, 1, 2].map((i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
    const scheduled = sidekiqPayload({ className: 'A', queue: 'q', args: '[3]' });
    await source.lpush('queue:q', ...queued);
    await source.zadd('schedule', '1795459303', scheduled);
    await source.sadd('queues', 'q');
    const expected = [...queued.map((p) => `queue:q - ${p}`), `schedule 1795459303 ${scheduled}`].sort();
    const onTarget = async () =>
      (await allJobs(pair.target(), ''))
        .filter((j) => j.key !== 'queues' && !j.key.startsWith('sidekiq-migrate:'))
        .map((j) => `${j.key} ${j.score ?? '-'} ${j.payload}`)
        .sort();
    const { source: from, target: to } = pair.urls();

    const io = bufferIo();
    expect(await main(['node', 'sidekiq-migrate', 'move', '--from', from, '--to', to], io, failingSummary)).toBe(1);
    expect(io.stderr()).toMatch(
      /\nSummarizing the run: OOM command not allowed\nThe run failed after its plan: its pages wrote at least 4 job\(s\) to the target \(each page is whole\)\. Run the same command again to finish\.\n$/,
    );
    expect(io.stdout()).toBe('');
    expect(await onTarget()).toEqual(expected);

    const again = bufferIo();
    expect(await main(['node', 'sidekiq-migrate', 'move', '--from', from, '--to', to], again)).toBe(0);
    expect(again.stdout()).toMatch(/\nComplete: everything that could be moved was moved\.\n$/);
    expect(await onTarget()).toEqual(expected);
    expect((await allJobs(source, '')).filter((j) => !j.key.startsWith('sidekiq-migrate:'))).toEqual([]);
  });
});

describe('a plan that still fails after its retries (a Redis refusing writes for 2 minutes)', () => {
  afterEach(() => vi.useRealTimers());

  /** The local handlers, but the plan is refused every time, as NOREPLICAS refuses it; the retries' timers are faked from then on. */
  const refusedPlan: typeof localTaskHandlers = (connections) => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const message = 'Taking the run lock on source: the server refuses writes (NOREPLICAS)';
    // As toTaskError makes it: core's classified error, with the same words, as the cause.
    const refusal = () => Promise.reject(new TaskError(TaskErrorNames.retryable, message, { cause: new RedisUnavailableError(message, { cause: new Error('NOREPLICAS') }) }));
    return { ...localTaskHandlers(connections), plan: refusal };
  };

  /** Runs the CLI, moving the faked clock on until it ends (the retries wait about 2 minutes). */
  async function refused(args: string[]): Promise<{ code: number; stderr: string }> {
    const io = bufferIo();
    let code: number | undefined;
    const running = main(['node', 'sidekiq-migrate', ...args], io, refusedPlan).then((c) => (code = c));
    // Until it ends (the test's timeout bounds it): real I/O between turns, the faked clock moved once faked.
    while (code === undefined) {
      await new Promise((resolve) => setImmediate(resolve));
      if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(5_000);
    }
    await running;
    return { code: code!, stderr: io.stderr() };
  }

  it('run: says it once with the retries to come, then that nothing was moved; every job stays', { timeout: 60_000 }, async () => {
    const client = redis.client();
    await client.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
    const before = await jobsOf();

    const { code, stderr } = await refused(['run', '--redis', redis.url(), '--rename', 'old=new']);

    expect(code).toBe(1);
    const refusal = 'Taking the run lock on source: the server refuses writes (NOREPLICAS)';
    expect(stderr).toBe(
      `Plan migration: ${refusal}\n  Transient: the state machine retries this step (at most 6 times, about 2 min in all)\n` +
        `${refusal}\nStill so after the state machine's retries; nothing was moved. Run the same command again once that is resolved.\n`,
    );
    expect(await jobsOf()).toEqual(before);
  });

  it('move: says no job was claimed from the source (its plan may have finished what an interrupted run left in flight)', { timeout: 60_000 }, async () => {
    const { source: from, target: to } = pair.urls();
    const { code, stderr } = await refused(['move', '--from', from, '--to', to]);

    expect(code).toBe(1);
    expect(stderr).toMatch(
      /\nStill so after the state machine's retries; no job was claimed from the source \(what an interrupted run left in flight stays there, or was finished\)\. Run the same command again once that is resolved\.\n$/,
    );
  });
});
