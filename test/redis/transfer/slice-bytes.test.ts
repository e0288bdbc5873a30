// Large payloads (GitLab's size limiter lets them through unless told to reject them): a slice
// takes as many jobs as fit in MAX_PAGE_BYTES, not 1,000 of 1 MiB each. The first slice of a pass
// learns the size from a few jobs, the next ones from what the slice before held.
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { transferQueueSlice, type QueueTransferCursor } from '../../../core/transfer/queue-transfer.js';
import { transferSetSlice, type SetTransferCursor } from '../../../core/transfer/set-transfer.js';
import { jobsWithinBytes, MAX_PAGE_BYTES } from '../../../core/redis/page-bytes.js';
import { MAX_JOBS_PER_CLAIM } from '../../../core/transfer/transfer-options.js';
import { jobEntry, jobsIn } from '../../support/exact-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
/** A large job: 15 of them, with their JSON, fill a page's bytes (MAX_PAGE_BYTES, 1 MiB). */
const LARGE = MAX_PAGE_BYTES / 16;
const big = (i: number) => sidekiqPayload({ className: 'A', queue: 'default', args: `["${String(i).padStart(4, '0')}${'x'.repeat(LARGE)}"]`, jid: `${'0'.repeat(20)}${String(i).padStart(4, '0')}` });
const base = () => ({ source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'bytes', dryRun: false, sliceSize: 1000 });

describe('slices of large jobs', () => {
  it('takes as many jobs as fit in the byte budget, from 1 to the claim cap', () => {
    expect(jobsWithinBytes(700, MAX_JOBS_PER_CLAIM)).toBe(MAX_JOBS_PER_CLAIM);
    expect(jobsWithinBytes(LARGE, MAX_JOBS_PER_CLAIM)).toBe(16);
    expect(jobsWithinBytes(LARGE, 10)).toBe(10);
    expect(jobsWithinBytes(MAX_PAGE_BYTES * 3, MAX_JOBS_PER_CLAIM)).toBe(1);
    expect(jobsWithinBytes(0, MAX_JOBS_PER_CLAIM)).toBe(MAX_JOBS_PER_CLAIM);
    expect(jobsWithinBytes(undefined, 1000)).toBe(1000);
  });

  it('a queue of large jobs moves in slices of at most 16, every job once, in order', async () => {
    const jobs = Array.from({ length: 40 }, (_, i) => big(i));
    for (const job of jobs) await redis.source().lpush('queue:default', job);
    const claimedPerSlice: number[] = [];
    let cursor: QueueTransferCursor | null = null;
    for (;;) {
      const r = await transferQueueSlice({ ...base(), queue: 'default', cursor });
      claimedPerSlice.push(r.counters.claimed);
      cursor = r.cursor;
      if (r.done) break;
    }

    expect(claimedPerSlice).toEqual([15, 15, 10]);
    expect(cursor?.bytesPerJob).toBeGreaterThan(LARGE);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(jobs.slice().reverse());
  });

  it('a set of large entries moves in slices of at most 16, every entry once with its score', async () => {
    const jobs = Array.from({ length: 20 }, (_, i) => big(i));
    for (const [i, job] of jobs.entries()) await redis.source().zadd('retry', 1795459303 + i, job);
    const claimedPerSlice: number[] = [];
    let cursor: SetTransferCursor | null = null;
    for (;;) {
      const r = await transferSetSlice({ ...base(), set: 'retry', cursor });
      claimedPerSlice.push(r.counters.claimed);
      cursor = r.cursor;
      if (r.done) break;
    }

    expect(claimedPerSlice).toEqual([15, 5]);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(jobs.map((job, i) => jobEntry('retry', job, String(1795459303 + i))).sort());
  });

  it('small jobs go MAX_JOBS_PER_CLAIM (1,000) to a slice: a default page is one slice', async () => {
    expect(MAX_JOBS_PER_CLAIM).toBe(1000);
    const small = Array.from({ length: MAX_JOBS_PER_CLAIM + 50 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
    await redis.source().lpush('queue:default', ...small);
    const first = await transferQueueSlice({ ...base(), queue: 'default', cursor: null });
    expect(first.counters.claimed).toBe(MAX_JOBS_PER_CLAIM);
  });
});
