import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// Walking routing-change.md against `npm run demo`'s data (audit-runbookwalk): its unparsable
// `retry` entry (`<html>502 Bad Gateway</html>`) made step 2's listeners check say `STUCK — … 1
// job(s) will never run as things stand`, exit 3, naming no queue. The runbook said "the queue
// named in the STUCK line has no process. Add it": there was none to add, and no listener ever
// makes an unparsable entry run. The line now names the sets those entries are in, and says
// which of them are unparsable and what to do with them.
const redis = privateRedis();
const now = () => Date.now() / 1000;

describe('drain-check names the schedule and retry entries nobody will run', { timeout: 180_000 }, () => {
  it('an unparsable retry entry and a schedule entry for an unlistened queue: named per set, the unparsable one said to need deleting; exit 3', async () => {
    const client = redis.client();
    await heartbeat(client, new SidekiqKeys(''), 'host:1:abc', ['live'], { beatAt: now() });
    await client.lpush('queue:live', sidekiqPayload({ className: 'A', queue: 'live' }));
    await client.zadd('retry', String(now() + 600), '<html>502 Bad Gateway</html>');
    await client.zadd('schedule', String(now() + 600), sidekiqPayload({ className: 'B', queue: 'gone' }));

    const { code, stdout } = await runCli('drain-check', '--redis', redis.url());

    expect(stdout).toContain(
      '  - 2 job(s) will never run as things stand (schedule or retry entries naming a queue nobody listens to: schedule 1, retry 1; 1 of them unparsable, naming no queue, which Sidekiq drops when due and no listener runs: look at them with ZRANGE and delete them by hand)\n',
    );
    expect(code).toBe(3);
  });

  it('scoped to retired queues: drained, the unparsable entry outside them named the same way, not "give their queues a listener" alone; exit 3', async () => {
    const client = redis.client();
    await heartbeat(client, new SidekiqKeys(''), 'host:1:abc', ['live'], { beatAt: now() });
    await client.zadd('retry', String(now() + 600), '<html>502 Bad Gateway</html>');

    const { code, stdout } = await runCli('drain-check', '--redis', redis.url(), '--retired-queues', 'old');

    expect(stdout).toContain(
      '  - 1 job(s) outside the retired queues will never run as things stand (schedule or retry entries naming a queue nobody listens to: retry 1; 1 of them unparsable, naming no queue, which Sidekiq drops when due and no listener runs: look at them with ZRANGE and delete them by hand): give their queues a listener\n',
    );
    expect(stdout).toContain('DRAINED — 0 job(s) left of the 1 retired queue(s) only');
    expect(code).toBe(3);
  });
});
