import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { jobEntry, jobsIn } from '../../support/exact-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { crashBeforeEveryCallThenResume, expectTransferEnd, jobsOnBoth, killTransferChildMidway, midRunKills, type ExpectedEnd } from '../../support/transfer-crash-loop.js';
import { mixedJob, SELECTED } from './selected-classes-jobs.js';

// A selective transfer (issue 17) dies at any instant and is resumed: every job is on exactly one
// server, the source keeps exactly the staying jobs, the target holds exactly the selected ones.
const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');

/** Two shared queues and the three sets, mixed; returns where each job belongs after the transfer. */
async function seed(perKey: number): Promise<ExpectedEnd> {
  const source = redis.source();
  const end = { source: [] as string[], target: [] as string[] };
  for (const queue of ['default', 'low']) {
    for (let i = 0; i < perKey; i++) {
      const job = mixedJob(i, queue);
      await source.lpush(`queue:${queue}`, job.payload);
      (job.className ? end.target : end.source).push(jobEntry(`queue:${queue}`, job.payload));
    }
  }
  for (const set of ['schedule', 'retry', 'dead']) {
    for (let i = 0; i < perKey; i++) {
      const job = mixedJob(i, 'default');
      const score = `${1795459303 + Math.floor(i / 2)}.5`;
      await source.zadd(set, score, job.payload);
      (job.className ? end.target : end.source).push(jobEntry(set, job.payload, score));
    }
  }
  return { source: end.source.sort(), target: end.target.sort() };
}

function request(placement: 'front' | 'append') {
  return (source: Redis, target: Redis, runId: string): TransferRunRequest => ({
    source,
    target,
    sourceKeys: keys,
    targetKeys: keys,
    runId,
    dryRun: false,
    sets: ['schedule', 'retry', 'dead'],
    queues: true,
    sliceSize: 3,
    lockTtlMs: 50,
    classes: SELECTED,
    placement,
  });
}

describe('a selective transfer, crashed and resumed', () => {
  it.each([
    ['same run', 'append'],
    ['another run', 'front'],
  ] as const)('stopped before any Redis call on either side, resumed by the %s (%s): every job exactly once, where it belongs', { timeout: 240_000 }, async (resumer, placement) => {
    const crashes = await crashBeforeEveryCallThenResume({ source: redis.source, target: redis.target, seed: () => seed(7), request: request(placement), resumer });
    expect(crashes).toBeGreaterThan(30);
  });

  it.each(['append', 'front'] as const)('%s: a process killed with SIGKILL at random moments, then resumed: every job exactly once, where it belongs', { timeout: 240_000 }, async (placement) => {
    await midRunKills(3, async (attempt) => {
      await redis.source().flushall();
      await redis.target().flushall();
      const expected = await seed(60);
      const killed = await killTransferChildMidway({ source: redis.source(), target: redis.target() }, redis.urls(), `killed-${attempt}`, undefined, { classes: SELECTED, placement });
      // Killed mid-run: some selected jobs were still on the source (or in flight).
      const selectedLeft = (await jobsIn(redis.source())).filter((e) => expected.target.includes(e)).length + (await redis.source().keys('sidekiq-migrate:*:inflight:*')).length;

      await runTransfer(request(placement)(redis.source(), redis.target(), `resumer-${attempt}`));

      expect(await jobsOnBoth(redis.source(), redis.target()), `attempt ${attempt}`).toEqual([...expected.source, ...expected.target].sort());
      await expectTransferEnd(redis.source(), redis.target(), expected, `attempt ${attempt}`);
      expect(await redis.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
      return killed && selectedLeft > 0;
    });
  });
});
