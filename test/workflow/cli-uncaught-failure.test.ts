// A local execution that fails where no Catch takes the failure (a state over 256 KiB, a history
// over 25,000 events: Step Functions fails the execution itself) skipped its "Release the run lock
// after a failure" state, and its lock stayed until it expired (20 minutes): the CLI said "Run the
// same command again to finish", and the same command was refused as locked. On AWS the
// execution-ended rule's function stops the run and releases the lock at once; the local runner
// now runs the same clean-up when a local execution fails.
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { RUN_LOCK_TTL_MS } from '../../core/workflow/steps/plan-step.js';
import { summarizeFunctionStep, SummarizeFunctionSteps } from '../../functions/support/task-inputs.js';
import { AWS_QUOTAS } from '../../infra/local/aws-quotas.js';
import { bufferIo } from '../support/buffer-io.js';
import { commandClock } from '../support/command-clock.js';
import { privateRedis } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();

/** The local handlers, but the first add-up's result is over 256 KiB: the execution itself fails, no Catch runs. */
const oversizedAddUp: typeof localTaskHandlers = (connections) => {
  const handlers = localTaskHandlers(connections);
  return {
    ...handlers,
    summarize: async (input, context) => {
      const result = await handlers.summarize(input, context);
      return summarizeFunctionStep(input) === SummarizeFunctionSteps.addUp ? { ...(result as object), padding: 'x'.repeat(AWS_QUOTAS.stateBytes) } : result;
    },
  };
};

/** The real time (epoch ms), also while the clock below fakes `Date`. */
const realNow = Date.now.bind(Date);
const MS_PER_ROUND_TRIP = 1_000;
const DAY_MS = 86_400_000;

/**
 * This process's clock moved per round trip (commandClock, perRoundTrip) by every Redis client in
 * it (the CLI's own, made inside `main`: Redis.prototype), not by how fast a loaded 2-core CI
 * runs it. The run lock's `expiresAt` is by the server's clock, which stays real: `at` gives the
 * process's clock as it was at a server time (the bursts sent up to that real instant), so that
 * the lock's expiry and the time the CLI says are compared on one clock. It starts an hour behind
 * the real time, so that it never runs ahead of it: the same command run again afterwards plans by
 * the real clock, and a plan dated after its own would supersede it.
 */
function roundTripClockOfProcess(): { at: (serverMs: number) => number; stop: () => void } {
  const clock = commandClock([Redis.prototype], MS_PER_ROUND_TRIP, { perRoundTrip: true });
  vi.setSystemTime(realNow() - 3_600_000);
  const start = Date.now();
  const sent: { real: number; at: number }[] = [];
  const proto = Redis.prototype as unknown as { sendCommand: (...args: unknown[]) => unknown };
  const send = proto.sendCommand;
  proto.sendCommand = function (this: unknown, ...args: unknown[]) {
    // The real time before it goes out (the server runs it after), the clock after its burst's cost.
    const real = realNow();
    const result = send.apply(this, args);
    sent.push({ real, at: Date.now() });
    return result;
  };
  return {
    at: (serverMs) => sent.filter((s) => s.real <= serverMs).reduce((latest, s) => Math.max(latest, s.at), start),
    stop: () => {
      proto.sendCommand = send;
      clock.stop();
    },
  };
}

/** Every job, the run's own bookkeeping left out. */
const jobsOf = async () =>
  (await allJobs(redis.client(), ''))
    .filter((j) => !j.key.startsWith('sidekiq-migrate:'))
    .map((j) => `${j.key} ${j.score ?? '-'} ${j.payload}`)
    .sort();

describe('a local execution that fails where no Catch runs (a state over 256 KiB)', () => {
  it('is cleaned up as the execution-ended rule cleans up on AWS: the same command, run again at once, finishes; every job once', { timeout: 60_000 }, async () => {
    const client = redis.client();
    const queued = [0, 1, 2].map((i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await client.lpush('queue:old', ...queued);
    await client.sadd('queues', 'old');
    const moved = queued.map((p) => `queue:new - ${p.replace('"queue":"old"', '"queue":"new"')}`).sort();
    const args = ['node', 'sidekiq-migrate', 'run', '--redis', redis.url(), '--rename', 'old=new'];

    const io = bufferIo();
    expect(await main(args, io, oversizedAddUp)).toBe(1);
    expect(io.stderr()).toMatch(
      /\nStates\.DataLimitExceeded: The state\/task 'Add up and list the next sets and queues' result is [\d]+ bytes, over the 262144 bytes Step Functions allows\nThe run failed after its plan: its pages moved at least 3 job\(s\) \(each page is whole\)\. Run the same command again to finish\.\n$/,
    );
    expect(io.stdout()).toBe('');
    expect(await jobsOf()).toEqual(moved);
    // Stopped and released, as on AWS: no lock of the run is left to expire.
    expect(await client.exists('sidekiq-migrate:lock')).toBe(0);

    const again = bufferIo();
    expect(await main(args, again)).toBe(0);
    expect(again.stderr()).not.toMatch(/locked/);
    expect(again.stdout()).toMatch(/\nComplete: everything that could be moved was moved\.\n$/);
    expect(await jobsOf()).toEqual(moved);
    expect(await client.exists('sidekiq-migrate:lock')).toBe(0);
  });

  it("says so when that clean-up fails too (Redis unreachable at that moment): what failed, that the run's lock may stay until it expires, and when", { timeout: 60_000 }, async () => {
    const client = redis.client();
    const job = sidekiqPayload({ className: 'A', queue: 'old', args: '[0]' });
    await client.lpush('queue:old', job);
    await client.sadd('queues', 'old');
    // The add-up's result is over 256 KiB, and then the run's connection is lost: the clean-up
    // after the failed execution cannot reach Redis.
    const lostAfterAddUp: typeof localTaskHandlers = (connections) => {
      const handlers = oversizedAddUp(connections);
      return {
        ...handlers,
        summarize: async (input, context) => {
          const result = await handlers.summarize(input, context);
          if (summarizeFunctionStep(input) === SummarizeFunctionSteps.addUp) (await connections.get('source')).redis.disconnect();
          return result;
        },
      };
    };

    const io = bufferIo();
    const clock = roundTripClockOfProcess();
    let code: number;
    let endedAt: number;
    try {
      code = await main(['node', 'sidekiq-migrate', 'run', '--redis', redis.url(), '--rename', 'old=new'], io, lostAfterAddUp);
      endedAt = Date.now();
    } finally {
      clock.stop();
    }
    expect(code).toBe(1);

    const lock = JSON.parse((await client.get('sidekiq-migrate:lock'))!) as { runId: string; expiresAt: number };
    expect(lock.runId).toMatch(/^reroute-/);
    const url = redis.url().replace(/[/.]/g, '\\$&');
    const said = new RegExp(
      `\\nThe run failed after its plan: its pages moved at least 1 job\\(s\\) \\(each page is whole\\)\\. Run the same command again to finish\\.\\n` +
        `The clean-up after the failure failed too \\(Connection is closed\\.\\): the run's lock on ${url} may stay until it expires, by (\\d\\d:\\d\\d:\\d\\d) UTC; until then, the same command run again on this machine resumes the run at once; from another machine it is refused as locked\\.\\n$`,
    );
    expect(io.stderr()).toMatch(said);
    expect(io.stdout()).toBe('');
    // The time said is when the lock expires, or a little later (it is said by this machine's
    // clock): on the round-trip clock, not before the lock's expiry (its last renewal's time on that
    // clock, plus its time to live) and no later than the CLI's end plus that time to live (whole
    // seconds, as said). Each round trip is a second: a time said from an earlier instant (the
    // plan's), or with another time to live, falls outside.
    const by = said.exec(io.stderr())![1]!;
    const seconds = (ms: number) => ms - (ms % 1_000);
    const expiry = seconds(clock.at(lock.expiresAt - RUN_LOCK_TTL_MS) + RUN_LOCK_TTL_MS);
    const late = (Date.parse(`1970-01-01T${by}Z`) - (expiry % DAY_MS) + DAY_MS) % DAY_MS;
    expect(late, `said ${by}, expiry ${new Date(expiry).toISOString()} on the round-trip clock`).toBeLessThanOrEqual(seconds(endedAt! + RUN_LOCK_TTL_MS) - expiry);
    expect(await client.lrange('queue:new', 0, -1)).toHaveLength(1);

    // What the line says, once the CLI's process has ended (here the run ran in the test's own
    // process: the lock is given the pid of a process that has ended, the rest of it unchanged).
    const ended = spawnSync(process.execPath, ['-e', '']).pid;
    await client.set('sidekiq-migrate:lock', JSON.stringify({ ...JSON.parse((await client.get('sidekiq-migrate:lock'))!), pid: ended }));
    const again = bufferIo();
    expect(await main(['node', 'sidekiq-migrate', 'run', '--redis', redis.url(), '--rename', 'old=new'], again), again.stderr()).toBe(0);
    expect(again.stderr()).toContain(`Resuming run ${lock.runId}, whose process on this machine is gone.`);
    expect(again.stdout()).toMatch(/\nComplete: everything that could be moved was moved\.\n$/);
    expect(await jobsOf()).toEqual([`queue:new - ${job.replace('"queue":"old"', '"queue":"new"')}`]);
    expect(await client.exists('sidekiq-migrate:lock')).toBe(0);
  });
});
