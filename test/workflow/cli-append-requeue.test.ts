import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { waitUntil } from '../support/wait-until.js';

// Queue placement `--append` against Sidekiq's RPUSH back onto the consumer end (a shutdown
// requeue, a reliable fetch's requeue): a class-selective oldest-first pass walks up from the
// oldest job, so a job pushed back below where it already is never comes into its window. A
// whole-queue transfer pass claims from the tail up to its mark, the newest original
// (claimQueueJobs-14.lua): the jobs pushed back under it are moved with every original.
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

describe('run --append with jobs pushed back at the consumer end while a worker still fetches from the queue', { timeout: 180_000 }, () => {
  it('two jobs of a mapped class pushed back below the pass, as many kept jobs fetched first: both counted as arrived and named, every job once', async () => {
    const source = redis.source();
    const rules = join(mkdtempSync(join(tmpdir(), 'cli-append-requeue-')), 'mapping.json');
    writeFileSync(rules, JSON.stringify({ A: 'new' }));
    const old = (className: string, i: number) => sidekiqPayload({ className, queue: 'old', args: `[${i}]`, jid: String(i).padStart(24, '0') });
    // The three oldest have no destination: the pass's first slice leaves them at the tail.
    const gone = [0, 1, 2].map((i) => old('Gone', i));
    const mapped = Array.from({ length: 3000 }, (_, i) => old('A', 100 + i));
    await source.lpush('queue:old', ...gone);
    for (let i = 0; i < mapped.length; i += 500) await source.lpush('queue:old', ...mapped.slice(i, i + 500));
    await source.sadd('queues', 'old');
    const requeued = [old('A', 10_000), old('A', 10_001)];

    // Once the first slice has moved its jobs, a worker on the old queue fetches two of the jobs
    // the pass left (the oldest end), and a stopping Sidekiq pushes two jobs it had fetched before
    // back there: the list's length and the pass's mark below the window are unchanged. In the
    // same MULTI, the queue as it then was: mapped jobs were still waiting, so the pass was under way.
    const run = runCli('run', '--redis', redis.urls().source, '--mapping', rules, '--append', '--page-size', '10');
    await waitUntil('the first slice moved jobs', async () => (await source.llen('queue:new')) > 0);
    const [[, fetched1], [, fetched2], , [, during]] = (await source.multi().rpop('queue:old').rpop('queue:old').rpush('queue:old', ...requeued).lrange('queue:old', 0, -1).exec()) as [[null, string], [null, string], [null, number], [null, string[]]];
    const { code, stdout } = await run;

    expect([fetched1, fetched2], 'the worker fetched two of the jobs left in place').toEqual([gone[0], gone[1]]);
    expect(during.filter((p) => mapped.includes(p)).length, 'the pass was under way').toBeGreaterThan(0);
    await expectExactJobs(source, '', [...[gone[2]!, ...requeued].map((p) => jobEntry('queue:old', p)), ...mapped.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new')))]);
    expect(code).toBe(0);
    expect(stdout).toContain('2 job(s) arrived on retired queues during the run (queue:old 2): not moved by this run; run again or see drain-check.');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 3 left in place, 3 of them where nobody fetches · 2 arrived on retired queues during the run (see "Needs a look" above).');
  });
});

describe('run --append with jobs pushed back under a pass that has left nothing at the tail', { timeout: 180_000 }, () => {
  it('the pass moves the pushed-back jobs in place of as many of the newest originals: those are named as not reached, not as arrived', async () => {
    const source = redis.source();
    const rules = join(mkdtempSync(join(tmpdir(), 'cli-append-requeue-')), 'mapping.json');
    writeFileSync(rules, JSON.stringify({ A: 'new' }));
    const old = (i: number) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, jid: String(i).padStart(24, '0') });
    const mapped = Array.from({ length: 3000 }, (_, i) => old(100 + i));
    for (let i = 0; i < mapped.length; i += 500) await source.lpush('queue:old', ...mapped.slice(i, i + 500));
    await source.sadd('queues', 'old');
    const requeued = [old(10_000), old(10_001)];
    const late = [old(20_000), old(20_001), old(20_002)];

    // Once the first slice has moved its jobs, a stopping Sidekiq pushes two jobs it had fetched
    // before the run back onto the consumer end (RPUSH), where the pass reads its next window, and
    // a producer on old rules pushes three (LPUSH). In the same MULTI, the queue as it then was:
    // mapped jobs were still waiting, so the pass was under way.
    const run = runCli('run', '--redis', redis.urls().source, '--mapping', rules, '--append', '--page-size', '10');
    await waitUntil('the first slice moved jobs', async () => (await source.llen('queue:new')) > 0);
    const [, , [, during]] = (await source.multi().rpush('queue:old', ...requeued).lpush('queue:old', ...late).lrange('queue:old', 0, -1).exec()) as [[null, number], [null, number], [null, string[]]];
    const { code, stdout } = await run;

    expect(during.filter((p) => mapped.includes(p)).length, 'the pass was under way').toBeGreaterThan(0);
    // Which jobs move is as before: the pushed-back two, and every original but the two newest.
    const notReached = mapped.slice(-2);
    await expectExactJobs(source, '', [
      ...[...notReached, ...late].map((p) => jobEntry('queue:old', p)),
      ...[...mapped.slice(0, -2), ...requeued].map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))),
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain(
      '\n2 job(s) that were on retired queues when the run began were not reached (queue:old 2): jobs a stopping Sidekiq pushed back under the pass (RPUSH) were moved in their place. Run again to move them.\n',
    );
    expect(stdout).toContain('\n3 job(s) arrived on retired queues during the run (queue:old 3): not moved by this run; run again or see drain-check.\n');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe(
      'Done, but jobs were left behind: 2 not reached on retired queues · 3 arrived on retired queues during the run (see "Needs a look" above).',
    );
  });
});

describe('rollback --append with jobs pushed back under its pass that has left nothing at the tail', { timeout: 180_000 }, () => {
  it("the same, a rollback's words: not reached and arrived on the queues it drains, roll back oops again (audit-truth)", async () => {
    const source = redis.source();
    const job = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: String(i).padStart(24, '0') });
    const originals = Array.from({ length: 3000 }, (_, i) => job('old', 100 + i));
    for (let i = 0; i < originals.length; i += 500) await source.lpush('queue:old', ...originals.slice(i, i + 500));
    await source.sadd('queues', 'old');
    expect((await runCli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--run-id', 'oops')).code).toBe(0);
    const moved = originals.map((p) => withQueue(p, 'old', 'new'));
    // Jobs of A on the queue oops moved them to, by clients still on its rules.
    const requeued = [job('new', 10_000), job('new', 10_001)];
    const late = [job('new', 20_000), job('new', 20_001), job('new', 20_002)];

    const back = runCli('rollback', 'oops', '--redis', redis.urls().source, '--append', '--page-size', '10');
    await waitUntil('the first slice put jobs back', async () => (await source.llen('queue:old')) > 0);
    const [, , [, during]] = (await source.multi().rpush('queue:new', ...requeued).lpush('queue:new', ...late).lrange('queue:new', 0, -1).exec()) as [[null, number], [null, number], [null, string[]]];
    const { code, stdout } = await back;

    expect(during.filter((p) => moved.includes(p)).length, 'the pass was under way').toBeGreaterThan(0);
    const notReached = moved.slice(-2);
    await expectExactJobs(source, '', [
      ...[...notReached, ...late].map((p) => jobEntry('queue:new', p)),
      ...[...moved.slice(0, -2), ...requeued].map((p) => jobEntry('queue:old', withQueue(p, 'new', 'old'))),
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain(
      '\n2 job(s) that were on the queues this rollback drains when it began were not reached (queue:new 2): jobs a stopping Sidekiq pushed back under the pass (RPUSH) were moved in their place. Roll back oops again to move them back.\n',
    );
    expect(stdout).toContain('\n3 job(s) arrived during the rollback on the queues it drains, those run oops moved jobs to (queue:new 3): not moved back by this rollback; roll back oops again or see drain-check.\n');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe(
      'Done, but jobs were left behind: 2 not reached on the queues the rollback drains · 3 arrived during the rollback on the queues it drains (see "Needs a look" above).',
    );
    expect(stdout).not.toMatch(/retired queues|[Rr]un again/);

    // What it says to do does it: rolled back again, every job of A is back on `old`, once.
    const again = await runCli('rollback', 'oops', '--redis', redis.urls().source);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    await expectExactJobs(source, '', [...moved, ...requeued, ...late].map((p) => jobEntry('queue:old', withQueue(p, 'new', 'old'))));
  });
});

describe('move --classes: a selected job pushed back onto a queue after its item ended, while the run goes on', { timeout: 180_000 }, () => {
  it.each([['front', []], ['append', ['--append']]] as const)('%s: counted and named, never "Complete"', async (_, flags) => {
    const source = redis.source();
    const queued = Array.from({ length: 4 }, (_, i) => job(i % 2 ? MOVING : STAYING, i));
    await source.lpush('queue:default', ...queued);
    await source.sadd('queues', 'default');
    // 300 retries of the class, rate-limited: the run goes on well after the queue's one slice.
    const retries = Array.from({ length: 300 }, (_, i) => [String(2_000_000_000 + i), job(MOVING, 100 + i)] as const);
    await source.zadd('retry', ...retries.flat());
    const requeued = job(MOVING, 1000);

    const move = runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', MOVING, ...flags, '--page-size', '5', '--rate-limit', '100');
    await waitUntil('the queue item moved its two jobs', async () => (await redis.target().llen('queue:default')) === 2);
    const [[, retriesLeft]] = (await source.multi().zcard('retry').rpush('queue:default', requeued).exec()) as [[null, number]];
    const { code, stdout } = await move;

    expect(retriesLeft, 'the run was still moving the retry set').toBeGreaterThan(0);
    await expectExactJobs(source, '', [...[queued[0]!, queued[2]!, requeued].map((p) => jobEntry('queue:default', p))]);
    await expectExactJobs(redis.target(), '', [...[queued[1]!, queued[3]!].map((p) => jobEntry('queue:default', p)), ...retries.map(([score, p]) => jobEntry('retry', p, score))]);
    expect(code).toBe(0);
    expect(stdout).toContain('1 job(s) still on the source when their transfer ended, added during the run (queue:default 1): run move again or see drain-check.');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs remain on the source (1, above): run move again.');
    expect(stdout).not.toContain('Complete');
  });
});

describe('move --append with jobs a stopping Sidekiq pushes back (RPUSH, the consumer end) during the pass', { timeout: 180_000 }, () => {
  it('every original and every job pushed back is moved; what a producer pushed meanwhile stays, and only that is called "added during the run"', async () => {
    const source = redis.source();
    const originals = Array.from({ length: 40 }, (_, i) => job(MOVING, i));
    await source.lpush('queue:default', ...originals);
    await source.sadd('queues', 'default');
    const requeued = [0, 1, 2].map((i) => job(MOVING, 1000 + i));
    const pushed = [0, 1].map((i) => job(MOVING, 2000 + i));

    // Rate-limited, so that the pass takes several slices; once the first slice has written its
    // jobs to the target, a stopping Sidekiq pushes three jobs it had fetched back onto the
    // consumer end (RPUSH) and a producer pushes two (LPUSH). In the same MULTI, the queue as it
    // then was: originals were still waiting, so the pass was under way.
    const move = runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--append', '--page-size', '4', '--rate-limit', '20');
    await waitUntil('the first slice wrote to the target', async () => (await redis.target().llen('queue:default')) > 0);
    const [, , [, during]] = (await source.multi().rpush('queue:default', ...requeued).lpush('queue:default', ...pushed).lrange('queue:default', 0, -1).exec()) as [[null, number], [null, number], [null, string[]]];
    const { code, stdout } = await move;

    expect(during.filter((p) => originals.includes(p)).length, 'the pass was under way').toBeGreaterThan(0);
    await expectExactJobs(source, '', pushed.map((p) => jobEntry('queue:default', p)), 'only what the producer pushed');
    await expectExactJobs(redis.target(), '', [...originals, ...requeued].map((p) => jobEntry('queue:default', p)), 'every original and every job pushed back, once');
    expect(code).toBe(0);
    expect(stdout).toContain('2 job(s) still on the source when their transfer ended, added during the run (queue:default 2): run move again or see drain-check.');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs remain on the source (2, above): run move again.');
    expect(stdout).not.toContain('Complete');
  });
});
