import { describe, expect, it } from 'vitest';
import { planReroute } from '../../../core/reroute/plan-reroute.js';
import { rerouteSetPage } from '../../../core/reroute/set-page.js';
import { rerouteQueueSlice } from '../../../core/reroute/queue-slice.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { keyValueSnapshot } from '../../support/exact-jobs.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();
const plan = classRoutingPlan(new Map([['A', 'a'], ['B', 'b'], ['Stay', 'stay']]));

describe('the plan (dry run)', () => {
  it('reports per set and per queue what a run would do, and writes nothing at all', async () => {
    // Prepare: every kind of job in every kind of place.
    const keys = new SidekiqKeys(uniquePrefix());
    for (const set of ['schedule', 'retry', 'dead'] as const) {
      const key = keys.sortedSet(set);
      for (let i = 0; i < 300; i++) await redis.zadd(key, String(i), sidekiqPayload({ className: i % 3 ? 'A' : 'B', queue: 'old', args: `[${i}]` }));
      await redis.zadd(key, '1', sidekiqPayload({ className: 'A', queue: 'a' }));
      await redis.zadd(key, '2', sidekiqPayload({ className: 'Gone', queue: 'old' }));
      await redis.zadd(key, '3', '<html>');
    }
    for (let i = 0; i < 250; i++) await redis.lpush(keys.queue('old'), sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await redis.lpush(keys.queue('old'), sidekiqPayload({ className: 'Gone', queue: 'old', jid: 'bbbbbbbbbbbbbbbbbbbbbbbb' }));
    await redis.lpush(keys.queue('stay'), sidekiqPayload({ className: 'Stay', queue: 'stay' }));
    await redis.sadd(keys.queues, 'old', 'stay');
    const before = await keyValueSnapshot(redis, keys.prefix);

    // Act
    const report = await planReroute({ redis, keys, plan, sets: ['schedule', 'retry', 'dead'], queues: true, pageSize: 100 });

    // Assess: nothing changed, byte for byte.
    expect(await keyValueSnapshot(redis, keys.prefix)).toEqual(before);
    for (const set of ['schedule', 'retry', 'dead'] as const) {
      expect(report.sets[set]).toMatchObject({
        total: 303,
        counters: { moved: 300, movedTo: { a: 200, b: 100 }, alreadyRouted: 1, unmapped: 1, unparsable: 1, unmappedClasses: { Gone: 1 } },
      });
    }
    expect(report.queues['old']).toMatchObject({ total: 251, counters: { moved: 250, movedTo: { a: 250 }, unmapped: 1 } });
    expect(report.queues['old']!.counters.samples.unmapped).toEqual([{ jid: 'bbbbbbbbbbbbbbbbbbbbbbbb', className: 'Gone', reason: expect.any(String) }]);
    expect(report.untouchedQueues).toEqual([{ queue: 'stay', depth: 1 }]);
    expect(report.totals.moved).toBe(3 * 300 + 250);
  });
});

describe('wrong key types', () => {
  it('a set key of another type fails with a clear, non-retryable error and changes nothing', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await redis.set(keys.sortedSet('retry'), 'not a zset');

    const attempt = rerouteSetPage({ redis, keys, plan, set: 'retry', cursor: '0', count: 10, dryRun: false });

    await expect(attempt).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/Scanning .*retry: .*WRONGTYPE.*check the key prefix/) });
    expect(await redis.get(keys.sortedSet('retry'))).toBe('not a zset');
  });

  it('a queue key of another type fails the same way', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await redis.hset(keys.queue('old'), 'a', '1');

    const attempt = rerouteQueueSlice({ redis, keys, plan, queue: 'old', cursor: null, sliceSize: 10, dryRun: false });

    await expect(attempt).rejects.toMatchObject({ retryable: false, message: expect.stringContaining('WRONGTYPE') });
  });
});
