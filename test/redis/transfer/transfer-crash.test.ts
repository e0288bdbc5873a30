import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { jobEntry } from '../../support/exact-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { crashBeforeEveryCallThenResume, expectTransferEnd, jobsOnBoth, killTransferChildMidway, midRunKills } from '../../support/transfer-crash-loop.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');

/** Queued jobs in two queues, and entries in all three sets (one unparsable), on the source. */
async function seed(perKey: number): Promise<string[]> {
  const source = redis.source();
  const expected: string[] = [];
  for (const queue of ['default', 'mailers']) {
    for (let i = 0; i < perKey; i++) {
      const payload = sidekiqPayload({ className: 'A', queue, args: `[${i},1.0]` });
      await source.lpush(`queue:${queue}`, payload);
      expected.push(jobEntry(`queue:${queue}`, payload));
    }
  }
  for (const set of ['schedule', 'retry', 'dead']) {
    for (let i = 0; i < perKey; i++) {
      const payload = sidekiqPayload({ className: 'B', queue: 'default', args: `[${i}]` });
      await source.zadd(set, `${1795459303 + i}.5`, payload);
      expected.push(jobEntry(set, payload, `${1795459303 + i}.5`));
    }
  }
  await source.zadd('retry', '3', '{broken');
  expected.push(jobEntry('retry', '{broken', '3'));
  return expected.sort();
}

const union = () => jobsOnBoth(redis.source(), redis.target());
const leftovers = async () => [...(await redis.source().keys('sidekiq-migrate:*:inflight:*'))];

function request(source: Redis, target: Redis, runId: string): TransferRunRequest {
  return { source, target, sourceKeys: keys, targetKeys: keys, runId, dryRun: false, sets: ['schedule', 'retry', 'dead'], queues: true, sliceSize: 3, lockTtlMs: 50 };
}

describe('transfer crash recovery', () => {
  it.each(['same run', 'another run'] as const)('stopped before any Redis call on either side, then resumed by the %s: every job exactly once', async (resumer) => {
    const crashes = await crashBeforeEveryCallThenResume({ source: redis.source, target: redis.target, seed: () => seed(4), request, resumer });
    expect(crashes).toBeGreaterThan(30);
  });

  it('a process killed with SIGKILL at random moments, then resumed: every job exactly once', async () => {
    await midRunKills(4, async (attempt) => {
      await redis.source().flushall();
      await redis.target().flushall();
      const expected = await seed(60);
      const midRun = await killTransferChildMidway({ source: redis.source(), target: redis.target() }, redis.urls(), `killed-${attempt}`);

      await runTransfer(request(redis.source(), redis.target(), `resumer-${attempt}`));

      expect(await union(), `attempt ${attempt}`).toEqual(expected);
      await expectTransferEnd(redis.source(), redis.target(), expected, `attempt ${attempt}`);
      expect(await leftovers()).toEqual([]);
      return midRun;
    });
  });
});
