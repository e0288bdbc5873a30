// A sidekiq-cron definition a re-route cannot judge (its message is not a job it can read, or the
// hash has no message and no class to build one from): left as it is, and named, so that the
// operator checks it by hand. (One with klass and queue fields is judged: cli-cron-without-message.)
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';

const redis = privateRedis();

describe('a sidekiq-cron definition a re-route cannot judge', () => {
  it('run --rewrite-cron names it and leaves it as it is', async () => {
    await redis.client().sadd('cron_jobs', 'cron_job:broken_worker', 'cron_job:no_class_worker');
    await redis.client().hset('cron_job:broken_worker', { name: 'broken_worker', message: '{"queue":"cronjob:stuck_ci_jobs","class":', status: 'enabled' });
    await redis.client().hset('cron_job:no_class_worker', { name: 'no_class_worker', queue: 'cronjob:stuck_ci_jobs', status: 'enabled' });
    const before = await keyValueSnapshot(redis.client(), 'cron_job');

    const { code, stdout, stderr } = await runCli('run', '--redis', redis.url(), '--rename', 'cronjob:stuck_ci_jobs=cronjob', '--rewrite-cron');
    const json = await runCli('run', '--redis', redis.url(), '--rename', 'cronjob:stuck_ci_jobs=cronjob', '--rewrite-cron', '--json');

    // Asked to rewrite every definition, it left two unjudged: never "Complete", exit 1, as over definitions it did not read.
    expect(code).toBe(1);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but 2 sidekiq-cron definition(s) could not be judged by the routing, so not rewritten (see above).');
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { verdict: unknown }).verdict).toEqual({ state: 'done-but', line: 'Done, but 2 sidekiq-cron definition(s) could not be judged by the routing, so not rewritten (see above).' });
    expect(stderr).toMatch(/^sidekiq-cron: 2 definition\(s\) could not be judged by the routing, left as they are \(broken_worker: [^,]+, no_class_worker: no message field and no klass or class field \(sidekiq-cron has no class to push\)\): check where they push by hand\.$/m);
    expect(await keyValueSnapshot(redis.client(), 'cron_job')).toEqual(before);
  });
});
