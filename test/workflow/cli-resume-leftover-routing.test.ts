// Jobs left in flight by an interrupted routed move (here `--rename a=q1`; a shard move's `--store`
// is routed the same way) were finished by the next move with that move's routing: run without
// it, they went to the target's `queue:a`, a queue the interrupted run routed them away from,
// while what it had written of the same batch went to `q1`.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();

describe('jobs left in flight by an interrupted routed move', () => {
  it('are finished as that run routed them, whatever the routing of the move that finishes them', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const jobs = [1, 2, 3].map((i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    await source.sadd('queues', 'a');
    await source.lpush('queue:a', ...jobs);
    // A key of the wrong type on the target stops the write after its claim: the jobs wait in flight.
    await target.set('queue:q1', 'not a job key');
    const interrupted = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--rename', 'a=q1');
    expect(interrupted.code).toBe(1);
    expect(await source.keys('sidekiq-migrate:*:inflight:queue:a')).toHaveLength(1);
    await target.del('queue:q1');

    const rest = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(rest.code).toBe(0);
    expect(rest.stdout).toContain('Finished 3 job(s) left in flight by an interrupted run.');
    expect(await jobsIn(target)).toEqual(jobs.map((p) => jobEntry('queue:q1', withQueue(p, 'a', 'q1'))).sort());
    expect(await jobsIn(source)).toEqual([]);
  });
});
