// Large payloads: the count of a selection's jobs (`move --classes`'s plan, `drain-check
// --classes`) reads within MAX_PAGE_BYTES per round trip, not 8 pages of 1,000 jobs at once (8,000
// jobs of 2 MB are 16 GB), and still counts every job of every class exactly.
import { describe, expect, it } from 'vitest';
import { MAX_PAGE_BYTES } from '../../../core/redis/page-bytes.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { countSelectedJobs } from '../../../core/selection/count-selected-jobs.js';
import { recordJobReads } from '../../support/job-reads.js';
import { privateRedis } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const server = privateRedis();
const keys = new SidekiqKeys('');
/** A large job: 15 of them, with their JSON, fill a page's bytes (MAX_PAGE_BYTES, 1 MiB). */
const LARGE = MAX_PAGE_BYTES / 16;
const big = (i: number, className: string) => sidekiqPayload({ className, queue: 'default', args: `["${String(i).padStart(4, '0')}${'x'.repeat(LARGE)}"]` });
const WORKING = 'working:queue:default:web-1:11:0a1b2c';

describe('counting large selected jobs', () => {
  it('every job counted once per class and key, no round trip carrying more than a page of bytes', async () => {
    const seeding = server.client().pipeline().sadd('queues', 'default');
    // Queue: 40 jobs, A B C A B C…; schedule: 20 of A; a fetcher's list: 3 of B.
    for (let i = 0; i < 40; i++) seeding.lpush('queue:default', big(i, 'ABC'[i % 3]!));
    for (let i = 0; i < 20; i++) seeding.zadd('schedule', String(2e9 + i), big(100 + i, 'A'));
    for (let i = 0; i < 3; i++) seeding.lpush(WORKING, big(200 + i, 'B'));
    await seeding.exec();
    const client = server.client().duplicate();
    const reads = recordJobReads(client);

    const counts = await countSelectedJobs(client, keys, { classes: ['A', 'B'], sets: ['schedule', 'retry', 'dead'], queues: true, lists: [WORKING] });
    client.disconnect();

    expect(counts.selected).toBe(14 + 13 + 20 + 3);
    expect(counts.examined).toBe(40 + 20 + 3);
    expect(Object.fromEntries([...counts.byClass].map(([c, m]) => [c, Object.fromEntries(m)]))).toEqual({
      A: { 'queue:default': 14, schedule: 20 },
      B: { 'queue:default': 13, [WORKING]: 3 },
    });
    // A probe of 5, then 15 at a time (one page a round trip: a page's bytes, of jobs of a sixteenth of it and a bit).
    expect(reads.filter((r) => r.key === 'queue:default').map((r) => r.jobs)).toEqual([5, 15, 15, 5]);
    expect(reads.filter((r) => r.key === 'schedule').map((r) => r.jobs)).toEqual([5, 15, 0]);
    expect(reads.filter((r) => r.key === WORKING).map((r) => r.jobs)).toEqual([3]);
    for (const read of reads) expect(read.bytes).toBeLessThanOrEqual(MAX_PAGE_BYTES);
  });

  it('small jobs: still up to 8 pages of 1,000 a round trip', async () => {
    const seeding = server.client().pipeline().sadd('queues', 'default');
    for (let i = 0; i < 9000; i++) seeding.rpush('queue:default', sidekiqPayload({ className: i % 2 ? 'A' : 'B', args: `[${i}]` }));
    await seeding.exec();
    const client = server.client().duplicate();
    const reads = recordJobReads(client);

    const counts = await countSelectedJobs(client, keys, { classes: ['A'], sets: [], queues: true });
    client.disconnect();

    expect(counts).toMatchObject({ selected: 4500, examined: 9000 });
    // The probe, a round trip of 8 pages of 1,000, and one more whose first page is short.
    expect(reads.map((r) => r.jobs)).toEqual([5, ...Array<number>(8).fill(1000), 995, ...Array<number>(7).fill(0)]);
  });
});
