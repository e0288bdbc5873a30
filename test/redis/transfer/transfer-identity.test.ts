import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { allJobs } from '../../support/redis-snapshot.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const SHARED_JID = '0123456789abcdef01234567';

/**
 * Jobs that a ledger keyed by jid, or by bytes, would take for one: three different payloads
 * sharing a jid in a queue, the same bytes pushed twice (a producer's retried LPUSH), and entries
 * sharing that jid in `retry` and `schedule` (as a retried job and a hand-made copy). Every one is
 * a job Sidekiq would run; the target must end up with exactly the same multiset.
 */
async function seed(): Promise<string[]> {
  const source = redis.source();
  const expected: string[] = [];
  const push = async (queue: string, payload: string) => {
    await source.lpush(`queue:${queue}`, payload);
    expected.push(`queue:${queue}\t${payload}\t`);
  };
  for (let i = 0; i < 3; i++) await push('default', sidekiqPayload({ className: 'A', jid: SHARED_JID, args: `[${i}]` }));
  const twice = sidekiqPayload({ className: 'A', args: '["pushed twice"]' });
  await push('default', twice);
  await push('default', twice);
  for (let i = 0; i < 5; i++) await push('default', sidekiqPayload({ className: 'A', args: `[${100 + i}]` }));
  for (const [set, extra] of [
    ['retry', '"retry_count":1'],
    ['retry', '"retry_count":2'],
    ['schedule', '"at":1795462903.5'],
  ] as const) {
    const payload = sidekiqPayload({ className: 'B', jid: SHARED_JID, args: '[7]', extra });
    const score = set === 'schedule' ? '1795462903.5' : `${1795459303 + expected.length}.5`;
    await source.zadd(set, score, payload);
    expected.push(`${set}\t${payload}\t${score}`);
  }
  return expected.sort();
}

/** Every job on either server, duplicates kept: the multiset a transfer must preserve. */
async function union(): Promise<string[]> {
  const jobs = [...(await allJobs(redis.source(), '')), ...(await allJobs(redis.target(), ''))];
  return jobs
    .filter((j) => j.key !== 'queues' && !j.key.includes('sidekiq-migrate:'))
    .map((j) => `${j.key}\t${j.payload}\t${j.score ?? ''}`)
    .sort();
}

function request(source: Redis, target: Redis, runId: string): TransferRunRequest {
  return { source, target, sourceKeys: keys, targetKeys: keys, runId, dryRun: false, sets: ['schedule', 'retry', 'dead'], queues: true, sliceSize: 4, lockTtlMs: 50 };
}

describe('a transfer identifies claimed entries, not jids or bytes', () => {
  it('carries jobs sharing a jid, and the same bytes pushed twice, each one', async () => {
    await redis.source().flushall();
    await redis.target().flushall();
    const expected = await seed();

    const summary = await runTransfer(request(redis.source(), redis.target(), 'identity'));

    expect(summary.totals).toMatchObject({ claimed: expected.length, written: expected.length, duplicates: 0 });
    expect(await union()).toEqual(expected);
    expect(await redis.source().llen('queue:default')).toBe(0);
    expect(await redis.target().llen('queue:default')).toBe(10);
  });

  it.each(['same run', 'another run'])('crashed before any Redis call, then resumed by the %s: the same multiset', async (resumer) => {
    let crashes = 0;
    for (let crashAt = 0; ; crashAt++) {
      await redis.source().flushall();
      await redis.target().flushall();
      const expected = await seed();
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
      crashes++;

      if (resumer === 'another run') await new Promise((r) => setTimeout(r, 60));
      await runTransfer(request(redis.source(), redis.target(), resumer === 'same run' ? 'crashing' : 'resumer'));

      expect(await union(), `crash before call ${crashAt}`).toEqual(expected);
      expect(await redis.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
      expect(await redis.source().keys('sidekiq-migrate:*:batch:*')).toEqual([]);
    }
    expect(crashes).toBeGreaterThan(15);
  });
});
