import { describe, expect, it } from 'vitest';
import { drainExitCode } from '../../../cli/commands/drain-check-command.js';
import { renderDrainReport } from '../../../cli/workflow/render-drain-report.js';
import { drainCheck } from '../../../core/drain/drain-check.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { privateRedis } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

// The deployed drain check (2 minutes) looked for workers' private lists, in-flight keys,
// quarantine lists, queue lists and cron namespaces with SCANs of the whole keyspace, unbounded: on a Redis with tens of millions
// of other keys they outlast the function, and a check that times out reports nothing (its alarm
// instead of a verdict). They are bounded by its time now; a look cut short is never "drained":
// it says what it did not confirm, and the exit code is 1, as for set entries estimated rather
// than counted. The bound is given to the check (no timed test): already spent, each look reads
// its first SCAN page only, and 5,000 other keys outlast that.
const server = privateRedis();
const keys = new SidekiqKeys('');
const FILLER = 5_000;

async function fill(): Promise<void> {
  const filler = server.client().pipeline();
  for (let i = 0; i < FILLER; i++) filler.set(`cache:other:${i}`, '1');
  await filler.exec();
}

describe("the drain check's looks over the keyspace, bounded by time", () => {
  it('cut short among many other keys: not "drained", says what it did not confirm, exit code 1', async () => {
    await fill();

    const report = await drainCheck(server.client(), keys, { lookUntil: 0 });

    const out = renderDrainReport(report);
    expect(report.remaining).toBe(0);
    expect(report.verdict.state).toBe('draining');
    // Every look over the keyspace, the discovery of queue lists and of cron namespaces too; what was read whatever the time is said.
    const line =
      /\n {2}- queue lists not in the `queues` set, in-flight keys, quarantine lists, workers' private lists and sidekiq-cron namespaces other than default not all looked at: the check's time ran out after about ([0-9,]+) of the Redis's ([0-9,]+) keys; jobs there are not confirmed absent; every queue the `queues` set names was counted: only a queue list missing from it may have been missed; sidekiq-cron definitions of namespaces other than default \(cron_jobs:NAME\) were not all read, so this is not a verdict of drained\n/.exec(
        out,
      );
    expect(line, out).not.toBeNull();
    expect(Number(line![1]!.replaceAll(',', ''))).toBeLessThan(FILLER);
    expect(line![2]).toBe('5,000');
    // Jobs where the looks did not reach are not counted: the headline's count is a floor.
    expect(out.split('\n')[0]).toBe("redis: DRAINING — 0 job(s) counted; not all read: queue lists not in the `queues` set, in-flight keys, quarantine lists, workers' private lists, sidekiq-cron namespaces other than default (see below)");
    expect(out).not.toContain('DRAINED');
    expect(drainExitCode(report)).toBe(1);
  });

  it('with time to finish, among the same many keys: in-flight, quarantined and held jobs found, named, exit code 3', async () => {
    await fill();
    const redis = server.client();
    const job = (i: number) => sidekiqPayload({ className: 'B', queue: 'x', args: `[${i}]` });
    await redis.rpush('sidekiq-migrate:quarantine:lost', job(1), job(2));
    await redis.rpush('sidekiq-migrate:old:inflight:queue:x', job(3));
    await redis.rpush('working:queue:x:gone-host:4242:0a1b2c3d4e5f', job(4));

    const report = await drainCheck(redis, keys, { lookUntil: Date.now() + 600_000 });

    expect(report.remaining).toBe(4);
    expect(report.verdict.state).toBe('stuck');
    expect(report.verdict.reasons).toEqual(
      expect.arrayContaining([
        '1 job(s) are in flight from interrupted transfers (old): run the transfer again to finish them',
        '2 job(s) sit in quarantine lists nobody fetches (sidekiq-migrate:quarantine:lost 2): put them back on a queue or delete them by hand',
        expect.stringContaining('1 job(s) sit in the private lists of workers that are gone (working:queue:x:gone-host:4242:0a1b2c3d4e5f 1)'),
      ]),
    );
    expect(renderDrainReport(report)).not.toContain('not all looked at');
    expect(drainExitCode(report)).toBe(3);
  });
});
