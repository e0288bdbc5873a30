import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PlanOutput } from '../../core/workflow/steps/plan-step.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { switchableProxy } from '../support/switchable-proxy.js';
import { captureOutput, fakeContext, logRecords, type OutputCapture } from './support/lambda-harness.js';
import { coldStart, type LoadedHandlers } from './support/load-handlers.js';
import { viaJson } from './support/run-workflow.js';

/**
 * A Lambda container keeps its Redis connections between invocations (frozen in between), and
 * Step Functions retries a failed task a couple of seconds later, usually on the same warm
 * container. A connection whose path went silent (the node behind the endpoint's name replaced, a
 * middlebox that forgot it: no reset ever comes) still looks open to ioredis: its commands only
 * time out. Kept, it failed every retry the same way, and the item was recorded as failed, while a
 * new connection through the same name would have worked at once.
 */

let server: RedisServerHandle | undefined;
let proxy: Awaited<ReturnType<typeof switchableProxy>> | undefined;
let direct: Redis | undefined;
let h: LoadedHandlers | undefined;
let out: OutputCapture | undefined;

afterEach(async () => {
  out?.stop();
  await h?.connections.close();
  direct?.disconnect();
  await proxy?.close();
  await server?.stop();
  vi.unstubAllEnvs();
});

const job = (i: number) => sidekiqPayload({ className: 'Mapped::Worker', queue: 'old_queue', args: `[${i},"x",{"n":1.0}]` });

async function jobsOn(redis: Redis): Promise<string[]> {
  const jobs: string[] = [];
  for (const key of (await redis.keys('queue:*')).sort()) for (const payload of await redis.lrange(key, 0, -1)) jobs.push(`${key} ${payload}`);
  return jobs.sort();
}

describe('a warm container whose Redis connection went silent', () => {
  it('connects again for the retry of the task that failed on it, and the retry moves every job once', async () => {
    server = await startRedisServer();
    proxy = await switchableProxy({ host: '127.0.0.1', port: server.port });
    direct = new Redis({ port: server.port, host: '127.0.0.1', protocol: 2 });
    const payloads = Array.from({ length: 25 }, (_, i) => job(i));
    await direct.rpush('queue:old_queue', ...payloads);
    await direct.sadd('queues', 'old_queue');
    h = await coldStart({ SIDEKIQ_MIGRATE_SOURCE_URL: proxy.url });
    const plan = viaJson((await h.plan({ runId: 'silent-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { 'Mapped::Worker': 'new_queue' } }, sets: [], pageSize: 10 }, fakeContext())) as PlanOutput);
    const input = { settings: plan.settings, item: plan.work.batch[0] };
    expect(input.item).toMatchObject({ kind: 'queue', name: 'old_queue' });

    proxy.strand();
    out = captureOutput();
    // The first attempt: its commands reach nothing; middy's early timeout ends it as retryable.
    await expect(h.rerouteQueueSlice(viaJson(input), fakeContext(3_000))).rejects.toMatchObject({ name: 'RetryableError' });
    // Step Functions' retry: the same input, on the same warm container.
    const retried = viaJson((await h.rerouteQueueSlice(viaJson(input), fakeContext(20_000))) as WorkItem);
    out.stop();

    expect(retried).toMatchObject({ done: true, counters: { moved: 25 } });
    // The first attempt reached nothing: the counts are exact.
    expect(retried.counters.uncountedAttempts ?? 0).toBe(0);
    expect(await jobsOn(direct)).toEqual(payloads.map((p) => `queue:new_queue ${p.replace('"queue":"old_queue"', '"queue":"new_queue"')}`).sort());
    expect(logRecords(out.records()).map((r) => r['message'])).toContain('queue old_queue: 3 page(s), done');
  }, 60_000);
});
