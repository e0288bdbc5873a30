// A sidekiq-cron definition saved without a `message` field (its class in `klass`, its queue in
// `queue`): sidekiq-cron builds the message from them when it loads the hash (job.rb initialize,
// `elsif @klass`: `@queue = message_data['queue'] = args['queue']`) and pushes to that queue. It is
// a definition like any other: named, judged by the cron check and by a re-route's routing (its
// `klass`, or `class`, as sidekiq-cron reads `args["klass"] || args["class"]`), its `queue` field
// rewritten by --rewrite-cron (only that value), carried by move --cron.
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const key = 'cron_job:stuck_ci_jobs_worker';
const fields = { name: 'stuck_ci_jobs_worker', klass: 'StuckCiJobsWorker', cron: '0 * * * *', args: '[]', queue: 'cronjob:stuck_ci_jobs', status: 'enabled' };

const rename = ['--rename', 'cronjob:stuck_ci_jobs=cronjob'];

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

  it('run judges it by its klass (or class) and queue fields; --rewrite-cron rewrites only its queue field; drain-check agrees before and after', async () => {
    await seed();
    // sidekiq-cron reads `class` when there is no `klass` (job.rb: `args["klass"] || args["class"]`).
    const byClass = { name: 'class_field_worker', class: 'StuckCiJobsWorker', cron: '5 * * * *', queue: 'cronjob:stuck_ci_jobs', status: 'enabled' };
    await redis.source().sadd('cron_jobs', 'cron_job:class_field_worker');
    await redis.source().hset('cron_job:class_field_worker', byClass);
    await heartbeat(redis.source(), new SidekiqKeys(''), 'w:1:aaaaaaaaaaaa', ['cronjob'], { beatAt: Date.now() / 1000 });
    const retired = ['--retired-queues', 'cronjob:stuck_ci_jobs'];

    const before = await runCli('drain-check', '--redis', redis.urls().source, ...retired);
    expect(before.code).toBe(3);
    expect(before.stdout).toContain('2 sidekiq-cron definition(s) still push to retired queues (class_field_worker → cronjob:stuck_ci_jobs, stuck_ci_jobs_worker → cronjob:stuck_ci_jobs)');

    const named = await runCli('run', '--redis', redis.urls().source, ...rename);
    expect(named.code).toBe(0);
    expect(named.stderr).toContain('warning: 2 sidekiq-cron definition(s) still push to their old queue (class_field_worker: cronjob:stuck_ci_jobs → cronjob, stuck_ci_jobs_worker: cronjob:stuck_ci_jobs → cronjob)');
    expect(named.stderr).not.toContain('could not be judged');
    expect(await redis.source().hgetall(key)).toEqual(fields);

    // A job on the queue the rename drains (the run above found none: its verdict names the rename).
    await redis.source().lpush('queue:cronjob:stuck_ci_jobs', sidekiqPayload({ className: 'StuckCiJobsWorker', queue: 'cronjob:stuck_ci_jobs' }));
    const rewrite = await runCli('run', '--redis', redis.urls().source, ...rename, '--rewrite-cron');

    expect(rewrite.code).toBe(0);
    expect(rewrite.stderr).toContain('sidekiq-cron: 2 definition(s) now push to their new queue (class_field_worker: cronjob:stuck_ci_jobs → cronjob, stuck_ci_jobs_worker: cronjob:stuck_ci_jobs → cronjob)');
    expect(`${rewrite.stdout}${rewrite.stderr}`).not.toContain('could not be judged');
    expect(rewrite.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    // Only the queue field's value changed; no message field was added.
    expect(await redis.source().hgetall(key)).toEqual({ ...fields, queue: 'cronjob' });
    expect(await redis.source().hgetall('cron_job:class_field_worker')).toEqual({ ...byClass, queue: 'cronjob' });

    const after = await runCli('drain-check', '--redis', redis.urls().source, ...retired);
    expect(after.stdout).not.toContain('still push to retired queues');
    expect(after.stdout).toContain('  stuck_ci_jobs_worker → cronjob (1 listening)');
    expect(after.code).toBe(0);
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
