import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { waitUntil } from '../support/wait-until.js';

// Queue placement `--append` against Sidekiq's RPUSH back onto the consumer end (a shutdown
// requeue, a reliable fetch's requeue): a class-selective oldest-first pass walks up from the
// oldest job, so a job pushed back below where it already is never comes into its window.
const redis = privateSourceAndTarget();

const MOVING = 'RepositoryArchiveCacheWorker';
const STAYING = 'Namespaces::PruneAggregationSchedulesWorker';
const job = (className: string, i: number) => sidekiqPayload({ className, args: `[${i}]`, jid: String(i).padStart(24, '0') });

/** 40 jobs on queue:default, every other one of the moving class; the oldest (first pushed) at the right end. */
async function seed(): Promise<{ moving: string[]; staying: string[] }> {
  const moving: string[] = [];
  const staying: string[] = [];
  for (let i = 0; i < 40; i++) (i % 2 === 0 ? moving : staying).push(job(i % 2 === 0 ? MOVING : STAYING, i));
  const all = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? moving[i / 2]! : staying[(i - 1) / 2]!));
  await redis.source().lpush('queue:default', ...all);
  await redis.source().sadd('queues', 'default');
  return { moving, staying };
}

describe('move --classes --append with a job pushed back at the consumer end during the pass', { timeout: 180_000 }, () => {
  it('a selected job RPUSHed below the pass is not called "Complete": it is counted, named with its queue, and stays exactly once', async () => {
    const { moving, staying } = await seed();
    const requeued = job(MOVING, 1000);
    const source = redis.source();

    // Rate-limited, so that the pass takes several slices; once the first slice has written its
    // jobs to the target (the pass is past the bottom of the queue), a stopping Sidekiq pushes a
    // job of the moving class back onto the consumer end. In one MULTI with the push, the queue as
    // it then was: it still held jobs the pass had yet to take, so the pass was under way.
    const move = runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', MOVING, '--append', '--page-size', '4', '--rate-limit', '20');
    await waitUntil('the first slice wrote to the target', async () => (await redis.target().llen('queue:default')) > 0);
    const [, [, during]] = (await source.multi().rpush('queue:default', requeued).lrange('queue:default', 0, -1).exec()) as [[null, number], [null, string[]]];
    const { code, stdout } = await move;

    expect(during.filter((p) => moving.includes(p)).length, 'the pass was under way when the job was pushed back').toBeGreaterThan(0);
    await expectExactJobs(source, '', [...staying, requeued].map((p) => jobEntry('queue:default', p)), 'the staying class and the job pushed back');
    await expectExactJobs(redis.target(), '', moving.map((p) => jobEntry('queue:default', p)), 'every job of the class that was there at the start, once');
    expect(code).toBe(0);
    expect(stdout).toContain('1 job(s) still on the source when their transfer ended, added during the run (queue:default 1): run move again or see drain-check.');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs remain on the source (1, above): run move again.');
    expect(stdout).not.toContain('Complete');
  });
});
