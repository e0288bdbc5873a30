import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { main } from '../../cli/main.js';
import { realTime } from '../../cli/cli-context.js';
import { bufferIo } from '../support/buffer-io.js';
import { privateRedis } from '../support/private-redis.js';

// The deployed drain check bounds its looks over the keyspace by its function's time (2 minutes):
// cut short, it says what it did not look at and is never `drained`. `drain-check` run from the
// CLI walked every key however long it took: on a Redis of tens of millions of keys, minutes to
// hours, where the deployed check answered. It now keeps to the same bounds, measured from its
// start against the deployed function's timeout (core/drain/check-budget.ts). The start is the
// CLI's clock: given as the epoch (no timed test), the check's time is already spent, each look
// reads its first SCAN page, and 5,000 other keys outlast that.
const server = privateRedis();

async function cli(time = realTime) {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', 'drain-check', '--redis', server.url()], io, localTaskHandlers, time);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

describe('sidekiq-migrate drain-check, out of its time, locally as deployed', { timeout: 60_000 }, () => {
  it('says which looks it did not finish, draining, exit 1: never DRAINED over keys it did not look at', async () => {
    const p = server.client().pipeline();
    for (let i = 0; i < 5_000; i++) p.set(`uniquejobs:digest:${i}`, '1');
    p.sadd('queues', 'default');
    await p.exec();

    const spent = await cli({ ...realTime, now: () => new Date(0) });
    const inTime = await cli();

    expect(spent.code).toBe(1);
    expect(spent.stdout).not.toMatch(/DRAINED/);
    // What it counted is a floor: said in the headline, as of queues or lists cut short.
    // None counted: the headline says what it did not read, never "at least 0".
    expect(spent.stdout.split('\n')[0]).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINING — 0 job\(s\) counted; not all read: [^()]*sidekiq-cron namespaces other than default[^()]* \(see below\)$/);
    expect(spent.stdout).toMatch(/not all looked at: the check's time ran out after about 1,000 of the Redis's 5,001 keys; jobs there are not confirmed absent/);
    expect(inTime.code).toBe(0);
    expect(inTime.stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left$/m);
  });

  it('a job left and the looks cut short: its headline says "at least 1 job(s) left", as its reasons do, exit 3', async () => {
    const p = server.client().pipeline();
    for (let i = 0; i < 5_000; i++) p.set(`uniquejobs:digest:${i}`, '1');
    const payload = '{"retry":true,"queue":"default","args":[1],"class":"HardWorker","jid":"0123456789abcdef01234567","created_at":1795459303.8459766}';
    p.sadd('queues', 'default');
    p.lpush('queue:default', payload);
    await p.exec();

    const spent = await cli({ ...realTime, now: () => new Date(0) });

    expect(spent.code).toBe(3);
    expect(spent.stdout.split('\n')[0]).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: STUCK — at least 1 job\(s\) left$/);
    expect(spent.stdout).toMatch(/not all looked at: the check's time ran out after about 1,000 of the Redis's 5,002 keys; jobs there are not confirmed absent/);
    expect(await server.client().lrange('queue:default', 0, -1)).toEqual([payload]);
  });
});
