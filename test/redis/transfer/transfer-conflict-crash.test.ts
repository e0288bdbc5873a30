import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { crashBeforeEveryCallThenResume } from '../../support/transfer-crash-loop.js';
import { jobEntry, jobsIn } from '../../support/exact-jobs.js';

// The set conflict of issue 11 under crash injection: `schedule` holds the same job twice (queues
// a and b), and routing sends both to c. Whatever call the transfer dies before, the resumed run
// ends exactly where an uninterrupted one does: one rewrite on the target, the other entry back
// on the source with its score, nothing merged, lost or written twice.
const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const plan = classRoutingPlan(new Map([['W', 'c']]));

async function seedSource(): Promise<void> {
  const jid = 'aaaaaaaaaaaaaaaaaaaaaaaa';
  const source = redis.source();
  await source.zadd('schedule', '1795459303.5', sidekiqPayload({ className: 'W', queue: 'a', args: '[1]', jid }), '1795459399.25', sidekiqPayload({ className: 'W', queue: 'b', args: '[1]', jid }));
  for (let i = 0; i < 5; i++) await source.zadd('schedule', `${1795459400 + i}`, sidekiqPayload({ className: 'W', queue: 'a', args: `[${10 + i}]`, jid: `cccccccccccccccccccccc${10 + i}` }));
  for (let i = 0; i < 4; i++) await source.rpush('queue:a', sidekiqPayload({ className: 'W', queue: 'a', args: `[${20 + i}]`, jid: `dddddddddddddddddddddd${10 + i}` }));
}

function request(source: Redis, target: Redis, runId: string): TransferRunRequest {
  return { source, target, sourceKeys: keys, targetKeys: keys, runId, plan, dryRun: false, sets: ['schedule'], queues: true, sliceSize: 3, lockTtlMs: 50 };
}

describe('a set conflict, crashed before every call and resumed', () => {
  it.each(['same run', 'another run'] as const)('resumed by the %s: the same end state as an uninterrupted transfer', { timeout: 120_000 }, async (resumer) => {
    await seedSource();
    const clean = await runTransfer(request(redis.source(), redis.target(), 'clean'));
    expect(clean.totals).toMatchObject({ written: 10, conflicts: 1 });
    const expected = { source: await jobsIn(redis.source()), target: await jobsIn(redis.target()) };
    // The conflicting entry (queue b) stayed on the source with its score; all else went.
    const queueB = sidekiqPayload({ className: 'W', queue: 'b', args: '[1]', jid: 'aaaaaaaaaaaaaaaaaaaaaaaa' });
    expect(expected.source).toEqual([jobEntry('schedule', queueB, '1795459399.25')]);
    expect(expected.target).toHaveLength(10);

    const crashes = await crashBeforeEveryCallThenResume({
      source: redis.source,
      target: redis.target,
      seed: async () => (await seedSource(), expected),
      request,
      resumer,
    });
    expect(crashes).toBeGreaterThan(15);
  });
});
