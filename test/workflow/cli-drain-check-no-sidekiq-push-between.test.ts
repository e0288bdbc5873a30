import { describe, expect, it } from 'vitest';
import { drainCheckWithPush } from '../support/drain-check-with-push.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// drain-check decides "no Sidekiq data at all there" by a look made before the check reads the
// queues (checkSidekiqPrefixLook). The first job ever pushed between that look and the check's
// reads made its verdict line contradict itself: "NOT DRAINED — 1 job(s) left: no Sidekiq data at
// all there (…)". It is now said only when the check itself found nothing either.
const redis = privateRedis();

/** drain-check, a producer pushing `payload` to queue:default before its look's INFO keyspace. */
function checkWithPushBetween(payload: string, ...args: string[]) {
  return drainCheckWithPush(redis.url(), { command: '^info$', args: ['^keyspace$'], queue: 'default', key: 'queue:default', payload }, ...args);
}

describe('drain-check when the first job is pushed after its look for Sidekiq data', { timeout: 60_000 }, () => {
  it('counts the job and does not say "no Sidekiq data" (human and --json), exit 3, the job untouched', async () => {
    await redis.client().set('cache:some-page', 'x');
    const payload = sidekiqPayload({ className: 'HardWorker', queue: 'default', jid: '0123456789abcdef01234567' });

    const check = await checkWithPushBetween(payload);

    expect(check.stderr).toContain('push-at-command: pushed to queue:default before info keyspace');
    expect(check.stdout.split('\n')[0]).toBe(`${redis.url()}: STUCK — 1 job(s) left`);
    expect(check.stdout).not.toContain('no Sidekiq data');
    expect(check.code).toBe(3);
    expect(await jobsIn(redis.client())).toEqual([jobEntry('queue:default', payload)]);

    await redis.client().flushdb();
    await redis.client().set('cache:some-page', 'x');
    const json = await checkWithPushBetween(payload, '--json');
    expect(json.code, json.stderr).toBe(3);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ remaining: 1, verdict: { state: 'stuck' } });
    expect(report.noSidekiqData).toBeUndefined();
  });
});
