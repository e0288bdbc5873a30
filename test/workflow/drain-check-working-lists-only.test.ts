// After GitLab's namespace move (resque:gitlab:* to no prefix), the old namespace may hold nothing
// but reliable-fetch working lists: jobs workers took and never finished, which only a fetcher
// under that prefix puts back. The look for Sidekiq data under a prefix did not count them:
// drain-check --namespace resque:gitlab was refused with "No Sidekiq data under the prefix
// "resque:gitlab:" … leave out --namespace", over jobs sitting there.
import { describe, expect, it } from 'vitest';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const server = privateRedis();

describe('drain-check of a namespace that holds only workers\' private lists', () => {
  it('counts their jobs, never "no Sidekiq data"', async () => {
    const redis = server.client();
    await redis.sadd('queues', 'default');
    await redis.rpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));
    await redis.rpush('resque:gitlab:working:queue:default:gone-host:4242:0a1b2c3d4e5f', sidekiqPayload({ className: 'B', queue: 'default' }));

    const drain = await runCli('drain-check', '--redis', server.url(), '--namespace', 'resque:gitlab');

    expect(drain.stderr).not.toContain('No Sidekiq data');
    expect(drain.stdout).toContain('  - 1 job(s) sit in the private lists of workers that are gone (resque:gitlab:working:queue:default:gone-host:4242:0a1b2c3d4e5f 1)');
    expect(drain.code).toBe(3);
  });
});
