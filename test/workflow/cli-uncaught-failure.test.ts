// A local execution that fails where no Catch takes the failure (a state over 256 KiB, a history
// over 25,000 events: Step Functions fails the execution itself) skipped its "Release the run lock
// after a failure" state, and its lock stayed until it expired (20 minutes): the CLI said "Run the
// same command again to finish", and the same command was refused as locked. On AWS the
// execution-ended rule's function stops the run and releases the lock at once; the local runner
// now runs the same clean-up when a local execution fails.
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { summarizeFunctionStep, SummarizeFunctionSteps } from '../../functions/support/task-inputs.js';
import { AWS_QUOTAS } from '../../infra/local/aws-quotas.js';
import { bufferIo } from '../support/buffer-io.js';
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
});
