// The summary's look for quarantine lists and in-flight keys walks the source's keyspace once for
// both now (leftover-keys.ts), and the target's for its in-flight keys, each bounded by the
// summary's time: among thousands of other keys, with the time a local run has, every leftover is
// still found and named, and the run never ends "Complete" over them.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const last = (text: string) => text.trimEnd().split('\n').at(-1);

describe('move over leftovers among 3,000 other keys on each server', () => {
  it('names the quarantine list and the in-flight keys on both, exit code 0, "Done, but jobs were left behind"', async () => {
    const [source, target] = [redis.source(), redis.target()];
    for (const server of [source, target]) {
      const filler = server.pipeline();
      for (let i = 0; i < 3_000; i++) filler.set(`cache:other:${i}`, '1');
      await filler.exec();
    }
    const [moved, q1, q2, odd, back] = [1, 2, 3, 4, 5].map((i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    await source.sadd('queues', 'a');
    await source.lpush('queue:a', moved!);
    await source.rpush('sidekiq-migrate:quarantine:lost', q1!, q2!);
    await source.rpush('sidekiq-migrate:old:inflight:retry', odd!); // a shape no resume writes back
    await target.rpush('sidekiq-migrate:back:inflight:queue:b', back!);

    const run = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('cut short');
    expect(run.stdout).toContain('\nNot transferred, left on the source: sidekiq-migrate:quarantine:lost 2\n');
    expect(run.stdout).toContain('\n1 job(s) in in-flight keys on the source of a shape no transfer writes back (sidekiq-migrate:old:inflight:retry: ');
    expect(run.stdout).toContain('\n1 job(s) in flight on the target, claimed there by an interrupted transfer out of it (sidekiq-migrate:back:inflight:queue:b): ');
    expect(last(run.stdout)).toBe(
      'Done, but jobs were left behind: 1 list(s) not transferred · 1 in flight on the target from an interrupted transfer out of it · 1 in in-flight keys on the source that no run finishes (see "Needs a look" above).',
    );
    expect(await jobsIn(target, '', ['queue:a'])).toEqual([jobEntry('queue:a', moved!)]);
    expect(await source.lrange('sidekiq-migrate:quarantine:lost', 0, -1)).toEqual([q1, q2]);
    expect(await source.lrange('sidekiq-migrate:old:inflight:retry', 0, -1)).toEqual([odd]);
    expect(await target.lrange('sidekiq-migrate:back:inflight:queue:b', 0, -1)).toEqual([back]);
  });
});
