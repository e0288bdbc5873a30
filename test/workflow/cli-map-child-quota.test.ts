// A limit AWS enforces, passed inside a Distributed Map's child execution (here a page task whose
// result is over 256 KiB): on AWS the child fails, the Map fails with
// States.ExceedToleratedFailureThreshold, its Catch releases the run lock, and the execution fails
// with that error. The local run ended the whole run at the child instead, its lock still held:
// the next run was refused until the lock expired.
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { AWS_QUOTAS } from '../../infra/local/aws-quotas.js';
import { bufferIo } from '../support/buffer-io.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();

/** The local handlers, but a queue slice answers with a result over 256 KiB (after it moved its page). */
const bloatedSlice: typeof localTaskHandlers = (connections) => {
  const handlers = localTaskHandlers(connections);
  return { ...handlers, rerouteQueueSlice: async (input, context) => ({ ...((await handlers.rerouteQueueSlice(input, context)) as object), padding: 'x'.repeat(AWS_QUOTAS.stateBytes) }) };
};

describe('a quota passed inside a Map child, run locally', () => {
  it('fails the Map catchably as AWS does: States.ExceedToleratedFailureThreshold named, exit 1, the lock released, every job once', { timeout: 60_000 }, async () => {
    const client = redis.client();
    const queued = [0, 1, 2].map((i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await client.rpush('queue:old', ...queued);
    await client.sadd('queues', 'old');

    const io = bufferIo();
    const code = await main(['node', 'sidekiq-migrate', 'run', '--redis', redis.url(), '--rename', 'old=new'], io, bloatedSlice);

    expect(code).toBe(1);
    expect(io.stdout()).toBe('');
    expect(io.stderr()).toContain(
      "States.ExceedToleratedFailureThreshold: The Distributed Map 'Migrate each set and queue' tolerates no failed item, and a child execution failed with States.DataLimitExceeded: The state/task 'Re-route a slice of the queue' result is",
    );
    expect(io.stderr()).toContain('The run failed after its plan');
    // The Map's Catch ran "Release the run lock after a failure": the next run is not refused.
    expect(await client.exists('sidekiq-migrate:lock')).toBe(0);
    // The page had moved its jobs before its result was refused: each job once, on the new queue.
    expect(await client.lrange('queue:old', 0, -1)).toEqual([]);
    expect(await client.lrange('queue:new', 0, -1)).toEqual(queued.map((p) => p.replace('"queue":"old"', '"queue":"new"')));
  });
});
