import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { bufferIo } from '../support/buffer-io.js';
import { privateRedis } from '../support/private-redis.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// Jobs a re-route quarantined are jobs left on this Redis: drain-check counts them in what is
// left from its first read of the quarantine lists, and says where they are. Found by hand-made
// mutation testing (audit-mutants): with the quarantine lists left out of that count, the check's
// second, atomic look (one-look.ts) still found the jobs, so it still said STUCK, but gave as the
// reason that Sidekiq moved jobs between keys while the check read them ("check again"), a reason
// that was not true and sends the user to check again rather than to the quarantine lists.
const server = privateRedis();
const keys = new SidekiqKeys('');

const cli = async (...args: string[]) => {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', 'drain-check', '--redis', server.url(), ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

describe('sidekiq-migrate drain-check with only quarantined jobs left', () => {
  it('says STUCK with the quarantined jobs counted as left and named where they sit, not as jobs that moved during the check', async () => {
    const redis = server.client();
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: Date.now() / 1000 });
    await redis.rpush('sidekiq-migrate:quarantine:old', sidekiqPayload({ className: 'A', queue: 'old' }), sidekiqPayload({ className: 'B', queue: 'old' }));

    const { code, stdout } = await cli();

    expect(code).toBe(3);
    expect(stdout).toMatch(/STUCK — 2 job\(s\) left/);
    expect(stdout).toContain('2 job(s) sit in quarantine lists nobody fetches (sidekiq-migrate:quarantine:old 2): put them back on a queue or delete them by hand');
    expect(stdout).not.toContain('moved between the keys this check read');
    expect(await redis.llen('sidekiq-migrate:quarantine:old')).toBe(2);
  });
});
