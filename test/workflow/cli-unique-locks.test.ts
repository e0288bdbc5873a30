// Jobs of sidekiq-unique-jobs carry their lock digest, computed with their queue: the plan (dry
// run) and the summary warn with how many such jobs are sent to a new queue (issue 16, item 5).
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const cli = runCli;
const locked = (i: number, field = 'lock_digest') => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, extra: `"lock":"until_executed","${field}":"uniquejobs:${i}"` });

async function seed(): Promise<void> {
  await redis.source().lpush('queue:old', locked(1), locked(2, 'unique_digest'), sidekiqPayload({ className: 'A', queue: 'old' }));
  await redis.source().zadd('schedule', '1795459303.5', locked(3));
  // A duplicate digest member is not ours to judge: the job still moves.
  await redis.source().zadd('retry', '1795459303.5', sidekiqPayload({ className: 'A', queue: 'old', extra: '"lock_digest":"a","lock_digest":"b"' }));
}

describe('jobs with a sidekiq-unique-jobs digest', () => {
  it('the dry run warns how many would be sent to a new queue; the run says how many were', async () => {
    await seed();

    const planned = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--dry-run');
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain('Uniqueness locks: 4 job(s) that would be sent to a new queue carry a sidekiq-unique-jobs digest');

    const run = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).totals).toMatchObject({ moved: 5, unparsable: 0, uniqueLocked: 4 });

    const human = await cli('run', '--redis', redis.urls().source, '--rename', 'new=newer');
    expect(human.stdout).toContain('Uniqueness locks: 4 job(s) that were sent to a new queue carry a sidekiq-unique-jobs digest');
    expect(human.stdout).toContain('8.0.8');
  });

  it('a move that re-routes on the way counts them too; a move that keeps queues does not', async () => {
    await seed();

    const plain = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');
    expect(JSON.parse(plain.stdout).totals.uniqueLocked ?? 0).toBe(0);

    await seed();
    const rerouted = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--rename', 'old=new', '--json');
    expect(rerouted.code).toBe(0);
    expect(JSON.parse(rerouted.stdout).totals).toMatchObject({ uniqueLocked: 4 });
  });
});
