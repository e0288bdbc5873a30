import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { listEntryIds } from '../../../core/transfer/ledger-id.js';
import { resumeInflight } from '../../../core/transfer/resume-inflight.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

// A leftover that another attempt of its run acknowledges while a resume is at it (between the
// search and the read, or right after the read): the resume must not leave a batch id behind
// for an in-flight key that is gone.
const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const INFLIGHT = 'sidekiq-migrate:old:inflight:queue:default';
const BATCH = 'sidekiq-migrate:old:batch:queue:default';
const job = (i: number) => sidekiqPayload({ className: 'A', args: `[${i}]`, jid: `${'0'.repeat(22)}${String(i).padStart(2, '0')}` });

/** A source client on which the leftover is acknowledged (deleted) by someone else before call `n` (0-based). */
function acknowledgedBefore(n: number) {
  return interferingRedis(redis.source(), async ({ index }) => {
    if (index === n) await redis.source().del(INFLIGHT, BATCH);
  });
}

describe('a leftover acknowledged by another attempt while it is resumed', () => {
  it('gone before its batch id is read (a leftover without one): nothing written, no batch id left behind', async () => {
    await redis.source().rpush(INFLIGHT, job(1), job(2));
    // Calls: SCAN, one pipeline of TYPE, LLEN and ZCARD, the MGET of the batch ids (which target:
    // none here), then the MULTI that reads the batch id and the entries.
    const counters = await resumeInflight({ source: acknowledgedBefore(3), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'resumer', dryRun: false });

    expect(counters).toMatchObject({ resumed: 0, written: 0 });
    expect(await redis.source().keys('*')).toEqual([]);
    expect(await redis.target().keys('*')).toEqual([]);
  });

  it('gone right after it was read: what it wrote is known to the ledger, and no batch id is left behind', async () => {
    await redis.source().rpush(INFLIGHT, job(1), job(2));
    await redis.source().set(BATCH, 'B');
    // The other attempt wrote both before acknowledging them.
    await redis.target().sadd('sidekiq-migrate:old:ledger:queue:default', ...listEntryIds('B', 2));
    await redis.target().rpush('queue:default', job(1), job(2));

    const counters = await resumeInflight({ source: acknowledgedBefore(4), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'resumer', dryRun: false });

    expect(counters).toMatchObject({ resumed: 2, written: 0, duplicates: 2 });
    expect(await redis.source().keys('*')).toEqual([]);
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual([job(1), job(2)]);
  });

  it('claimed for another target by the time it is read (its key emptied and claimed again while the resume was paused): refused, nothing written or acknowledged', async () => {
    await redis.source().rpush(INFLIGHT, job(1), job(2));
    await redis.source().set(BATCH, 'B@here');
    // Before the MULTI that reads it: another run of the same id, writing to another target,
    // acknowledged that batch and claimed its own into the same key.
    const source = interferingRedis(redis.source(), async ({ index }) => {
      if (index === 3) {
        await redis.source().del(INFLIGHT, BATCH);
        await redis.source().rpush(INFLIGHT, job(3));
        await redis.source().set(BATCH, 'C@elsewhere');
      }
    });
    const resumed = resumeInflight({ source, target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'resumer', dryRun: false, targetId: 'here', targetName: 'redis://here' });

    await expect(resumed).rejects.toThrow(/^1 job\(s\) are in flight from an interrupted transfer \(run old\) to another target than redis:\/\/here \(target id elsewhere; this one is here: a Redis that lost its data, restarted empty or flushed, is named anew, so it may be that one\)\./);
    expect(await redis.source().lrange(INFLIGHT, 0, -1)).toEqual([job(3)]);
    expect(await redis.source().get(BATCH)).toBe('C@elsewhere');
    expect(await redis.target().keys('*')).toEqual([]);
  });
});
