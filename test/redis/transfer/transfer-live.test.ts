import { describe, expect, it } from 'vitest';
import { runTransfer } from '../../../core/transfer/run-transfer.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { expectEveryJobOnce, jobsIn, type SeededJob } from '../../support/exact-jobs.js';
import { sidekiqOnBothSides } from '../../support/sidekiq-simulator.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const NOW = 1_000_000;

describe('transferring while Sidekiq runs on both sides', () => {
  it('producers on the new Redis, fetchers and pollers on both: every job runs or is stored exactly once', async () => {
    // Prepare: jobs waiting on the old Redis, half of the set entries due, half in the future.
    const seeded: SeededJob[] = [];
    const source = redis.source();
    for (let i = 0; i < 300; i++) {
      for (const where of ['queue', 'schedule', 'retry'] as const) {
        const payload = sidekiqPayload({ className: 'A', queue: i % 2 ? 'default' : 'low', jid: newJid() });
        if (where === 'queue') {
          await source.lpush(keys.queue(i % 2 ? 'default' : 'low'), payload);
          seeded.push({ payload });
        } else {
          const score = String(i % 2 ? NOW - i : NOW + i);
          await source.zadd(where, score, payload);
          seeded.push({ payload, set: where, score });
        }
      }
    }
    const { oldFleet, newFleet, stop } = sidekiqOnBothSides(redis.urls(), keys, NOW, { oldFleetProduces: false });

    // Act: two transfers in a row (the second finds what the old fleet's poller queued meanwhile).
    for (const runId of ['live-1', 'live-2']) {
      await runTransfer({ source, target: redis.target(), sourceKeys: keys, targetKeys: keys, runId, dryRun: false, sets: ['schedule', 'retry'], queues: true, sliceSize: 20 });
    }
    await stop();

    // Assess
    expect(oldFleet.consumed.length).toBeGreaterThan(0);
    expect(newFleet.consumed.length).toBeGreaterThan(0);
    expectEveryJobOnce({
      seeded,
      produced: newFleet.producedPayloads,
      stored: [...(await jobsIn(source)), ...(await jobsIn(redis.target()))],
      consumed: [...oldFleet.consumedPayloads, ...newFleet.consumedPayloads],
    });
    // Future entries all made it to the new Redis.
    expect(await source.zcount('schedule', NOW + 1, '+inf')).toBe(0);
    expect(await redis.target().zcount('schedule', NOW + 1, '+inf')).toBe(149); // even i from 2 to 298
    oldFleet.close();
    newFleet.close();
  });
});
