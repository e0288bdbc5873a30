// A shard move's step back (move --from SHARD --to MAIN) after its step there (move --from MAIN
// --to SHARD) was interrupted with jobs in flight on MAIN: those jobs wait in MAIN's in-flight
// keys, which no worker reads and which the step back, whose target MAIN is, does not finish (only
// the interrupted transfer, run again, does). The step back said 'Complete' over them.
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const last = (text: string) => text.trimEnd().split('\n').at(-1);

describe('a transfer into a Redis that holds jobs in flight from an interrupted transfer out of it', () => {
  it('names them and ends "Done, but jobs were left behind", leaving them where they are', async () => {
    const [main, shard] = [redis.source(), redis.target()];
    const [one, two, back] = [1, 2, 3].map((i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    await main.sadd('queues', 'a');
    await main.lpush('queue:a', one!, two!);
    // A key of the wrong type on the shard stops the write after its claim: the jobs wait in flight on main.
    await shard.set('queue:a', 'not a job key');
    const out = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);
    expect(out.code).toBe(1);
    await shard.del('queue:a');
    const inflight = await main.keys('sidekiq-migrate:*:inflight:queue:a');
    expect(inflight).toHaveLength(1);
    await shard.sadd('queues', 'b');
    await shard.lpush('queue:b', back!);

    const dry = await runCli('move', '--from', redis.urls().target, '--to', redis.urls().source, '--dry-run');
    const again = await runCli('move', '--from', redis.urls().target, '--to', redis.urls().source);

    const named = `2 job(s) in flight on the target, claimed there by an interrupted transfer out of it (${inflight[0]}): no worker runs them and this run does not finish them.`;
    expect(dry.stdout).toContain(named);
    expect(last(dry.stdout)).toBe('Dry run, nothing written: a run would move 1 job(s) and leave jobs behind: 2 in flight on the target from an interrupted transfer out of it (see "Needs a look" above).');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(named);
    expect(last(again.stdout)).toMatch(/^Done, but jobs were left behind: 2 in flight on the target from an interrupted transfer out of it/);
    // Where they were: in flight on main, untouched; the shard's job moved back.
    expect(await main.lrange(inflight[0]!, 0, -1)).toEqual(expect.arrayContaining([one, two]));
    expect((await allJobs(main, '')).map((j) => `${j.key} ${j.payload}`)).toContain(`queue:b ${back}`);
    expect(await shard.llen('queue:b')).toBe(0);
  });
});
