import { describe, expect, it } from 'vitest';
import { renderDrainReport } from '../../../cli/workflow/render-drain-report.js';
import { drainCheck } from '../../../core/drain/drain-check.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { privateRedis } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { scanTwice } from '../../support/scan-twice.js';

// SCAN may return a key more than once (while the server rehashes its table: Redis's SCAN
// guarantee). A drain check that added up what every page named counted a worker's private list
// twice: "2 job(s) sit in the private lists of workers that are gone" over one job, and more
// jobs left than the Redis holds. Here every SCAN page names each of its keys twice.
const server = privateRedis();

describe('a drain check where SCAN returns every key twice', () => {
  it('counts each job once: quarantined, in flight, in a private list of a gone worker', async () => {
    const redis = server.client();
    const job = (i: number) => sidekiqPayload({ className: 'B', queue: 'x', args: `[${i}]` });
    await redis.rpush('sidekiq-migrate:quarantine:lost', job(1), job(2));
    await redis.rpush('sidekiq-migrate:old:inflight:queue:x', job(3));
    await redis.rpush('working:queue:x:gone-host:4242:0a1b2c3d4e5f', job(4));
    await redis.rpush('queue:sq|gone-host:1:abc|x', job(5));

    const report = await drainCheck(scanTwice(redis), new SidekiqKeys(''), { lookUntil: Date.now() + 600_000 });

    expect(report.remaining, renderDrainReport(report)).toBe(5);
    expect(report.verdict.reasons).toEqual(
      expect.arrayContaining([
        '1 job(s) are in flight from interrupted transfers (old): run the transfer again to finish them',
        '2 job(s) sit in quarantine lists nobody fetches (sidekiq-migrate:quarantine:lost 2): put them back on a queue or delete them by hand',
        expect.stringMatching(/^2 job\(s\) sit in the private lists of workers that are gone \(queue:sq\|gone-host:1:abc\|x 1, working:queue:x:gone-host:4242:0a1b2c3d4e5f 1\)/),
      ]),
    );
    expect(renderDrainReport(report)).not.toContain('DRAINED');
  });
});
