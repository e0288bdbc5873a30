// However large the page size, no slice claims more than MAX_JOBS_PER_CLAIM jobs (1,000: one slice
// a default page, issue #18; its Lua calls are of 50, claim-calls.test.ts; its bytes are bounded
// apart, slice-byte-bound.test.ts), and the slices still move every job, byte for byte, in order.
import { ourKeys } from '../../support/exact-jobs.js';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { transferQueueSlice, type QueueTransferCursor } from '../../../core/transfer/queue-transfer.js';
import { transferSetSlice, type SetTransferCursor } from '../../../core/transfer/set-transfer.js';
import { MAX_JOBS_PER_CLAIM } from '../../../core/transfer/transfer-options.js';
import type { TransferCounters } from '../../../core/transfer/transfer-counters.js';
import type { PageResult } from '../../../core/reroute/drive-pages.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const context = () => ({ source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'cap', dryRun: false, sliceSize: 10_000 });
const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` });
const TOTAL = 2 * MAX_JOBS_PER_CLAIM + 17;

describe('a claim takes at most MAX_JOBS_PER_CLAIM jobs, whatever the page size', () => {
  it('queues: slices of 1,000 with a page size of 10,000; every job moved once, in order; nothing left on the source', async () => {
    expect(MAX_JOBS_PER_CLAIM).toBe(1000);
    const source = redis.source();
    const jobs = Array.from({ length: TOTAL }, (_, i) => job(i));
    for (let i = 0; i < jobs.length; i += 100) await source.lpush('queue:default', ...jobs.slice(i, i + 100));
    const before = await source.lrange('queue:default', 0, -1);

    const claims = await claimsUntilDone((cursor: QueueTransferCursor | null) => transferQueueSlice({ ...context(), queue: 'default', cursor }));

    expect(claims).toEqual([1000, 1000, 17]);
    // The same list, in the same order: Sidekiq fetches them on the target as it would have on the source.
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(before);
    expect([...before].sort()).toEqual([...jobs].sort());
    expect(await source.exists('queue:default')).toBe(0);
    expect(await ourKeys(source)).toEqual([]);
  });

  it('sets: slices of 1,000 with a page size of 10,000; every entry moved once with its score; nothing left on the source', async () => {
    const source = redis.source();
    const entries = Array.from({ length: TOTAL }, (_, i) => [`${1795462903 + i}.25`, job(i)] as const);
    for (let i = 0; i < entries.length; i += 100) await source.zadd('schedule', ...entries.slice(i, i + 100).flat());
    const before = await source.zrange('schedule', 0, '-1', 'WITHSCORES');

    const claims = await claimsUntilDone((cursor: SetTransferCursor | null) => transferSetSlice({ ...context(), set: 'schedule', cursor }));

    expect(claims).toEqual([1000, 1000, 17]);
    expect(await redis.target().zrange('schedule', 0, '-1', 'WITHSCORES')).toEqual(before);
    expect(await source.exists('schedule')).toBe(0);
    expect(await ourKeys(source)).toEqual([]);
  });
});

/** Runs slices until one is done; how many jobs each claimed. */
async function claimsUntilDone<C>(slice: (cursor: C | null) => Promise<PageResult<C, TransferCounters>>): Promise<number[]> {
  const claims: number[] = [];
  let cursor: C | null = null;
  for (let done = false; !done; ) {
    const result = await slice(cursor);
    claims.push(result.counters.claimed);
    [cursor, done] = [result.cursor, result.done];
  }
  return claims;
}
