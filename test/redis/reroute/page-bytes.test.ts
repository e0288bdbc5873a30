// Large payloads: a re-route page (a set's ZSCAN, a queue's LRANGE) takes as many jobs as fit in
// MAX_PAGE_BYTES, never more than the page size and never fewer than one. The first page of a
// set or queue learns the size from a few jobs, the next ones from the page before (its cursor).
import { describe, expect, it } from 'vitest';
import { drivePages } from '../../../core/reroute/drive-pages.js';
import { rerouteQueueSlice, type Placement, type QueueCursor } from '../../../core/reroute/queue-slice.js';
import { rerouteSet, rerouteSetPage } from '../../../core/reroute/set-page.js';
import { MAX_PAGE_BYTES } from '../../../core/redis/page-bytes.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { jobDigestEntry, jobDigestsIn, withQueue } from '../../support/exact-jobs.js';
import { privateRedis } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const server = privateRedis();
const keys = new SidekiqKeys('');
const plan = classRoutingPlan(new Map([['A', 'new']]));
/** A large job: 15 of them, with their JSON, fill a page's bytes (MAX_PAGE_BYTES, 1 MiB). */
const LARGE = MAX_PAGE_BYTES / 16;
const big = (i: number) => sidekiqPayload({ className: 'A', queue: 'old', args: `["${String(i).padStart(4, '0')}${'x'.repeat(LARGE)}"]` });
const small = (i: number) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` });

async function enqueue(payloads: string[]): Promise<void> {
  const redis = server.client();
  const pipeline = redis.pipeline().sadd('queues', 'old');
  for (const payload of payloads) pipeline.lpush('queue:old', payload);
  await pipeline.exec();
}

/** The queue's slices, as their `scanned` counts. */
async function sliceQueue(sliceSize: number, o: { placement?: Placement; dryRun?: boolean } = {}): Promise<number[]> {
  const slices: number[] = [];
  await drivePages(
    (cursor) => rerouteQueueSlice({ redis: server.client(), keys, plan, queue: 'old', cursor, sliceSize, placement: o.placement, dryRun: o.dryRun ?? false }),
    null as QueueCursor | null,
    { onPage: (page) => void slices.push((page.counters as { scanned: number }).scanned) },
  );
  return slices;
}

describe('re-route pages of large jobs', () => {
  it.each(['front', 'append'] as const)('a queue of large jobs (%s): slices of 15, every job once, in order', async (placement) => {
    const jobs = Array.from({ length: 17 }, (_, i) => big(i));
    await enqueue(jobs);

    expect(await sliceQueue(1000, { placement, dryRun: true })).toEqual([15, 2]);
    expect(await sliceQueue(1000, { placement })).toEqual([15, 2]);

    const moved = (await server.client().lrangeBuffer('queue:new', 0, -1)).map((b) => b.toString());
    expect(moved).toEqual(jobs.slice().reverse().map((job) => withQueue(job, 'old', 'new')));
    expect(await server.client().exists('queue:old')).toBe(0);
  });

  it('never more than the page size, never fewer than one job', async () => {
    await enqueue(Array.from({ length: 6 }, (_, i) => big(i)));
    expect(await sliceQueue(4)).toEqual([4, 2]);

    const huge = sidekiqPayload({ className: 'A', queue: 'old', args: `["${'x'.repeat(MAX_PAGE_BYTES)}"]` });
    await enqueue([huge, small(1)]);
    // The probe at the head sees both (their mean is just over half a page): 1 a slice.
    expect(await sliceQueue(1000)).toEqual([1, 1]);
  });

  it('small jobs still go a page size to a page', async () => {
    await enqueue(Array.from({ length: 300 }, (_, i) => small(i)));
    expect(await sliceQueue(1000)).toEqual([300]);
    for (let i = 0; i < 300; i++) await server.client().zadd('retry', 1795459303 + i, small(i));
    const pages: number[] = [];
    await rerouteSet({ redis: server.client(), keys, plan, set: 'retry', count: 1000, dryRun: false, onPage: (p) => void pages.push((p.counters as { moved: number }).moved) });
    expect(pages).toEqual([300]);
  });

  it('a set of large entries: pages of about 15, every entry once with its score; the size travels in the cursor', async () => {
    const jobs = Array.from({ length: 24 }, (_, i) => big(i));
    for (const [i, job] of jobs.entries()) await server.client().zadd('schedule', 1795459303 + i, job);
    const request = { redis: server.client(), keys, plan, set: 'schedule' as const, count: 1000, dryRun: false };

    // A bare ZSCAN cursor (a run planned before pages were bounded by bytes) probes the size first.
    const first = await rerouteSetPage({ ...request, cursor: '0' });
    expect(first.cursor.bytesPerJob).toBeGreaterThan(LARGE);
    expect(first.counters.moved).toBeGreaterThan(0);
    expect(first.counters.moved).toBeLessThanOrEqual(20);
    const pages: number[] = [first.counters.moved];
    const rest = await rerouteSet({ ...request, cursor: first.cursor, onPage: (p) => void pages.push((p.counters as { moved: number }).moved) });

    expect(rest.done).toBe(true);
    expect(pages.reduce((a, b) => a + b, 0)).toBe(24);
    expect(pages.length).toBeGreaterThanOrEqual(2);
    for (const moved of pages) expect(moved).toBeLessThanOrEqual(20);
    expect(await jobDigestsIn(server.client())).toEqual(jobs.map((job, i) => jobDigestEntry('schedule', withQueue(job, 'old', 'new'), String(1795459303 + i))).sort());
  });
});
