// A re-route (run) of a Redis holding jobs in flight from an interrupted transfer out of it: those
// jobs wait in the transfer's in-flight keys, which no worker reads and which a re-route does not
// move (only the interrupted transfer, run again, finishes them). The re-route said 'Complete'
// over them, as the transfer the other way did before b5be31c.
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const last = (text: string) => text.trimEnd().split('\n').at(-1);

describe('a re-route of a Redis that holds jobs in flight from an interrupted transfer out of it', () => {
  it('names them and ends "Done, but jobs were left behind", leaving them where they are', async () => {
    const [main, shard] = [redis.source(), redis.target()];
    const [one, two, three] = [1, 2, 3].map((i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    await main.sadd('queues', 'a');
    await main.lpush('queue:a', one!, two!);
    // A key of the wrong type on the shard stops the write after its claim: the jobs wait in flight on main.
    await shard.set('queue:a', 'not a job key');
    const out = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);
    expect(out.code).toBe(1);
    const inflight = await main.keys('sidekiq-migrate:*:inflight:queue:a');
    expect(inflight).toHaveLength(1);
    await main.lpush('queue:a', three!);

    const dry = await runCli('run', '--redis', redis.urls().source, '--rename', 'a=b', '--dry-run');
    const again = await runCli('run', '--redis', redis.urls().source, '--rename', 'a=b');

    const named = `2 job(s) in flight on this Redis, claimed by an interrupted transfer out of it (${inflight[0]}): no worker runs them and this run does not move them. Run that transfer again (the same move) to finish it; drain-check counts them.`;
    expect(dry.stdout).toContain(named);
    expect(last(dry.stdout)).toBe('Dry run, nothing written: a run would move 1 job(s) and leave jobs behind: 2 in flight from an interrupted transfer out of this Redis (see "Needs a look" above).');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(named);
    expect(last(again.stdout)).toBe('Done, but jobs were left behind: 2 in flight from an interrupted transfer out of this Redis (see "Needs a look" above).');
    expect(again.stdout).not.toContain('Complete');
    // Where they were: in flight, untouched; the job the re-route found moved to b.
    expect((await main.lrange(inflight[0]!, 0, -1)).sort()).toEqual([one, two].sort());
    expect((await allJobs(main, '')).filter((j) => !j.key.startsWith('sidekiq-migrate:')).map((j) => `${j.key} ${j.payload}`)).toEqual([`queue:b ${three!.replace('"queue":"a"', '"queue":"b"')}`]);
  });
});
