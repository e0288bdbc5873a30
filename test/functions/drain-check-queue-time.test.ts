import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { drainExitCode } from '../../cli/commands/drain-check-command.js';
import { renderDrainReport } from '../../cli/workflow/render-drain-report.js';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { latencyProxy } from '../support/latency-proxy.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { floatSeconds, sidekiqPayload } from '../support/sidekiq-jobs.js';
import { commandClock } from '../support/command-clock.js';
import { fakeContext } from './support/lambda-harness.js';
import { coldStart, type LoadedHandlers } from './support/load-handlers.js';
import { viaJson } from './support/run-workflow.js';

// The deployed drain check bounded its looks over the keyspace and its reads of set entries by
// its invocation's time, but not its reads of the queues: across a slow network, queues of large
// jobs (read a window of one queue each, queue-windows.ts) outlasted the invocation, and the
// function failed on its timeout: no report, no drain metrics, on every run of its schedule. The
// queues are now read for three eighths of its time (check-budget.ts); what is not read is named,
// never drained. Here the container reaches its Redis through a 40 ms proxy, and time is the round
// trips the check makes (commandClock, each 500 ms: a slow network, large jobs), 60 s left: the
// queues' three eighths end after 45 round trips, and 200 queues of such jobs take 200 (one a window).
const ONE_WAY_MS = 20;
const QUEUES = 200;
const queueName = (i: number) => `worker_queue_${String(i).padStart(4, '0')}`;
let server: RedisServerHandle;
let seed: Redis;
let proxy: { url: string; close: () => Promise<void> };
let h: LoadedHandlers;

beforeAll(async () => {
  server = await startRedisServer([]);
  seed = new Redis(server.url, { protocol: 2 });
  const url = new URL(server.url);
  proxy = await latencyProxy({ host: url.hostname, port: Number(url.port) }, ONE_WAY_MS);
  h = await coldStart({ SIDEKIQ_MIGRATE_SOURCE_URL: proxy.url });
});
afterAll(async () => {
  await h?.connections.close();
  vi.unstubAllEnvs();
  seed?.disconnect();
  await proxy?.close();
  await server?.stop();
});

describe('the drain check handler across a slow network, 200 queues of 128 KB jobs, 60 s (120 round trips) left', { timeout: 120_000 }, () => {
  it('answers in time, naming the queues it did not read: not drained, stuck on the orphans it read; with time, every queue', async () => {
    const queues = Array.from({ length: QUEUES }, (_, i) => queueName(i));
    const seeding = seed.pipeline();
    for (const queue of queues) {
      seeding.sadd('queues', queue);
      seeding.lpush(`queue:${queue}`, sidekiqPayload({ className: 'Big', queue, args: `["${'x'.repeat(128 * 1024)}"]`, extra: `"enqueued_at":${floatSeconds(Date.now() / 1000 - 60)}` }));
    }
    await seeding.exec();

    const { redis: checked } = await h.connections.get('source');
    const clock = commandClock([checked], 500, { perRoundTrip: true });
    let took: number;
    let report: DrainReport;
    try {
      const started = Date.now();
      report = viaJson((await h.drainCheck({ remember: false }, fakeContext(60_000))) as DrainReport);
      took = Date.now() - started;
    } finally {
      clock.stop();
    }
    const whole = viaJson((await h.drainCheck({ remember: false }, fakeContext())) as DrainReport);

    // Within its time (120 round trips); the queues read in their three eighths (45 round trips, a queue each).
    expect(took, `${took / 500} round trips`).toBeLessThanOrEqual(60_000);
    expect(clock.sent('llen')).toBeLessThanOrEqual(45);
    const read = report.queues.map((q) => q.queue);
    expect(read.length).toBeGreaterThan(0);
    expect(read.length).toBe(clock.sent('llen'));
    expect(read).toEqual(queues.slice(0, read.length));
    expect(report.queuesCutShort).toEqual({ read: read.length, queues: QUEUES, unread: queues.slice(read.length, read.length + 100) });
    expect(report.remaining).toBe(read.length);
    expect(report.verdict.state).toBe('stuck');
    const out = renderDrainReport(report);
    expect(out.split('\n')[0]).toBe(`${report.redis}: STUCK — at least ${read.length} job(s) left`);
    expect(out).toContain(`\n  - at least ${read.length} job(s) will never run as things stand (queues nobody listens to: ${read.length > 10 ? `${read.slice(0, 10).join(', ')}, … and ${read.length - 10} more` : read.join(', ')})\n`);
    expect(out).toContain(`\n  - queues not all read: the check's time ran out after ${read.length} of the 200 queues; ${QUEUES - read.length} not read (${queues.slice(read.length, read.length + 10).join(', ')}, … and ${QUEUES - read.length - 10} more): their jobs are not counted, so this is not a verdict of drained\n`);
    expect(drainExitCode(report)).toBe(3);

    expect(whole.queues.map((q) => [q.queue, q.depth])).toEqual(queues.map((q) => [q, 1]));
    expect(whole.queuesCutShort).toBeUndefined();
    expect(whole.remaining).toBe(QUEUES);
    expect(renderDrainReport(whole)).not.toContain('not all read');
  });
});
