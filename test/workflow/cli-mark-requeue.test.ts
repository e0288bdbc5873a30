import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { waitUntil } from '../support/wait-until.js';

// A stopping Sidekiq pushes the jobs it had fetched back onto the consumer end (RPUSH) while a
// pass is under way, and a producer pushes at the head (LPUSH). A pass bounded by a count of
// originals took the jobs pushed back in place of as many of the newest originals, which stayed on
// the source called "added during the run". The whole-queue `front` pass (claimQueueJobs-14.lua) and
// the class-selective `append` pass (claimSelectedQueueJobs-11.lua) end at a mark, as the
// whole-queue `append` pass does (cli-append-requeue): every original moves, and only what the
// producer pushed is called added.
const redis = privateSourceAndTarget();

const MOVING = 'RepositoryArchiveCacheWorker';
const STAYING = 'Namespaces::PruneAggregationSchedulesWorker';
const job = (className: string, i: number) => sidekiqPayload({ className, args: `[${i}]`, jid: String(i).padStart(24, '0') });

/** Pushes `jobs` (oldest first) onto queue:default, the oldest at the consumer end. */
async function seed(jobs: readonly string[]): Promise<void> {
  await redis.source().lpush('queue:default', ...jobs);
  await redis.source().sadd('queues', 'default');
}

/**
 * Once the first slice has written to the target, pushes `requeued` back at the consumer end and
 * `pushed` at the head, in one MULTI with a read of the queue as it then was.
 */
async function requeueDuring(move: Promise<unknown>, requeued: readonly string[], pushed: readonly string[]): Promise<string[]> {
  await waitUntil('the first slice wrote to the target', async () => (await redis.target().llen('queue:default')) > 0);
  const replies = (await redis.source().multi().rpush('queue:default', ...requeued).lpush('queue:default', ...pushed).lrange('queue:default', 0, -1).exec()) as [Error | null, unknown][];
  void move;
  return replies[2]![1] as string[];
}

describe('move (front) with jobs a stopping Sidekiq pushes back (RPUSH) during the pass', { timeout: 180_000 }, () => {
  it('every original and every job pushed back is moved; only what a producer pushed stays, called "added during the run"', async () => {
    const originals = Array.from({ length: 40 }, (_, i) => job(MOVING, i));
    await seed(originals);
    const requeued = [0, 1, 2].map((i) => job(MOVING, 1000 + i));
    const pushed = [0, 1].map((i) => job(MOVING, 2000 + i));

    const move = runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--page-size', '4', '--rate-limit', '20');
    const during = await requeueDuring(move, requeued, pushed);
    const { code, stdout } = await move;

    expect(during.filter((p) => originals.includes(p)).length, 'the pass was under way').toBeGreaterThan(0);
    await expectExactJobs(redis.source(), '', pushed.map((p) => jobEntry('queue:default', p)), 'only what the producer pushed');
    await expectExactJobs(redis.target(), '', [...originals, ...requeued].map((p) => jobEntry('queue:default', p)), 'every original and every job pushed back, once');
    expect(code).toBe(0);
    expect(stdout).toContain('2 job(s) still on the source when their transfer ended, added during the run (queue:default 2): run move again or see drain-check.');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs remain on the source (2, above): run move again.');
  });
});

describe('move --classes --append with jobs a stopping Sidekiq pushes back (RPUSH) during the pass', { timeout: 180_000 }, () => {
  it('every job of the queue selected: the ones pushed back come into a window and move; every original moves, only the producer\'s are called added', async () => {
    const originals = Array.from({ length: 40 }, (_, i) => job(MOVING, i));
    await seed(originals);
    const requeued = [0, 1, 2].map((i) => job(MOVING, 1000 + i));
    const pushed = [0, 1].map((i) => job(MOVING, 2000 + i));

    const move = runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', MOVING, '--append', '--page-size', '4', '--rate-limit', '20');
    const during = await requeueDuring(move, requeued, pushed);
    const { code, stdout } = await move;

    expect(during.filter((p) => originals.includes(p)).length, 'the pass was under way').toBeGreaterThan(0);
    await expectExactJobs(redis.source(), '', pushed.map((p) => jobEntry('queue:default', p)), 'only what the producer pushed');
    await expectExactJobs(redis.target(), '', [...originals, ...requeued].map((p) => jobEntry('queue:default', p)), 'every original and every job pushed back, once');
    expect(code).toBe(0);
    expect(stdout).toContain('2 job(s) still on the source when their transfer ended, added during the run (queue:default 2): run move again or see drain-check.');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs remain on the source (2, above): run move again.');
  });

  it('every other job stays: 20 of the staying class pushed back (further than the pass looks for its anchor): every original of the class moves', async () => {
    const originals = Array.from({ length: 40 }, (_, i) => job(i % 2 === 0 ? MOVING : STAYING, i));
    await seed(originals);
    const requeued = Array.from({ length: 20 }, (_, i) => job(STAYING, 1000 + i));
    const pushed = [0, 1].map((i) => job(MOVING, 2000 + i));

    const move = runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', MOVING, '--append', '--page-size', '4', '--rate-limit', '20');
    const during = await requeueDuring(move, requeued, pushed);
    const { code, stdout } = await move;

    const moving = originals.filter((p) => p.includes(MOVING));
    expect(during.filter((p) => moving.includes(p)).length, 'the pass was under way').toBeGreaterThan(0);
    await expectExactJobs(redis.source(), '', [...originals.filter((p) => !moving.includes(p)), ...requeued, ...pushed].map((p) => jobEntry('queue:default', p)), 'the staying class, the jobs pushed back, what the producer pushed');
    await expectExactJobs(redis.target(), '', moving.map((p) => jobEntry('queue:default', p)), 'every original of the class, once');
    expect(code).toBe(0);
    expect(stdout).toContain('2 job(s) still on the source when their transfer ended, added during the run (queue:default 2): run move again or see drain-check.');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs remain on the source (2, above): run move again.');
  });
});
