// r1 moved class A to `new` from old1 and was rolled back (every job back on old1); then r2 moved
// class A to `new` from old2. Both runs' records of moves are kept 30 days.
//
// Defect (audit-rollbackrec): the plan's refusal of a rollback sharing a (class, queue) with another
// run (sharedPlacesAmong) counted r1 as a run whose jobs may still be on `new`: nothing lasting said
// that r1's rollback had finished. `rollback r2` was refused, naming r1 ("A rollback of run r2 would
// put back jobs another run moved: run r1 moved class A to new from old1 …"), exit 1, for the rest of
// the 30 days, though r1's jobs were all back on old1. And `rollback r1` a second time was refused
// naming r2 (or, with r2 rolled back, would take whatever reached `new` since). Now a rollback that
// finished with nothing left behind, over every set and queue, records it
// (`sidekiq-migrate:<run>:rolled-back`, 30 days): the plan leaves a run rolled back so (and not
// moved again since, nor its rollback rolled back) out of the shared places, and refuses a rollback
// of it again in words saying so.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const job = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: String(i).padStart(24, '0') });
const rollbackOf = async (c: ReturnType<typeof redis.client>, of: string): Promise<string> => {
  for (const key of await c.keys('sidekiq-migrate:*:routing')) if ((await c.get(key))?.includes(`"of":"${of}"`)) return key.slice('sidekiq-migrate:'.length, -':routing'.length);
  throw new Error(`no rollback of ${of}`);
};

describe('a run rolled back before another run moved its class to the same queue from another queue', { timeout: 180_000 }, () => {
  it('r1, rollback r1, r2, rollback r2 put every job back; rollback r1 again is refused as already rolled back, touching nothing', async () => {
    const c = redis.client();
    const fromOld1 = [job('old1', 1), job('old1', 2)];
    const fromOld2 = [job('old2', 3), job('old2', 4), job('old2', 5)];
    await c.rpush('queue:old1', ...fromOld1);
    await c.sadd('queues', 'old1');
    const original1 = await jobsIn(c);
    expect((await runCli('run', '--redis', redis.url(), '--rename', 'old1=new', '--run-id', 'r1')).code).toBe(0);
    const back1 = await runCli('rollback', 'r1', '--redis', redis.url());
    expect(back1.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(c)).toEqual(original1);
    const rb1 = await rollbackOf(c, 'r1');
    await c.rpush('queue:old2', ...fromOld2);
    await c.sadd('queues', 'old2');
    const original = await jobsIn(c);
    expect((await runCli('run', '--redis', redis.url(), '--rename', 'old2=new', '--run-id', 'r2')).code).toBe(0);
    expect(await jobsIn(c)).toEqual([...fromOld1.map((j) => jobEntry('queue:old1', j)), ...fromOld2.map((j) => jobEntry('queue:new', j.replace('"queue":"old2"', '"queue":"new"')))].sort());

    const dry2 = await runCli('rollback', 'r2', '--redis', redis.url(), '--dry-run');
    const back2 = await runCli('rollback', 'r2', '--redis', redis.url());

    expect(dry2.stderr).not.toContain('would put back jobs another run moved');
    expect(dry2.code).toBe(0);
    expect(dry2.stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: a rollback would put back 3 job(s) and leave none behind.');
    expect(back2.stderr).not.toContain('would put back jobs another run moved');
    expect(back2.code).toBe(0);
    expect(back2.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(c)).toEqual(original);
    // Kept as long as the runs' started-with records.
    for (const run of ['r1', 'r2']) expect(await c.ttl(`sidekiq-migrate:${run}:rolled-back`)).toBeGreaterThan(30 * 24 * 3600 - 120);

    // r1 a second time, dry or not: refused in words that say so, nothing touched.
    const words = (rollback: string) => new RegExp(
      `^Run r1 was rolled back already: rollback ${rollback} put back what it moved, leaving nothing behind, and finished at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\. ` +
        'A rollback of it again would move the jobs of its classes on the queues it moved them to, none of them its own now \\(jobs pushed there since, or moved there by another run\\): move those with a re-route of their own \\(sidekiq-migrate run\\)\\. ' +
        'Nothing was touched\\.\\n$',
    );
    const again = await runCli('rollback', 'r1', '--redis', redis.url());
    const againDry = await runCli('rollback', 'r1', '--redis', redis.url(), '--dry-run');
    expect(again).toMatchObject({ code: 1, stdout: '' });
    expect(again.stderr).toMatch(words(rb1));
    expect(againDry).toMatchObject({ code: 1, stdout: '' });
    expect(againDry.stderr).toMatch(words(rb1));
    expect(await jobsIn(c)).toEqual(original);
  });

  it('a rollback that was itself rolled back, or a run moved again after its rollback, is not taken as rolled back', async () => {
    const c = redis.client();
    const jobs = [job('old1', 1), job('old1', 2)];
    await c.rpush('queue:old1', ...jobs);
    await c.sadd('queues', 'old1');
    const original = await jobsIn(c);
    const onNew = jobs.map((j) => jobEntry('queue:new', j.replace('"queue":"old1"', '"queue":"new"'))).sort();
    expect((await runCli('run', '--redis', redis.url(), '--rename', 'old1=new', '--run-id', 'r1')).code).toBe(0);
    expect((await runCli('rollback', 'r1', '--redis', redis.url())).code).toBe(0);
    const rb1 = await rollbackOf(c, 'r1');
    // Its rollback rolled back: r1's jobs are on `new` again, and rolling r1 back puts them back.
    const redo = await runCli('rollback', rb1, '--redis', redis.url(), '--run-id', 'redo1');
    expect(redo.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(c)).toEqual(onNew);
    const again = await runCli('rollback', 'r1', '--redis', redis.url(), '--run-id', 'rb1-again');
    expect(again.stderr).not.toContain('rolled back already');
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(c)).toEqual(original);
    // r1 run again after that (its command again): it moved them again, its rollback puts them back.
    expect((await runCli('run', '--redis', redis.url(), '--rename', 'old1=new', '--run-id', 'r1')).code).toBe(0);
    expect(await jobsIn(c)).toEqual(onNew);
    const third = await runCli('rollback', 'r1', '--redis', redis.url(), '--run-id', 'rb1-third');
    expect(third.stderr).not.toContain('rolled back already');
    expect(third.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(c)).toEqual(original);
  });

  // audit-reviewb: the record of r1's rollback rb1 was left standing when rb1 was rolled back by a
  // rollback that did not end "Complete" (here "Done, but" over a job under another prefix; or one
  // killed midway, or continued): that rollback put r1's jobs back on `new` but wrote no record for
  // rb1, so r1 was still taken as rolled back. r2 then moved class A to `new` from old2, and
  // `rollback r2` was not refused: it put r1's jobs on old2, where they never were.
  it('a rollback of its rollback that did not end Complete still makes the run not rolled back: a rollback of a later run sharing its place is refused', async () => {
    const c = redis.client();
    const fromOld1 = [job('old1', 1), job('old1', 2)];
    await c.rpush('queue:old1', ...fromOld1);
    await c.sadd('queues', 'old1');
    expect((await runCli('run', '--redis', redis.url(), '--rename', 'old1=new', '--run-id', 'r1')).code).toBe(0);
    expect((await runCli('rollback', 'r1', '--redis', redis.url())).stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    const rb1 = await rollbackOf(c, 'r1');
    // A job under another prefix: the rollback of rb1 ends "Done, but", having put r1's jobs back on `new`.
    await c.rpush('resque:gitlab:queue:default', sidekiqPayload({ className: 'B', queue: 'default', args: '[9]' }));
    await c.sadd('resque:gitlab:queues', 'default');
    const redo = await runCli('rollback', rb1, '--redis', redis.url(), '--run-id', 'redo1');
    expect(redo.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Done, but jobs were left behind: 1 under other prefixes this rollback did not look at/);
    const onNew = fromOld1.map((j) => jobEntry('queue:new', j.replace('"queue":"old1"', '"queue":"new"')));
    expect((await jobsIn(c)).filter((e) => e.includes('queue:new'))).toEqual(onNew.sort());
    const fromOld2 = [job('old2', 3)];
    await c.rpush('queue:old2', ...fromOld2);
    await c.sadd('queues', 'old2');
    expect((await runCli('run', '--redis', redis.url(), '--rename', 'old2=new', '--run-id', 'r2')).code).toBe(0);
    const before = await jobsIn(c);

    const dry2 = await runCli('rollback', 'r2', '--redis', redis.url(), '--dry-run');
    const back2 = await runCli('rollback', 'r2', '--redis', redis.url());

    for (const r of [dry2, back2]) {
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain('A rollback of run r2 would put back jobs another run moved: run r1 moved class A to new from old1 (run r2 from old2).');
    }
    expect(await jobsIn(c)).toEqual(before);
    // And r1 itself may be rolled back again: its jobs are on `new`.
    const again = await runCli('rollback', 'r1', '--redis', redis.url(), '--dry-run');
    expect(again.stderr).not.toContain('rolled back already');
  });
});
