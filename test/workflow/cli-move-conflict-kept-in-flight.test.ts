// A set entry an interrupted transfer left in flight whose exact bytes are in the source set again
// and already in the target set: the resume meets it as a conflict, and cannot give it back (the
// source set would merge the two), so it stays in flight. The move said "Finished 1 job(s) left in
// flight by an interrupted run" over it, named it as left on the source, and never said it was
// still in flight, where no worker runs it.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const last = (text: string) => text.trimEnd().split('\n').at(-1);

describe('a conflict an interrupted transfer left in flight, its bytes back on the source', () => {
  it('is named as still in flight, never as finished, and the verdict counts it', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const c = sidekiqPayload({ className: 'W', queue: 'default', args: '["c"]', jid: 'c00000000000000000000000' });
    await source.sadd('queues', 'default');
    await source.zadd('schedule', '10', c);
    await target.zadd('schedule', '100', c);
    const inflight = 'sidekiq-migrate:old1:inflight:schedule';
    await source.zadd(inflight, '10', c);
    await source.set('sidekiq-migrate:old1:batch:schedule', 'b1');

    const run = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('Finished 1 job(s) left in flight');
    expect(run.stdout).toContain('Took up 1 job(s) left in flight by an interrupted run; 1 job(s) still in flight on the source (below).');
    expect(run.stdout).toContain(
      `1 job(s) still in flight on the source when the run ended (${inflight}): claimed by a transfer, not acknowledged — a set entry whose exact bytes are in the source set again (given back as a conflict, the two would merge), or a slice of a page that failed. No worker runs them. Run the same move again to finish them; an entry whose bytes are still in the source set stays in flight each time (the same bytes are in that set and on the target): delete it from the in-flight key by hand if it is a copy. drain-check counts them.`,
    );
    // The conflict given back (the run's own claim of the source's copy) is left on the source; the one kept in flight is not counted there too.
    expect(run.stdout).toContain('Left on the source, their bytes already in the target set (a sorted set would merge them): schedule 1: W (jid c00000000000000000000000)\n');
    expect(last(run.stdout)).toBe('Done, but jobs were left behind: 1 left in place · 1 still in flight on the source (see "Needs a look" above).');
    // Each copy where it was: nothing merged, nothing lost.
    expect(await jobsIn(target)).toEqual([jobEntry('schedule', c, '100')]);
    expect(await jobsIn(source)).toEqual([jobEntry('schedule', c, '10')]);
    expect(await source.zrange(inflight, 0, '-1')).toEqual([c]);
  });
});
