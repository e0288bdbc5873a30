// In-flight keys on the source that no resume writes back (a list named for a sorted set, a sorted
// set named for a queue, a key that is neither: not a shape a claim leaves, so every resume skips
// them, "left for an operator"). drain-check counted them, yet a move said 'Complete' over them.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const last = (text: string) => text.trimEnd().split('\n').at(-1);

describe('a move over in-flight keys on the source that no run finishes', () => {
  it('names them and ends "Done, but jobs were left behind", leaving them where they are', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const [moved, one, two, three] = [1, 2, 3, 4].map((i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    await source.sadd('queues', 'a');
    await source.lpush('queue:a', moved!);
    await source.rpush('sidekiq-migrate:old:inflight:retry', one!, two!);
    await source.zadd('sidekiq-migrate:old:inflight:queue:x', '1', three!);
    const odd = async () => Object.fromEntries(Object.entries(await keyValueSnapshot(source, 'sidekiq-migrate:old:')));
    const before = await odd();

    const dry = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--dry-run');
    const run = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    const named = '3 job(s) in in-flight keys on the source of a shape no transfer writes back (sidekiq-migrate:old:inflight:queue:x · sidekiq-migrate:old:inflight:retry: a list for a sorted set, a sorted set for a queue, or neither): no worker runs them and no run finishes them.';
    expect(dry.stdout).toContain(named);
    expect(last(dry.stdout)).toBe('Dry run, nothing written: a run would move 1 job(s) and leave jobs behind: 3 in in-flight keys on the source that no run finishes (see "Needs a look" above).');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(named);
    expect(last(run.stdout)).toBe('Done, but jobs were left behind: 3 in in-flight keys on the source that no run finishes (see "Needs a look" above).');
    expect(await odd()).toEqual(before);
    expect(await jobsIn(target)).toEqual([jobEntry('queue:a', moved!)]);
    expect(await jobsIn(source)).toEqual([]);
  });
});
