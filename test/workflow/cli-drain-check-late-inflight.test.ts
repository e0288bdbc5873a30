import { describe, expect, it } from 'vitest';
import { drainCheckWithPush } from '../support/drain-check-with-push.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// drain-check's final atomic look (one-look.ts) re-read the in-flight keys its walk of the
// keyspace had found, and only those. A transfer's claim made after that walk moves jobs from a
// queue into an in-flight key (`sidekiq-migrate:<run>:inflight:queue:<q>`) the look did not read:
// the queue looked empty, and with that transfer then interrupted the check said DRAINED, exit 0,
// with the job in flight. The walk after the look (the one for late quarantine lists) now finds
// in-flight keys it did not know too.
const redis = privateRedis();
const INFLIGHT = 'sidekiq-migrate:t1:inflight:queue:old';

/** drain-check; before the EXEC of its first MULTI (the atomic look), another client LPUSHes `payload` to `key`. */
function checkWithPushBeforeLook(key: string, payload: string, ...args: string[]) {
  return drainCheckWithPush(redis.url(), { command: '^exec$', queue: 'old', key, payload }, ...args);
}

describe('drain-check when an in-flight key appears after its walk of the keyspace', { timeout: 60_000 }, () => {
  it('counts and names the in-flight job, never DRAINED (human and --json), the job untouched', async () => {
    const dead = sidekiqPayload({ className: 'Gone', queue: 'old', jid: 'aaaaaaaaaaaaaaaaaaaaaaaa' });
    const payload = sidekiqPayload({ className: 'Claimed', queue: 'old', jid: '0123456789abcdef01234567' });
    const seed = async () => {
      await redis.client().flushdb();
      await redis.client().zadd('dead', '1', dead);
    };
    await seed();

    const check = await checkWithPushBeforeLook(INFLIGHT, payload);

    expect(check.stderr).toContain(`push-at-command: pushed to ${INFLIGHT} before exec`);
    expect(check.stdout.split('\n')[0], check.stdout + check.stderr).toBe(`${redis.url()}: STUCK — 1 job(s) left`);
    expect(check.stdout).toContain('1 job(s) are in flight from interrupted transfers (t1): run the transfer again to finish them');
    expect(check.stdout).not.toContain('DRAINED');
    expect(check.code).toBe(3);
    expect(await jobsIn(redis.client())).toEqual([jobEntry('dead', dead, '1')]);
    expect(await redis.client().lrange(INFLIGHT, 0, -1)).toEqual([payload]);

    await seed();
    const json = await checkWithPushBeforeLook(INFLIGHT, payload, '--json');
    expect(json.code, json.stderr).toBe(3);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ remaining: 1, verdict: { state: 'stuck' }, inflight: [{ key: INFLIGHT, runId: 't1', sourceKey: 'queue:old', type: 'list', size: 1 }] });
  });
});
