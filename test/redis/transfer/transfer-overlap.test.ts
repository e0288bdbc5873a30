import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { transferQueueSlice } from '../../../core/transfer/queue-transfer.js';
import { runTransfer } from '../../../core/transfer/run-transfer.js';
import { transferSetSlice } from '../../../core/transfer/set-transfer.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { jobsOnBoth } from '../../support/transfer-crash-loop.js';
import { jobEntry, ourKeys } from '../../support/exact-jobs.js';

// Two attempts of the same run on one key at once (a page task retried while the first attempt
// still runs): the first one's acknowledge must remove exactly the batch it wrote, not the jobs
// the second attempt claimed into that batch meanwhile and has not written yet.
const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const ACKNOWLEDGES = new Set([new LuaScript('acknowledgeQueueBatch-4').sha, new LuaScript('acknowledgeSetBatch-10').sha]);

type Slice = (source: Redis, target: Redis) => Promise<unknown>;
const context = (source: Redis, target: Redis) => ({ source, target, sourceKeys: keys, targetKeys: keys, runId: 'overlapping', dryRun: false, cursor: null, sliceSize: 3 });

const cases: [string, (source: Redis) => Promise<string[]>, Slice][] = [
  [
    'queue:default',
    async (source) => {
      const jobs = Array.from({ length: 6 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
      for (const job of jobs) await source.lpush('queue:default', job);
      return jobs.map((j) => jobEntry('queue:default', j)).sort();
    },
    (source, target) => transferQueueSlice({ ...context(source, target), queue: 'default' }),
  ],
  [
    'schedule',
    async (source) => {
      const jobs = Array.from({ length: 6 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
      for (const [i, job] of jobs.entries()) await source.zadd('schedule', `${1795459303 + i}.5`, job);
      return jobs.map((j, i) => jobEntry('schedule', j, `${1795459303 + i}.5`)).sort();
    },
    (source, target) => transferSetSlice({ ...context(source, target), set: 'schedule' }),
  ],
];

describe('an acknowledge removes exactly the batch that was written', () => {
  it.each(cases)('%s: a second attempt claims into the batch before the first acknowledges, then dies before writing: nothing lost', async (_key, seed, slice) => {
    const expected = await seed(redis.source());
    let second: unknown;
    // The second attempt dies before its first call to the target: it claimed, wrote nothing.
    const dyingTarget = interferingRedis(redis.target(), () => {
      throw new SimulatedCrash('second attempt gone');
    });
    const first = interferingRedis(redis.source(), async ({ scripts }) => {
      if (second === undefined && scripts.some((sha) => ACKNOWLEDGES.has(sha))) {
        second = await slice(redis.source(), dyingTarget).catch((error: Error) => error);
      }
    });

    await slice(first, redis.target());

    expect((second as Error).cause).toBeInstanceOf(SimulatedCrash);
    // The first attempt's 3 are on the target; the second's 3 are still in flight, not lost.
    expect(await redis.target().exists(_key)).toBe(1);
    const inflight = await redis.source().keys('sidekiq-migrate:overlapping:inflight:*');
    expect(inflight).toHaveLength(1);
    const held = _key === 'schedule' ? await redis.source().zcard(inflight[0]!) : await redis.source().llen(inflight[0]!);
    expect(held).toBe(3);

    const summary = await runTransfer({ ...context(redis.source(), redis.target()), runId: 'resumer', sets: ['schedule'], queues: ['default'] });

    // Resumed under the ids the second attempt gave them: written now, not taken for duplicates.
    expect(summary.resumed).toMatchObject({ resumed: 3, written: 3, duplicates: 0 });
    expect(await jobsOnBoth(redis.source(), redis.target())).toEqual(expected);
    expect(await ourKeys(redis.source())).toEqual([]);
  });
});
