// A sidekiq-cron definition saved without a `message` field (its class in `klass`, its queue in
// `queue`): sidekiq-cron builds the message from them when it loads the hash (job.rb initialize,
// `elsif @klass`: `@queue = message_data['queue'] = args['queue']`) and pushes to that queue. It is
// a definition like any other: named, judged by the cron check, carried by move --cron.
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';

const redis = privateSourceAndTarget();
const key = 'cron_job:stuck_ci_jobs_worker';
const fields = { name: 'stuck_ci_jobs_worker', klass: 'StuckCiJobsWorker', cron: '0 * * * *', args: '[]', queue: 'cronjob:stuck_ci_jobs', status: 'enabled' };

async function seed(): Promise<void> {
  await redis.source().sadd('cron_jobs', key);
  await redis.source().hset(key, fields);
}

describe('a sidekiq-cron definition without a message field (klass, args, queue)', () => {
  it('drain-check lists it and its queue, and stops while it pushes to a retired queue', async () => {
    await seed();
    await heartbeat(redis.source(), new SidekiqKeys(''), 'w:1:aaaaaaaaaaaa', ['cronjob'], { beatAt: Date.now() / 1000 });

    const plain = await runCli('drain-check', '--redis', redis.urls().source);
    expect(plain.stdout).toContain('sidekiq-cron definitions: 1 ');
    expect(plain.stdout).toContain('  stuck_ci_jobs_worker → cronjob:stuck_ci_jobs (nobody listens)');

    const scoped = await runCli('drain-check', '--redis', redis.urls().source, '--retired-queues', 'cronjob:stuck_ci_jobs');
    expect(scoped.code).toBe(3);
    expect(scoped.stdout).toContain('1 sidekiq-cron definition(s) still push to retired queues (stuck_ci_jobs_worker → cronjob:stuck_ci_jobs)');
  });

  it('move --cron copies it to the target, every field as it is', async () => {
    await seed();

    const carried = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--no-queues', '--sets', 'schedule', '--cron');

    expect(carried.code).toBe(0);
    expect(carried.stderr).toContain('sidekiq-cron: 1 definition(s) copied to the target; the source keeps its own.');
    expect(await redis.target().hgetall(key)).toEqual(fields);
    expect(await redis.target().smembers('cron_jobs')).toEqual([key]);
  });
});
