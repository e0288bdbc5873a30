// Large payloads (GitLab's size limiter lets them through unless told to reject them): a re-route
// page takes as many jobs as fit in MAX_PAGE_BYTES, not the run's page size (1,000 by default) of
// jobs of 1 MiB each, which a 1 GB Lambda cannot hold. `run` through the state machine, as the CLI
// runs it, one page per task, so that each task's output shows what its page did.
import { afterEach, describe, expect, it } from 'vitest';
import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { PageInput, WorkItem } from '../../core/workflow/work-item.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { jobDigestEntry, jobDigestsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { MAX_PAGE_BYTES } from '../../core/redis/page-bytes.js';

const redis = privateSourceAndTarget();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
});

/** A large job: 15 of them, with their JSON, fill a page's bytes (MAX_PAGE_BYTES, 1 MiB). */
const LARGE = MAX_PAGE_BYTES / 16;
const big = (i: number) => sidekiqPayload({ className: 'A', queue: 'old', args: `["${String(i).padStart(4, '0')}${'x'.repeat(LARGE)}"]` });

describe('a re-route of large jobs', () => {
  it('pages by bytes: every job once, bytes kept but the queue value, and no page near the page size', async () => {
    const source = redis.source();
    const seeded: string[] = [];
    const rerouted: string[] = [];
    const seeding = source.pipeline();
    for (let i = 0; i < 24; i++) {
      const payload = big(i);
      seeding.zadd('schedule', String(2e9 + i), payload);
      seeded.push(jobDigestEntry('schedule', payload, String(2e9 + i)));
      rerouted.push(jobDigestEntry('schedule', withQueue(payload, 'old', 'new'), String(2e9 + i)));
    }
    for (let i = 100; i < 120; i++) {
      const payload = big(i);
      seeding.lpush('queue:old', payload);
      seeded.push(jobDigestEntry('queue:old', payload));
      rerouted.push(jobDigestEntry('queue:new', withQueue(payload, 'old', 'new')));
    }
    await seeding.sadd('queues', 'old').exec();
    expect(await jobDigestsIn(source)).toEqual(seeded.sort());

    // What each page task did: its page's counters, and the cursor it hands on.
    const pages: { kind: string; moved: number; scanned: number; cursor: unknown }[] = [];
    const handlers = localTaskHandlers((connections = new UrlConnections({ source: { url: redis.urls().source } })));
    const watched = (handler: (input: unknown) => Promise<unknown>) => async (input: unknown) => {
      const before = (input as PageInput).item.counters as RerouteCounters;
      const after = (await handler(input)) as WorkItem;
      const counters = after.counters as RerouteCounters;
      pages.push({ kind: after.kind, moved: counters.moved - before.moved, scanned: counters.scanned - before.scanned, cursor: after.cursor });
      return after;
    };
    const input = { runId: 'big-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, sets: ['schedule'], pagesPerInvocation: 1 };
    const [execution] = await runWorkflowLocally(input, { ...handlers, rerouteSetPage: watched(handlers.rerouteSetPage), rerouteQueueSlice: watched(handlers.rerouteQueueSlice) }, { retryIntervalMs: 0 });

    const summary = execution!.output as RunSummary;
    expect(summary).toMatchObject({ complete: true, failures: [], totals: { moved: 44, vanished: 0, conflicts: 0 } });
    expect(await jobDigestsIn(source)).toEqual(rerouted.sort());

    // A page's bytes of jobs of a sixteenth of it and a few bytes: 15 a page, where the page size (1,000) would take
    // them all at once. A queue slice takes exactly that many; a ZSCAN may return a few more than
    // its COUNT (a bucket's whole chain), so a set page is bounded only roughly.
    const setPages = pages.filter((p) => p.kind === 'set');
    const queuePages = pages.filter((p) => p.kind === 'queue');
    expect(queuePages.map((p) => p.scanned)).toEqual([15, 5]);
    expect(setPages.reduce((n, p) => n + p.moved, 0)).toBe(24);
    expect(setPages.length).toBeGreaterThanOrEqual(2);
    for (const page of setPages) expect(page.moved).toBeLessThanOrEqual(20);
    // The size travels in the cursor, which stays small (the state machine's limit is 256 KiB).
    for (const page of pages) {
      expect(page.cursor).toMatchObject({ bytesPerJob: expect.any(Number) });
      expect((page.cursor as { bytesPerJob: number }).bytesPerJob).toBeGreaterThan(LARGE);
      expect(JSON.stringify(page.cursor).length).toBeLessThan(200);
    }
  }, 60_000);
});
