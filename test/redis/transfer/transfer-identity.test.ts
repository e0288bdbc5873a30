import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { crashBeforeEveryCallThenResume, expectTransferEnd, jobsOnBoth } from '../../support/transfer-crash-loop.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { jobEntry } from '../../support/exact-jobs.js';

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
    expected.push(jobEntry(`queue:${queue}`, payload));
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
    expected.push(jobEntry(set, payload, score));
  }
  return expected.sort();
}

const union = () => jobsOnBoth(redis.source(), redis.target());

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
    await expectTransferEnd(redis.source(), redis.target(), expected);
  });

  it.each(['same run', 'another run'] as const)('crashed before any Redis call, then resumed by the %s: the same multiset', async (resumer) => {
    const crashes = await crashBeforeEveryCallThenResume({ source: redis.source, target: redis.target, seed, request, resumer });
    expect(crashes).toBeGreaterThan(15);
  });
});
