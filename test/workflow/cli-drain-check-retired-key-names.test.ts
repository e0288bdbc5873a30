import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { privateRedis } from '../support/private-redis.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

// `--retired-queues` takes queue names. Given a key name instead (`queue:old`, or
// `resque:gitlab:queue:old`), the check was scoped to a queue this Redis never had: "DRAINED — 0
// job(s) left", exit 0, while the retired queue `old` still held jobs (a live process listening to
// it, so nothing else was wrong). `run --rename queue:old=new` names the same slip; so does the check
// now, before counting, exit 2.
const redis = privateRedis();
const job = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: `00000000000000000000000${i}` });

describe('drain-check --retired-queues given key names', { timeout: 180_000 }, () => {
  it('queue:old, while queue old holds 2 jobs: exit 2 naming the slip, never DRAINED', async () => {
    const client = redis.client();
    await client.rpush('queue:old', job('old', 1), job('old', 2));
    await client.sadd('queues', 'old');
    await heartbeat(client, new SidekiqKeys(''), 'host:1:abc', ['old'], { beatAt: Date.now() / 1000 });

    const { code, stdout, stderr } = await runCli('drain-check', '--redis', redis.url(), '--retired-queues', 'queue:old');

    expect(stdout).not.toContain('DRAINED');
    expect(stderr).toBe(
      'Retired queue "queue:old": this Redis has no queue of that name (no list, and not in its set of queues), but has a queue "old": give queue names, not keys (no "queue:" in front). Nothing was counted.\n',
    );
    expect(code).toBe(2);
    // The queue name itself is counted as ever: 2 jobs, a live listener, draining.
    const right = await runCli('drain-check', '--redis', redis.url(), '--retired-queues', 'old');
    expect(right.stdout).toContain('2 job(s) left');
    expect(right.stdout).not.toContain('DRAINED');
  });

  it('under --namespace, the whole key resque:gitlab:queue:old is named the same way', async () => {
    const client = redis.client();
    await client.rpush('resque:gitlab:queue:old', job('old', 1));
    await client.sadd('resque:gitlab:queues', 'old');
    await heartbeat(client, new SidekiqKeys('resque:gitlab:'), 'host:1:abc', ['old'], { beatAt: Date.now() / 1000 });

    const { code, stdout, stderr } = await runCli('drain-check', '--redis', redis.url(), '--namespace', 'resque:gitlab', '--retired-queues', 'resque:gitlab:queue:old');

    expect(stdout).not.toContain('DRAINED');
    expect(stderr).toContain('Retired queue "resque:gitlab:queue:old": this Redis has no queue of that name');
    expect(stderr).toContain('but has a queue "old"');
    expect(code).toBe(2);
  });

  it('a retired queue this Redis never had, with no queue of its name without "queue:", is counted as before (GitLab retires many never used)', async () => {
    const client = redis.client();
    await client.rpush('queue:live', job('live', 1));
    await client.sadd('queues', 'live');
    await heartbeat(client, new SidekiqKeys(''), 'host:1:abc', ['live'], { beatAt: Date.now() / 1000 });

    const { code, stdout } = await runCli('drain-check', '--redis', redis.url(), '--retired-queues', 'never_used,queue:nothing');

    expect(stdout).toContain('DRAINED — 0 job(s) left');
    expect(code).toBe(0);
  });
});
