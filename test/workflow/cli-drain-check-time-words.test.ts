import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { privateRedis } from '../support/private-redis.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

// What a drain check's reasons say of time, as an operator reads them. A retry due tomorrow was
// "the last in 86301 s", and two checks a second apart said "1 → 1 job(s) ready to run in 1 s",
// which reads as "they will be ready to run in a second" rather than "between the two checks".
const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-drain-check-time-words-'));
const job = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: `00000000000000000000000${i}` });

describe('drain-check: the times in its reasons', { timeout: 180_000 }, () => {
  it('a scheduled job due in a day: "the last in 24.0 h", not in seconds; DRAINING, exit 0', async () => {
    const client = redis.client();
    await client.zadd('schedule', Date.now() / 1000 + 86_400, job('live', 1));
    await client.sadd('queues', 'live');
    await heartbeat(client, new SidekiqKeys(''), 'host:1:abc', ['live'], { beatAt: Date.now() / 1000 });

    const { code, stdout } = await runCli('drain-check', '--redis', redis.url());

    expect(stdout).toContain('\n  - 1 scheduled or retrying job(s) come due later, the last in 24.0 h\n');
    expect(code).toBe(0);
  });

  it('no progress between two checks: says how far apart they were, not that the jobs are ready "in" that time; STUCK, exit 0', async () => {
    const client = redis.client();
    await client.rpush('queue:live', job('live', 1), job('live', 2));
    await client.sadd('queues', 'live');
    await heartbeat(client, new SidekiqKeys(''), 'host:1:abc', ['live'], { beatAt: Date.now() / 1000 });
    const first = join(dir, 'first.json');

    await runCli('drain-check', '--redis', redis.url(), '--save', first);
    const { code, stdout } = await runCli('drain-check', '--redis', redis.url(), '--previous', first);

    expect(stdout).toMatch(/\n {2}- no progress since the previous check, \d+ s ago: 2 → 2 job\(s\) ready to run\n/);
    expect(stdout).not.toContain('ready to run in');
    expect(code).toBe(0);
  });
});
