import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { MetricNames } from '../../functions/support/metric-names.js';
import { connectShared, sharedRedisUrl, uniquePrefix } from '../support/redis.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { captureOutput, emfRecords, fakeContext, logRecords, type OutputCapture } from './support/lambda-harness.js';
import { coldStart, type LoadedHandlers } from './support/load-handlers.js';
import { viaJson } from './support/run-workflow.js';

const redis = connectShared();
const keys = new SidekiqKeys(uniquePrefix());
const now = () => Math.floor(Date.now() / 1000);
const queued = (queue: string, enqueuedAt: number) => sidekiqPayload({ className: 'A', queue, args: '["drain-arg-5521"]', extra: `"enqueued_at":${enqueuedAt}.0` });

let h: LoadedHandlers;
let out: OutputCapture | undefined;
beforeAll(async () => {
  h = await coldStart({ SIDEKIQ_MIGRATE_SOURCE_URL: sharedRedisUrl(), SIDEKIQ_MIGRATE_SOURCE_PREFIX: keys.prefix });
});
afterEach(() => out?.stop());
afterAll(async () => {
  await h.connections.close();
  vi.unstubAllEnvs();
});

describe('the drain check handler', () => {
  it('reports what is left and emits it as metrics, then sees the Redis drained', async () => {
    await redis.lpush(keys.queue('old'), queued('old', now() - 60), queued('old', now() - 30), queued('old', now() - 10));
    await redis.lpush(keys.queue('live'), queued('live', now()));
    await heartbeat(redis, keys, 'web:1:aaaaaaaaaaaa', ['live'], { beatAt: now() });
    out = captureOutput();

    const stuck = (await h.drainCheck({}, fakeContext())) as DrainReport;
    await redis.del(keys.queue('old'), keys.queue('live'));
    const drained = (await h.drainCheck({ connection: 'source', previous: viaJson(stuck) }, fakeContext())) as DrainReport;

    out.stop();
    expect(stuck).toMatchObject({ remaining: 4, orphans: { total: 3, queues: ['old'] }, verdict: { state: 'stuck' } });
    expect(drained).toMatchObject({ remaining: 0, verdict: { state: 'drained' } });
    const [first, second] = emfRecords(out.records());
    expect(first).toEqual({
      namespace: 'SidekiqMigrate',
      dimensions: { service: 'sidekiq-migrate', mode: 'drain-check' },
      values: {
        [MetricNames.QueueDepth]: 4,
        [MetricNames.OrphanedJobs]: 3,
        [MetricNames.RemainingJobs]: 4,
        [MetricNames.InflightJobs]: 0,
        [MetricNames.RetiredQueueArrivals]: 0,
        [MetricNames.DrainState]: 2,
      },
    });
    expect(second!.values).toMatchObject({ [MetricNames.QueueDepth]: 0, [MetricNames.RemainingJobs]: 0, [MetricNames.DrainState]: 0 });
    const lines = logRecords(out.records());
    expect(lines.map((r) => r['message'])).toEqual([`${sharedRedisUrl()} is stuck`, `${sharedRedisUrl()} is drained`]);
    expect(out.text()).not.toContain('drain-arg-5521');
  });

  it('counts arrivals on retired queues since the previous check', async () => {
    const since = now() - 100;
    await redis.lpush(keys.queue('retired'), queued('retired', since - 50), queued('retired', since + 20), queued('retired', since + 40));
    await heartbeat(redis, keys, 'web:1:bbbbbbbbbbbb', ['retired'], { beatAt: now() });
    const previous = { checkedAt: since, remaining: 1, readyNow: 1 };
    out = captureOutput();

    const report = (await h.drainCheck({ previous, retiredQueues: ['retired'] }, fakeContext())) as DrainReport;

    out.stop();
    expect(report.verdict.state).toBe('stuck');
    expect(emfRecords(out.records())[0]!.values).toMatchObject({ [MetricNames.RetiredQueueArrivals]: 2, [MetricNames.RemainingJobs]: 3, [MetricNames.DrainState]: 2 });
    await redis.del(keys.queue('retired'));
  });

  it('refuses input it does not know', async () => {
    await expect(h.drainCheck({ connection: 'source', retired: ['x'] }, fakeContext())).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('unknown option(s) input.retired') });
    await expect(h.drainCheck({ previous: { remaining: 'many' } }, fakeContext())).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('input.previous.checkedAt') });
    await expect(h.drainCheck({ connection: 'elsewhere' }, fakeContext())).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('SIDEKIQ_MIGRATE_ELSEWHERE_URL') });
  });
});
