import { describe, expect, it } from 'vitest';
import { drainCheckWithPush } from '../support/drain-check-with-push.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// drain-check's final atomic look (one-look.ts) re-read the quarantine lists its walk of the
// keyspace had found, and only those: no index names them. A list a concurrent
// `run --unmapped quarantine` created after that walk (a job a producer pushed to a queue the
// check had read empty, quarantined before the look) was in no count, and the check said DRAINED,
// exit 0, over it. The check now walks for quarantine lists again after that look.
const redis = privateRedis();

/** drain-check; before the EXEC of its first MULTI (the atomic look: Redis runs what MULTI queued at EXEC), another client LPUSHes `payload` to `key`. */
function checkWithPushBeforeLook(key: string, payload: string, ...args: string[]) {
  return drainCheckWithPush(redis.url(), { command: '^exec$', queue: 'old', key, payload }, ...args);
}

describe('drain-check when a quarantine list appears after its walk of the keyspace', { timeout: 60_000 }, () => {
  it('counts and names the quarantined job, never DRAINED (human and --json), exit 3, the job untouched', async () => {
    const dead = sidekiqPayload({ className: 'Gone', queue: 'old', jid: 'aaaaaaaaaaaaaaaaaaaaaaaa' });
    const payload = sidekiqPayload({ className: 'Unmapped', queue: 'old', jid: '0123456789abcdef01234567' });
    const seed = async () => {
      await redis.client().flushdb();
      // Sidekiq data, nothing to run: the check found nothing, and looked once more.
      await redis.client().zadd('dead', '1', dead);
    };
    await seed();

    const check = await checkWithPushBeforeLook('sidekiq-migrate:quarantine:old', payload);

    expect(check.stderr).toContain('push-at-command: pushed to sidekiq-migrate:quarantine:old before exec');
    expect(check.stdout.split('\n')[0], check.stdout + check.stderr).toBe(`${redis.url()}: STUCK — 1 job(s) left`);
    expect(check.stdout).toContain('1 job(s) sit in quarantine lists nobody fetches (sidekiq-migrate:quarantine:old 1)');
    expect(check.stdout).not.toContain('DRAINED');
    expect(check.code).toBe(3);
    expect(await jobsIn(redis.client())).toEqual([jobEntry('dead', dead, '1')]);
    expect(await redis.client().lrange('sidekiq-migrate:quarantine:old', 0, -1)).toEqual([payload]);

    await seed();
    const json = await checkWithPushBeforeLook('sidekiq-migrate:quarantine:old', payload, '--json');
    expect(json.code, json.stderr).toBe(3);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ remaining: 1, verdict: { state: 'stuck' }, quarantine: [{ key: 'sidekiq-migrate:quarantine:old', queue: 'old', size: 1 }] });
  });
});
