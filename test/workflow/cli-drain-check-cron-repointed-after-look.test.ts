// drain-check --retired-queues read the sidekiq-cron definitions after its atomic look (2d1b054f:
// the walk for their namespaces rides with the late walk for quarantine lists). A definition's
// poller (in a process that fetches none of the retired queues, so no beat wait looks again) pushing
// to a retired queue just after that look, and the definition re-pointed to the new queue (run
// --rewrite-cron, a restart) before the check read it: the job was in no look, the definition
// read on its new queue, and the check said DRAINED, exit 0, over a job on the retired queue.
// The places are now looked at once more after the definitions are read: DRAINING, the job counted.
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { drainCheckWithPush } from '../support/drain-check-with-push.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();

const message = (queue: string) => JSON.stringify({ class: 'DigestWorker', queue, args: [] });

describe('drain-check --retired-queues when cron pushes to a retired queue and is re-pointed while it checks', { timeout: 60_000 }, () => {
  it('counts the pushed job as moved during the check, DRAINING, never DRAINED (human and --json), the job untouched', async () => {
    const payload = sidekiqPayload({ className: 'DigestWorker', queue: 'old', jid: '0123456789abcdef01234567' });
    const seed = async () => {
      await redis.client().flushdb();
      await redis.client().sadd('cron_jobs:default', 'cron_job:digest');
      await redis.client().hset('cron_job:digest', { name: 'digest', cron: '* * * * *', status: 'enabled', message: message('old') });
      // The poller's process fetches `default` only: no process of the scope, so no beat wait.
      await heartbeat(redis.client(), new SidekiqKeys(''), 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: Date.now() / 1000 });
    };
    // Before the check's first read of the cron definitions (TYPE cron_jobs): the poller's push
    // to queue:old, then the definition saved on `new`.
    const push = { command: '^type$', args: ['^cron_jobs$'], queue: 'old', key: 'queue:old', payload, hset: ['cron_job:digest', 'message', message('new')] as [string, string, string] };

    await seed();
    const check = await drainCheckWithPush(redis.url(), push, '--retired-queues', 'old');
    expect(check.stderr).toContain('push-at-command: pushed to queue:old before type cron_jobs');
    expect(check.stdout).not.toContain('DRAINED');
    expect(check.stdout.split('\n')[0], check.stdout + check.stderr).toBe(`${redis.url()}: DRAINING — 1 job(s) left of the 1 retired queue(s) only (jobs of other queues are not counted)`);
    expect(check.stdout).toContain('  - jobs moved between the keys this check read while it read them (a Sidekiq poller, fetcher or worker at work): 1 job(s) found in one atomic look at them afterwards; check again');
    expect(check.stdout).toContain('  digest → new (nobody listens)');
    // DRAINING exits 0 (drainExitCode: only jobs nobody will run, or a look not done, exit non-zero).
    expect(check.code).toBe(0);
    expect(await jobsIn(redis.client(), '', ['queue:old'])).toEqual([jobEntry('queue:old', payload)]);

    await seed();
    const json = await drainCheckWithPush(redis.url(), push, '--retired-queues', 'old', '--json');
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ remaining: 1, movedDuringCheck: 1, verdict: { state: 'draining' }, cron: [{ name: 'digest', queue: 'new' }] });
    expect(await jobsIn(redis.client(), '', ['queue:old'])).toEqual([jobEntry('queue:old', payload)]);
  });
});
