import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// drain-check's census of other prefixes counted a Sidekiq process not heard from for more than 3
// beats (it may have been killed: its heartbeat hash lives 60 s after its last beat) as a live one
// running the jobs there: "no prefix: live Sidekiq processes run them there, so leave them there",
// and "where 1 live Sidekiq process(es) run". The census now says such processes apart, in words
// and in --json (otherPrefixes[].silentProcesses, of liveProcesses, which keeps its meaning); the
// verdict and exit code are kept (a hung process may beat again). The heartbeat is written as a
// killed Sidekiq 6.4 process leaves it 40 s after its last beat (expiry 20 s away).
const redis = privateRedis();
const now = () => Date.now() / 1000;
const SILENT = 'host:1:abcabcabcabc';

describe('drain-check of a prefix, with jobs under another one run there only by a Sidekiq process not heard from', { timeout: 180_000 }, () => {
  it('never says live processes run them there: says the silent ones apart, in words and --json', async () => {
    const client = redis.client();
    await heartbeat(client, new SidekiqKeys(''), SILENT, ['default'], { beatAt: now() - 40, beating: false });
    await client.pexpire(SILENT, 20_000);
    await client.sadd('queues', 'default');
    await client.lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default', args: '[1]' }), sidekiqPayload({ className: 'A', queue: 'default', args: '[2]' }));
    await client.sadd('resque:gitlab:queues', 'post_receive');

    const { code, stdout } = await runCli('drain-check', '--redis', redis.url(), '--namespace', 'resque:gitlab:');

    expect(stdout).toContain('DRAINED — 0 job(s) left under the prefix "resque:gitlab:"');
    expect(stdout).toContain(
      '  - jobs under another prefix of this Redis, not counted here (no prefix: 2): check them with --namespace (no prefix: run there only by Sidekiq processes not heard from for more than 3 beats, which may have been killed; if they were, nobody runs them: see docs/runbooks/redis-move.md, step 6.1)\n',
    );
    expect(stdout).not.toContain('live Sidekiq processes run them there');
    expect(stdout).toContain('Also on this Redis, not counted above: 2 job(s) under no prefix, where the only live Sidekiq process(es) (1) have not been heard from for more than 3 beats: they may have been killed (check them with --namespace).');
    expect(code).toBe(0);

    const json = await runCli('drain-check', '--redis', redis.url(), '--namespace', 'resque:gitlab:', '--json');
    const report = JSON.parse(json.stdout) as { otherPrefixes: { prefix: string; liveProcesses?: number; silentProcesses?: number }[] };
    expect(report.otherPrefixes).toMatchObject([{ prefix: '', liveProcesses: 1, silentProcesses: 1 }]);
  });

  it('with one that beats too: says how many beat and how many more are not heard from', async () => {
    const client = redis.client();
    await heartbeat(client, new SidekiqKeys(''), 'host:2:beatbeatbeat', ['default'], { beatAt: now() });
    await heartbeat(client, new SidekiqKeys(''), SILENT, ['default'], { beatAt: now() - 40, beating: false });
    await client.pexpire(SILENT, 20_000);
    await client.sadd('queues', 'default');
    await client.lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default', args: '[1]' }));
    await client.sadd('resque:gitlab:queues', 'post_receive');

    const { stdout } = await runCli('drain-check', '--redis', redis.url(), '--namespace', 'resque:gitlab:');

    expect(stdout).toContain('(no prefix: live Sidekiq processes run them there, so leave them there)');
    expect(stdout).toContain('Also on this Redis, not counted above: 1 job(s) under no prefix, where 1 live Sidekiq process(es) run, and 1 more not heard from for more than 3 beats (check them with --namespace).');
  });
});
