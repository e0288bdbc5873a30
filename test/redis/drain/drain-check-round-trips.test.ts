// The deployed drain check has 120 s (DRAIN_CHECK_FUNCTION_TIMEOUT_SECONDS) and bounds its looks
// over the keyspace and its reads of sets by shares of that time; its reads of the queues had no
// bound and went one queue at a time, a round trip (LLEN and LINDEX) per queue, and a retired
// queue's arrivals one more round trip per read (a probe of 5, then the rest). A GitLab instance
// with a queue per worker (569 in CE's all_queues.yml, EE adds its own) retiring them all to
// routing rules, its old routing still pushing to them, checked across 50 ms (a source reached
// through a VPN or from another region): 1,000 queues × 3 round trips × 50 ms = 150 s, past the
// function's timeout. Killed, the check says nothing at all (no report, no drain metrics: only the
// function's errors alarm), on every run of its schedule; the CLI's check, with no timeout, printed.
// Here: the same count of round trips at 20 ms against the function's time scaled to it.
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { drainCheckBudget } from '../../../core/drain/check-budget.js';
import { drainCheck } from '../../../core/drain/drain-check.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { DRAIN_CHECK_FUNCTION_TIMEOUT_SECONDS } from '../../../infra/constructs/function-timeouts.js';
import { latencyProxy } from '../../support/latency-proxy.js';
import { privateRedis } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const server = privateRedis();
const keys = new SidekiqKeys('');
const QUEUES = 1_000;
/** Round trip through the proxy, and the one the deployed function's time is scaled from. */
const RTT_MS = 20;
const DEPLOYED_RTT_MS = 50;
let closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
});

describe('the drain check across a slow network, many retired queues', () => {
  it(`reads ${QUEUES} retired queues still receiving jobs within the deployed function's time at a ${DEPLOYED_RTT_MS} ms round trip (scaled to ${RTT_MS} ms)`, async () => {
    const now = Date.now() / 1000;
    const queues = Array.from({ length: QUEUES }, (_, i) => `gitlab_worker_queue_${String(i).padStart(4, '0')}`);
    const seeding = server.client().pipeline();
    for (const [i, queue] of queues.entries()) {
      const job = (n: number, at: number) => sidekiqPayload({ className: `Worker${i}`, queue, args: `[${n}]`, extra: `"enqueued_at":${at}` });
      // One job older than the previous check, then six since (more than the probe of 5 reads).
      seeding.lpush(`queue:${queue}`, job(0, now - 600), ...Array.from({ length: 6 }, (_, n) => job(n + 1, now - 60)));
      seeding.sadd('queues', queue);
    }
    await seeding.exec();
    const url = new URL(server.url());
    const proxy = await latencyProxy({ host: url.hostname, port: Number(url.port) }, RTT_MS / 2);
    closers.push(proxy.close);
    const client = new Redis(proxy.url, { protocol: 2 });
    closers.push(() => client.disconnect());

    const timeoutMs = (DRAIN_CHECK_FUNCTION_TIMEOUT_SECONDS * 1000 * RTT_MS) / DEPLOYED_RTT_MS;
    const started = Date.now();
    const budget = drainCheckBudget(started, timeoutMs);
    const report = await drainCheck(client, keys, { ...budget, retiredQueues: queues, previous: { checkedAt: now - 300, remaining: QUEUES, readyNow: QUEUES } as never, name: 'source' });
    const took = Date.now() - started;
    console.log(`drain check of ${QUEUES} retired queues at ${RTT_MS} ms: ${took} ms of the ${timeoutMs} ms the function would have`);

    expect(took).toBeLessThan(timeoutMs);
    expect(report.queues.map((q) => q.queue)).toEqual([...queues].sort());
    expect(report.queues.every((q) => q.depth === 7 && q.arrivedSinceLastCheck === 6)).toBe(true);
    expect(report.remaining).toBe(7 * QUEUES);
    expect(report.verdict.state).toBe('stuck');
  }, 180_000);
});
