// A URL naming a database the server does not have (`/99` beyond its `databases`, or `/1` on a
// server with database 0 only). ioredis reports the refused SELECT only as an event and goes on in
// database 0: every command would read and write data the user did not name. Each command refuses
// it as bad input instead, before anything is touched.
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const cli = runCli;
const snapshots = async () => ({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) });
const refusal = (role: string, url: string) =>
  `${role} ${url}/99: the server has no database 99 (SELECT 99: ERR DB index is out of range); it has databases 0 to 15. Nothing was touched.\n`;

describe('a database the server does not have', () => {
  it('is refused by run, move (either end) and drain-check, and nothing is touched', async () => {
    const source = redis.source();
    await source.sadd('queues', 'old');
    await source.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old' }));
    await source.zadd('schedule', '1795459303.5', sidekiqPayload({ className: 'A', queue: 'old' }));
    const { source: from, target: to } = redis.urls();
    const before = await snapshots();

    const cases: [string[], string][] = [
      [['run', '--redis', `${from}/99`, '--rename', 'old=new'], refusal('source', from)],
      [['run', '--redis', `${from}/99`, '--rename', 'old=new', '--dry-run'], refusal('source', from)],
      [['move', '--from', `${from}/99`, '--to', to], refusal('source', from)],
      // The case that wrote into the source's own database 0, the same keys it claimed from.
      [['move', '--from', from, '--to', `${from}/99`], refusal('target', from)],
      [['move', '--from', from, '--to', `${to}/99`], refusal('target', to)],
      [['drain-check', '--redis', `${from}/99`], refusal('Redis', from)],
    ];
    for (const [args, message] of cases) {
      const result = await cli(...args);
      expect({ args, code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ args, code: 2, stdout: '', stderr: message });
      expect(await snapshots()).toEqual(before);
    }
  });

  it('a database the server has is used, not database 0', async () => {
    await redis.source().select(3);
    await redis.source().lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old' }));
    await redis.source().select(0);
    await redis.source().lpush('queue:zero', sidekiqPayload({ className: 'A', queue: 'zero' }));

    const check = await cli('drain-check', '--redis', `${redis.urls().source}/3`, '--json');

    expect(check.code).toBe(3);
    expect((JSON.parse(check.stdout) as { queues: { queue: string }[] }).queues.map((q) => q.queue)).toEqual(['old']);
    await redis.source().select(3);
    await redis.source().flushdb();
    await redis.source().select(0);
  });
});
