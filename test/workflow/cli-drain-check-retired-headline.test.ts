import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { privateRedis } from '../support/private-redis.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

// Scoped with --retired-queues, the headline's count is the retired queues' only (their lists, the
// schedule and retry entries naming them, workers' lists taken from them). The line said
// "DRAINED — 0 job(s) left" as the unscoped check does, over a Redis whose other queues held
// thousands: read alone (an alert, a grep), it said the Redis was empty.
const redis = privateRedis();
const job = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: `00000000000000000000000${i}` });

describe('drain-check --retired-queues: the headline says whose count it is', { timeout: 180_000 }, () => {
  it('0 left on the 2 retired queues while another queue holds 3 jobs: DRAINED, saying the count is the retired queues\' only; exit 0', async () => {
    const client = redis.client();
    await client.rpush('queue:live', job('live', 1), job('live', 2), job('live', 3));
    await client.sadd('queues', 'live', 'old');
    await heartbeat(client, new SidekiqKeys(''), 'host:1:abc', ['live', 'old'], { beatAt: Date.now() / 1000 });

    const { code, stdout } = await runCli('drain-check', '--redis', redis.url(), '--retired-queues', 'old,older');

    expect(stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left of the 2 retired queue\(s\) only \(jobs of other queues are not counted\)\n/);
    expect(code).toBe(0);
  });

  it('1 left on the retired queue: DRAINING, the same words; unscoped, the count is the whole prefix\'s, without them', async () => {
    const client = redis.client();
    await client.rpush('queue:live', job('live', 1), job('live', 2));
    await client.rpush('queue:old', job('old', 3));
    await client.sadd('queues', 'live', 'old');
    await heartbeat(client, new SidekiqKeys(''), 'host:1:abc', ['live', 'old'], { beatAt: Date.now() / 1000 });

    const scoped = await runCli('drain-check', '--redis', redis.url(), '--retired-queues', 'old');
    const whole = await runCli('drain-check', '--redis', redis.url());

    expect(scoped.stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINING — 1 job\(s\) left of the 1 retired queue\(s\) only \(jobs of other queues are not counted\)\n/);
    expect(scoped.code).toBe(0);
    expect(whole.stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINING — 3 job\(s\) left\n/);
    expect(whole.code).toBe(0);
  });

  it('with a job in quarantine (counted whatever its queue): the words say so; STUCK, exit 3', async () => {
    const client = redis.client();
    await client.rpush('queue:live', job('live', 1));
    await client.rpush('sidekiq-migrate:quarantine:live', job('live', 2));
    await client.sadd('queues', 'live');
    await heartbeat(client, new SidekiqKeys(''), 'host:1:abc', ['live'], { beatAt: Date.now() / 1000 });

    const { code, stdout } = await runCli('drain-check', '--redis', redis.url(), '--retired-queues', 'old');

    expect(stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: STUCK — 1 job\(s\) left of the 1 retired queue\(s\) only \(jobs of other queues are not counted, save those in flight or quarantined\)\n/);
    expect(code).toBe(3);
  });
});
