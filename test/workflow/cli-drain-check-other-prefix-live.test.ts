import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// Walking routing-change.md (audit-runbookwalk): its ledger block checks the old prefix
// `resque:gitlab:` after the namespace move, on an instance whose live Sidekiq runs unprefixed.
// The check of resque:gitlab: (no live process there) advised, of the unprefixed jobs, "carry them
// onto this prefix with move … --namespace OTHER --to-namespace THIS": moving every live job to
// where nobody fetches. The carry is advised only for jobs under a prefix no Sidekiq runs.
const redis = privateRedis();
const now = () => Date.now() / 1000;

describe('drain-check of a prefix, with jobs under another one', { timeout: 180_000 }, () => {
  it('where live Sidekiq processes run them: says to leave them there, never to carry them onto the checked prefix', async () => {
    const client = redis.client();
    await heartbeat(client, new SidekiqKeys(''), 'host:1:abc', ['default'], { beatAt: now() });
    await client.sadd('queues', 'default');
    await client.lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default', args: '[1]' }), sidekiqPayload({ className: 'A', queue: 'default', args: '[2]' }));
    // What the namespace move leaves under the old prefix: its `queues` set, emptied queues gone.
    await client.sadd('resque:gitlab:queues', 'post_receive');

    const { code, stdout } = await runCli('drain-check', '--redis', redis.url(), '--namespace', 'resque:gitlab:');

    expect(stdout).toContain('DRAINED — 0 job(s) left under the prefix "resque:gitlab:"');
    expect(stdout).toContain(
      '  - jobs under another prefix of this Redis, not counted here (no prefix: 2): check them with --namespace (no prefix: live Sidekiq processes run them there, so leave them there)\n',
    );
    expect(stdout).not.toContain('carry them onto this prefix');
    expect(code).toBe(0);
  });

  it('where no Sidekiq runs (GitLab\'s resque:gitlab: leftovers): the carry onto the checked prefix is still advised, exit 3', async () => {
    const client = redis.client();
    await heartbeat(client, new SidekiqKeys(''), 'host:1:abc', ['default'], { beatAt: now() });
    await client.sadd('resque:gitlab:queues', 'default');
    await client.lpush('resque:gitlab:queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));

    const { code, stdout } = await runCli('drain-check', '--redis', redis.url(), '--namespace', '');

    expect(stdout).toContain('or carry them onto this prefix with move --from URL --to URL --namespace OTHER --to-namespace THIS');
    expect(code).toBe(3);
  });
});
