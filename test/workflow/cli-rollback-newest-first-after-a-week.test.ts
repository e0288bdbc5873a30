// Rolled back newest first (r1: a→b, r2: b→c; rollback r2, then rollback r1), more than 7 days
// after the rollback of r2 ran.
//
// Defect (audit-reviewb): the plan's refusal of a rollback sharing a (class, queue) with another
// run (a5b8b5a5, sharedPlacesAmong) leaves rollbacks' records out, telling a rollback by the routing
// its plan stored (`sidekiq-migrate:<run>:routing`), which expires after 7 days, where its record of
// moves (c→b, the queue r1 put A on, from another queue) is kept 30. A week after `rollback r2`,
// `rollback r1` was refused ("A rollback of run r1 would put back jobs another run moved: run
// <rollback of r2> moved class A to b from c …"), exit 1, for the rest of the 30 days: the order
// the tool itself asks for could not be finished. Now a rollback is also told by its started-with
// record (kept as long as its moves), so r1 is put back, every job as before the runs.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keysUnder, withQueue } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();

describe('rolled back newest first, a week after the newer rollback', { timeout: 120_000 }, () => {
  it("the older run's rollback is not refused over the newer rollback's record: every job is back", async () => {
    const c = redis.client();
    const queued = [0, 1, 2].map((i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]`, jid: String(i).padStart(24, '0') }));
    for (const p of queued) await c.rpush('queue:a', p);
    await c.sadd('queues', 'a');
    const original = await jobsIn(c);
    expect((await runCli('run', '--redis', redis.url(), '--rename', 'a=b', '--run-id', 'r1')).code).toBe(0);
    expect((await runCli('run', '--redis', redis.url(), '--rename', 'b=c', '--run-id', 'r2')).code).toBe(0);
    const back2 = await runCli('rollback', 'r2', '--redis', redis.url());
    expect(back2.code).toBe(0);
    expect(await jobsIn(c)).toEqual(queued.map((p) => jobEntry('queue:b', withQueue(p, 'a', 'b'))).sort());

    // 7 days on: the rollback's stored routing has expired (RUN_PLAN_TTL_SECONDS); its record of
    // moves and its started-with record (30 days) are kept.
    const routings = (await keysUnder(c, 'sidekiq-migrate:')).filter((k) => k.endsWith(':routing'));
    const ofR2: string[] = [];
    for (const key of routings) if ((await c.get(key))?.includes('"of":"r2"')) ofR2.push(key);
    expect(ofR2).toHaveLength(1);
    const rollbackId = ofR2[0]!.slice('sidekiq-migrate:'.length, -':routing'.length);
    expect(await c.exists(`sidekiq-migrate:${rollbackId}:moves`, `sidekiq-migrate:${rollbackId}:started-with`)).toBe(2);
    for (const key of routings) await c.del(key);

    const dry = await runCli('rollback', 'r1', '--redis', redis.url(), '--dry-run');
    const back1 = await runCli('rollback', 'r1', '--redis', redis.url());

    expect(dry.stderr).not.toContain('would put back jobs another run moved');
    expect(dry.code).toBe(0);
    expect(dry.stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: a rollback would put back 3 job(s) and leave none behind.');
    expect(back1.stderr).not.toContain('would put back jobs another run moved');
    expect(back1.code).toBe(0);
    expect(back1.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(c)).toEqual(original);
  });
});
