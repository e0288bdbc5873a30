import { spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { repoPath } from '../../support/paths.js';
import { allJobs } from '../../support/redis-snapshot.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';

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
      expected.push(`queue:${queue}\t${payload}\t`);
    }
  }
  for (const set of ['schedule', 'retry', 'dead']) {
    for (let i = 0; i < perKey; i++) {
      const payload = sidekiqPayload({ className: 'B', queue: 'default', args: `[${i}]` });
      await source.zadd(set, `${1795459303 + i}.5`, payload);
      expected.push(`${set}\t${payload}\t${1795459303 + i}.5`);
    }
  }
  await source.zadd('retry', '3', '{broken');
  expected.push('retry\t{broken\t3');
  return expected.sort();
}

/** Every job on either server, wherever it is: the union must hold each original exactly once. */
async function union(): Promise<string[]> {
  const jobs = [...(await allJobs(redis.source(), '')), ...(await allJobs(redis.target(), ''))];
  return jobs
    .filter((j) => j.key !== 'queues' && !j.key.includes('sidekiq-migrate:'))
    .map((j) => `${j.key}\t${j.payload}\t${j.score ?? ''}`)
    .sort();
}

const leftovers = async () => [...(await redis.source().keys('sidekiq-migrate:*:inflight:*'))];

function request(source: Redis, target: Redis, runId: string): TransferRunRequest {
  return { source, target, sourceKeys: keys, targetKeys: keys, runId, dryRun: false, sets: ['schedule', 'retry', 'dead'], queues: true, sliceSize: 3, lockTtlMs: 50 };
}

describe('transfer crash recovery', () => {
  it.each(['same run', 'another run'])('stopped before any Redis call on either side, then resumed by the %s: every job exactly once', async (resumer) => {
    let calls = 0;
    for (let crashAt = 0; ; crashAt++) {
      await redis.source().flushall();
      await redis.target().flushall();
      const expected = await seed(4);
      let index = 0;
      const crash = () => {
        if (index++ === crashAt) throw new SimulatedCrash(`crash before call ${crashAt}`);
      };
      const outcome = await runTransfer(request(interferingRedis(redis.source(), crash), interferingRedis(redis.target(), crash), 'crashing')).then(
        () => 'completed' as const,
        (error: Error) => error,
      );
      if (outcome === 'completed') break;
      expect(outcome.message).toContain(`crash before call ${crashAt}`);
      calls++;

      // The same run takes its own lock again at once; another run waits for it to expire.
      if (resumer === 'another run') await new Promise((r) => setTimeout(r, 60));
      await runTransfer(request(redis.source(), redis.target(), resumer === 'same run' ? 'crashing' : 'resumer'));

      expect(await union(), `crash before call ${crashAt}`).toEqual(expected);
      expect(await leftovers()).toEqual([]);
    }
    expect(calls).toBeGreaterThan(30);
  });

  it('a process killed with SIGKILL at random moments, then resumed: every job exactly once', async () => {
    for (let attempt = 0; attempt < 4; attempt++) {
      await redis.source().flushall();
      await redis.target().flushall();
      const expected = await seed(60);
      const { source, target } = redis.urls();

      const child = spawn(process.execPath, ['--import', 'tsx', repoPath('test/support/transfer-child.ts'), source, target, `killed-${attempt}`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, Math.random() * 30));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, 320)); // its lock's TTL

      await runTransfer(request(redis.source(), redis.target(), `resumer-${attempt}`));

      expect(await union(), `attempt ${attempt}`).toEqual(expected);
      expect(await leftovers()).toEqual([]);
    }
  });
});
