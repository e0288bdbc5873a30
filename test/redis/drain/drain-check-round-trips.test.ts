// The deployed drain check has 120 s (DRAIN_CHECK_FUNCTION_TIMEOUT_SECONDS) and bounds its looks
// over the keyspace and its reads of sets by shares of that time; its reads of the queues had no
// bound and went one queue at a time, a round trip (LLEN and LINDEX) per queue, and a retired
// queue's arrivals one more round trip per read (a probe of 5, then the rest). A GitLab instance
// with a queue per worker (569 in CE's all_queues.yml, EE adds its own) retiring them all to
// routing rules, its old routing still pushing to them, checked across 50 ms (a source reached
// through a VPN or from another region): 1,000 queues × 3 round trips × 50 ms = 150 s, past the
// function's timeout. Killed, the check says nothing at all (no report, no drain metrics: only the
// function's errors alarm), on every run of its schedule; the CLI's check, with no timeout, printed.
// Here: the round trips the check makes, each 50 ms on a clock that moves only with them
// (commandClock), against the function's 120 s: the same anywhere, however loaded the machine.
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { drainCheckBudget } from '../../../core/drain/check-budget.js';
import { drainCheck } from '../../../core/drain/drain-check.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { DRAIN_CHECK_FUNCTION_TIMEOUT_SECONDS } from '../../../infra/constructs/function-timeouts.js';
import { commandClock } from '../../support/command-clock.js';
import { privateRedis } from '../../support/private-redis.js';
import { floatSeconds, sidekiqPayload } from '../../support/sidekiq-jobs.js';

const server = privateRedis();
const keys = new SidekiqKeys('');
const QUEUES = 1_000;
/** A round trip to a source behind a VPN or in another region. */
const RTT_MS = 50;
let closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
});

describe('the drain check across a slow network, many retired queues', () => {
  it(`reads ${QUEUES} retired queues still receiving jobs within the deployed function's time at a ${RTT_MS} ms round trip`, async () => {
    const now = Date.now() / 1000;
    const queues = Array.from({ length: QUEUES }, (_, i) => `gitlab_worker_queue_${String(i).padStart(4, '0')}`);
    const seeding = server.client().pipeline();
    for (const [i, queue] of queues.entries()) {
      const job = (n: number, at: number) => sidekiqPayload({ className: `Worker${i}`, queue, args: `[${n}]`, extra: `"enqueued_at":${floatSeconds(at)}` });
      // One job older than the previous check, then six since (more than the probe of 5 reads).
      seeding.lpush(`queue:${queue}`, job(0, now - 600), ...Array.from({ length: 6 }, (_, n) => job(n + 1, now - 60)));
      seeding.sadd('queues', queue);
    }
    await seeding.exec();
    const client = new Redis(server.url(), { protocol: 2 });
    closers.push(() => client.disconnect());
    await client.ping();

    const timeoutMs = DRAIN_CHECK_FUNCTION_TIMEOUT_SECONDS * 1000;
    const clock = commandClock([client], RTT_MS, { perRoundTrip: true });
    closers.push(() => clock.stop());
    const started = Date.now();
    const budget = drainCheckBudget(started, timeoutMs);
    const report = await drainCheck(client, keys, { ...budget, retiredQueues: queues, previous: { checkedAt: now - 300, remaining: QUEUES, readyNow: QUEUES } as never, name: 'source' });
    const took = Date.now() - started;
    clock.stop();

    expect(took, `${took / RTT_MS} round trips`).toBeLessThan(timeoutMs);
    expect(report.queuesCutShort).toBeUndefined();
    expect(report.queues.map((q) => q.queue)).toEqual([...queues].sort());
    expect(report.queues.every((q) => q.depth === 7 && q.arrivedSinceLastCheck === 6)).toBe(true);
    expect(report.remaining).toBe(7 * QUEUES);
    expect(report.verdict.state).toBe('stuck');
  }, 180_000);
});
