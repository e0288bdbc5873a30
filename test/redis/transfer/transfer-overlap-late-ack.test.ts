import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { transferQueueSlice } from '../../../core/transfer/queue-transfer.js';
import { runTransfer } from '../../../core/transfer/run-transfer.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { jobsOnBoth } from '../../support/transfer-crash-loop.js';
import { jobEntry, ourKeys } from '../../support/exact-jobs.js';

// Two attempts of one page task at once (a Lambda retried while the first attempt still runs), as
// transfer-overlap.test.ts, at the two edges of acknowledgeQueueBatch-4.lua that test does not
// reach: the late acknowledge of the first attempt meets (a) a batch holding exactly one job more
// than it wrote, (b) another batch altogether, claimed by a later attempt that then died before
// writing. Either way the jobs it did not write stay in flight, and the resume moves every job
// exactly once. Found by hand-made mutation testing (audit-mutants): `n >= held - 1` in place of
// `n >= held`, and the batch id check dropped, each lost jobs and passed every test before these.
const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const ACKNOWLEDGE = new LuaScript('acknowledgeQueueBatch-4').sha;
const RUN = 'late-ack';

const context = (source: Redis, target: Redis, sliceSize: number) => ({ source, target, sourceKeys: keys, targetKeys: keys, runId: RUN, dryRun: false, cursor: null, sliceSize, queue: 'default' });

async function seed(source: Redis, count: number): Promise<string[]> {
  const jobs = Array.from({ length: count }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
  for (const job of jobs) await source.lpush('queue:default', job);
  return jobs.map((j) => jobEntry('queue:default', j)).sort();
}

/** A target on which an attempt dies before its first call: it claimed on the source, wrote nothing. */
const dyingTarget = () =>
  interferingRedis(redis.target(), () => {
    throw new SimulatedCrash('attempt gone before writing');
  });

/** Runs `meanwhile` once, just before the first attempt's acknowledge reaches the source. */
function beforeAcknowledge(meanwhile: () => Promise<void>): Redis {
  let done = false;
  return interferingRedis(redis.source(), async ({ scripts }) => {
    if (!done && scripts.includes(ACKNOWLEDGE)) {
      done = true;
      await meanwhile();
    }
  });
}

async function inflightLength(): Promise<number> {
  const inflight = await redis.source().keys(`sidekiq-migrate:${RUN}:inflight:*`);
  expect(inflight).toHaveLength(1);
  return redis.source().llen(inflight[0]!);
}

async function resumeAndExpect(expected: string[]): Promise<void> {
  await runTransfer({ source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'resumer', dryRun: false, sliceSize: 3, sets: [], queues: ['default'] });
  expect(await jobsOnBoth(redis.source(), redis.target())).toEqual(expected);
  expect(await ourKeys(redis.source())).toEqual([]);
}

describe('a late acknowledge removes exactly what its attempt wrote', () => {
  it('the batch holds one job more than the first attempt wrote (a second attempt claimed one into it and died): that job stays in flight, nothing lost', async () => {
    const expected = await seed(redis.source(), 6);
    let second: unknown;
    const first = beforeAcknowledge(async () => {
      // The second attempt takes the 3 in flight and claims 1 more into the same batch, then dies.
      second = await transferQueueSlice(context(redis.source(), dyingTarget(), 1)).catch((error: Error) => error);
    });

    await transferQueueSlice(context(first, redis.target(), 3));

    expect((second as Error).cause).toBeInstanceOf(SimulatedCrash);
    expect(await inflightLength()).toBe(1);
    await resumeAndExpect(expected);
  });

  it('another attempt finished the batch and a third claimed a new one and died: the late acknowledge leaves the new batch whole, nothing lost', async () => {
    const expected = await seed(redis.source(), 9);
    let third: unknown;
    const first = beforeAcknowledge(async () => {
      // The second attempt writes and acknowledges the batch in flight (and 3 more jobs in it).
      await transferQueueSlice(context(redis.source(), redis.target(), 3));
      // A third claims a new batch of 3 and dies before writing it.
      third = await transferQueueSlice(context(redis.source(), dyingTarget(), 3)).catch((error: Error) => error);
    });

    await transferQueueSlice(context(first, redis.target(), 3));

    expect((third as Error).cause).toBeInstanceOf(SimulatedCrash);
    expect(await inflightLength()).toBe(3);
    await resumeAndExpect(expected);
  });
});
