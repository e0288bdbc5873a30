// A user whose ACL key patterns leave out workers' private lists (`~queue:*`, the sets, not
// `~working:*`) still sees their names in SCAN, but TYPE and LLEN on them are refused (NOPERM).
// The look for jobs in those lists dropped every refused reply: drain-check said DRAINED over a
// gone worker's list of jobs. Now a list it may not read fails the look, naming why.
import { describe, expect, it } from 'vitest';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const server = privateRedis();

describe('drain-check by a user who may not read the private lists', () => {
  it('never says DRAINED over them: it fails, naming the refusal', async () => {
    const redis = server.client();
    await redis.sadd('queues', 'default');
    await redis.rpush('working:queue:default:gone-host:4242:0a1b2c3d4e5f', sidekiqPayload({ className: 'B', queue: 'default' }));
    await redis.call('ACL', 'SETUSER', 'narrow', 'reset', 'on', '>narrow-pass', '~queue:*', '~queues', '~schedule', '~retry', '~dead', '~interrupted', '~processes', '~stat:*', '~cron_job*', '~sidekiq-migrate:*', '~permission-check', '&*', '+@all');
    const url = server.url().replace('redis://', 'redis://narrow:narrow-pass@');

    const drain = await runCli('drain-check', '--redis', url);

    expect(drain).toEqual({
      code: 1,
      stdout: '',
      stderr: "Looking for jobs in fetchers' private lists (working:queue:*, queue:sq|*): NOPERM this user has no permissions to access one of the keys used as arguments\n",
    });
  });
});
