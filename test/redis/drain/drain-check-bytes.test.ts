// Large payloads (GitLab's size limiter lets them through unless told to reject them): the drain
// check reads a set's entries and a retired queue's newest jobs in reads of about MAX_PAGE_BYTES,
// not 1,000 at once (1,000 jobs of 2 MB are 2 GB; the deployed check has 512 MB and runs every
// few minutes), and still counts every one of them exactly.
import { describe, expect, it } from 'vitest';
import { drainCheck } from '../../../core/drain/drain-check.js';
import { MAX_PAGE_BYTES } from '../../../core/redis/page-bytes.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { recordJobReads } from '../../support/job-reads.js';
import { privateRedis } from '../../support/private-redis.js';
import { heartbeat } from '../../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const server = privateRedis();
const keys = new SidekiqKeys('');
const NOW = 1_795_459_303;
const at = (seconds: number) => () => seconds * 1000;
/** A large job: 15 of them, with their JSON, fill a page's bytes (MAX_PAGE_BYTES, 1 MiB). */
const LARGE = MAX_PAGE_BYTES / 16;
const big = (i: number, queue: string, enqueuedAt = NOW) =>
  sidekiqPayload({ className: 'A', queue, args: `["${String(i).padStart(4, '0')}${'x'.repeat(LARGE)}"]`, extra: `"enqueued_at":${enqueuedAt}.0` });
const small = (i: number, queue: string, enqueuedAt = NOW) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, extra: `"enqueued_at":${enqueuedAt}.0` });

/** A client of its own whose reads of jobs are recorded. */
function recordedClient() {
  const client = server.client().duplicate();
  return { client, reads: recordJobReads(client) };
}

describe('the drain check on large jobs (a sixteenth of a page each)', () => {
  it('counts every entry of a set exactly, in ZSCAN pages of about 15 entries, not one page of all of them', async () => {
    const seeding = server.client().pipeline();
    // 40 in schedule bound for a queue nobody listens to, 30 in retry for one somebody does (30: a
    // ZSCAN COUNT of 15 returns the rest of its last bucket, and could take 16 or so at once).
    for (let i = 0; i < 40; i++) seeding.zadd('schedule', String(NOW + 600 + i), big(i, 'orphan'));
    for (let i = 0; i < 30; i++) seeding.zadd('retry', String(NOW + 600 + i), big(100 + i, 'live'));
    await seeding.exec();
    await heartbeat(server.client(), keys, 'w:1:aaaaaaaaaaaa', ['live'], { beatAt: NOW });
    const { client, reads } = recordedClient();

    const report = await drainCheck(client, keys, { now: at(NOW) });
    client.disconnect();

    expect(report.sets.schedule).toMatchObject({ total: 40, orphaned: 40, orphanedEstimated: false });
    expect(report.sets.retry).toMatchObject({ total: 30, orphaned: 0, orphanedEstimated: false });
    expect(report.orphans.scheduled).toBe(40);
    const scans = reads.filter((r) => r.command === 'zscan');
    // Each set scanned in several pages (ZSCAN may return a few more than its COUNT of 15).
    expect(scans.filter((r) => r.key === 'schedule').length).toBeGreaterThanOrEqual(3);
    expect(scans.filter((r) => r.key === 'retry').length).toBeGreaterThanOrEqual(2);
    for (const scan of scans) expect(scan.jobs).toBeLessThanOrEqual(20);
    // Every other read of jobs (the probes of a few entries, the newest due) stays within the bytes.
    for (const read of reads) expect(read.bytes).toBeLessThanOrEqual(20 * (LARGE + 200));
  });

  it("counts a retired queue's arrivals exactly, in reads within MAX_PAGE_BYTES, stopping at the first older job", async () => {
    await heartbeat(server.client(), keys, 'w:1:aaaaaaaaaaaa', ['old'], { beatAt: NOW });
    // 3 jobs before the previous check (the oldest), then 35 since.
    for (let i = 0; i < 3; i++) await server.client().lpush('queue:old', big(i, 'old', NOW - 100));
    await server.client().sadd('queues', 'old');
    const first = await drainCheck(server.client(), keys, { now: at(NOW - 60), retiredQueues: ['old'] });
    const seeding = server.client().pipeline();
    for (let i = 0; i < 35; i++) seeding.lpush('queue:old', big(10 + i, 'old', NOW - 30));
    await seeding.exec();
    const { client, reads } = recordedClient();

    const second = await drainCheck(client, keys, { now: at(NOW), previous: first, retiredQueues: ['old'] });
    client.disconnect();

    expect(second.queues.find((q) => q.queue === 'old')).toMatchObject({ depth: 38, arrivedSinceLastCheck: 35 });
    const ranges = reads.filter((r) => r.command === 'lrange' && r.key === 'queue:old');
    // The probe of 5, then 15 and 15: the 35 arrivals; then the 3 older jobs, the first of which
    // ends the count.
    expect(ranges.map((r) => r.jobs)).toEqual([5, 15, 15, 3]);
    for (const read of ranges) expect(read.bytes).toBeLessThanOrEqual(MAX_PAGE_BYTES);
  });

  it('small jobs: ZSCAN calls of up to 200 (each call short for Redis), and arrivals read in two', async () => {
    await heartbeat(server.client(), keys, 'w:1:aaaaaaaaaaaa', ['old'], { beatAt: NOW });
    await server.client().sadd('queues', 'old');
    await server.client().lpush('queue:old', small(0, 'old', NOW - 100));
    const first = await drainCheck(server.client(), keys, { now: at(NOW - 60), retiredQueues: ['old'] });
    const seeding = server.client().pipeline();
    for (let i = 0; i < 300; i++) seeding.zadd('schedule', String(NOW + 600 + i), small(i, 'orphan'));
    for (let i = 0; i < 300; i++) seeding.lpush('queue:old', small(i, 'old', NOW - 30));
    await seeding.exec();
    const { client, reads } = recordedClient();

    const second = await drainCheck(client, keys, { now: at(NOW), previous: first, retiredQueues: ['old'] });
    client.disconnect();

    expect(second.sets.schedule).toMatchObject({ total: 300, orphaned: 300, orphanedEstimated: false });
    expect(second.queues.find((q) => q.queue === 'old')).toMatchObject({ depth: 301, arrivedSinceLastCheck: 300 });
    // Calls of a COUNT of 200: each returns about that many (ZSCAN may return the rest of its last
    // bucket: 201 and 99 were seen), all 300 in two calls, never one call of all of them.
    const scans = reads.filter((r) => r.command === 'zscan' && r.key === 'schedule').map((r) => r.jobs);
    expect(scans).toHaveLength(2);
    expect(scans.reduce((a, b) => a + b, 0)).toBe(300);
    for (const jobs of scans) expect(jobs).toBeLessThanOrEqual(210);
    expect(reads.filter((r) => r.command === 'lrange' && r.key === 'queue:old').map((r) => r.jobs)).toEqual([5, 296]);
  });
});
