import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { readMoves } from '../../core/reroute/move-record.js';
import { reverseRoutingPlan } from '../../core/routing/reverse-plan.js';
import { movedOnSince } from '../../core/workflow/moved-on-since.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { jobsIn } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli as cli } from '../support/run-cli.js';

// Which later runs moved a rolled-back run's jobs on (moved-on-since.ts), from the records the
// runs keep, followed through chains and runs that brought the jobs back; and the bound of its
// search, said when reached (a rollback then never says "Complete").
// Emptied before each test.
const server = privateRedis();

const plan = async (runId: string) => reverseRoutingPlan(runId, (await readMoves(server.client(), '', runId))!);
const rename = async (runId: string, ...renames: string[]) => {
  const result = await cli('run', '--redis', server.url(), ...renames.flatMap((r) => ['--rename', r]), '--run-id', runId);
  expect(result.code, result.stderr).toBe(0);
};

describe('movedOnSince', { timeout: 60_000 }, () => {
  it('follows a chain (r1: a→b, r2: b→c, r3: c→d) to where the jobs are now, names r3 and r2 newest first; a rollback of r3 then leaves r2; jobs brought back where r1 put them are not named', async () => {
    await server.client().flushall();
    await server.client().rpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a' }), sidekiqPayload({ className: 'B', queue: 'a' }));
    await rename('r1', 'a=b');
    await rename('r2', 'b=c');
    await rename('r3', 'c=d');
    expect((await jobsIn(server.client())).map((j) => j.split('\t')[0])).toEqual(['queue:d', 'queue:d']);

    expect(await movedOnSince(server.client(), '', await plan('r1'))).toEqual({
      of: 'r1',
      runs: ['r3', 'r2'],
      totalRuns: 2,
      places: [
        { routedClass: 'A', from: 'b', now: 'd' },
        { routedClass: 'B', from: 'b', now: 'd' },
      ],
      totalPlaces: 2,
    });
    // r2's own rollback sees r3 only.
    expect((await movedOnSince(server.client(), '', await plan('r2')))?.runs).toEqual(['r3']);

    expect((await cli('rollback', 'r3', '--redis', server.url(), '--run-id', 'back-3')).code).toBe(0);
    expect((await movedOnSince(server.client(), '', await plan('r1')))?.runs).toEqual(['r2']);
    expect((await cli('rollback', 'r2', '--redis', server.url(), '--run-id', 'back-2')).code).toBe(0);
    // Back on b, where r1 put them: nothing moved on.
    expect(await movedOnSince(server.client(), '', await plan('r1'))).toBeUndefined();
    expect((await cli('rollback', 'r1', '--redis', server.url(), '--run-id', 'back-1')).code).toBe(0);
    expect((await jobsIn(server.client())).map((j) => j.split('\t')[0])).toEqual(['queue:a', 'queue:a']);
    // Rolled back already: its own rollback's moves (b→a, back where r1 took them from) name nothing.
    expect(await movedOnSince(server.client(), '', await plan('r1'))).toBeUndefined();
  });

  it('names a run started before the rolled-back one that moved its jobs on when run again after it (r0: a→b, r1: x→a, r0 again): its rollback never says "Complete"', async () => {
    await server.client().flushall();
    await server.client().rpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a' }));
    await server.client().rpush('queue:x', sidekiqPayload({ className: 'B', queue: 'x' }));
    await rename('r0', 'a=b');
    await rename('r1', 'x=a');
    // r0 run again with its own routing (its first plan fixed it): it drains a of r1's job too.
    await rename('r0', 'a=b');
    expect((await jobsIn(server.client())).map((j) => j.split('\t')[0])).toEqual(['queue:b', 'queue:b']);

    expect(await movedOnSince(server.client(), '', await plan('r1'))).toMatchObject({ of: 'r1', runs: ['r0'], places: [{ routedClass: 'B', from: 'a', now: 'b' }] });
    const back = await cli('rollback', 'r1', '--redis', server.url(), '--run-id', 'back-1');
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('Jobs of run r1 are no longer where it put them: later run(s) r0 moved them on');
    expect(back.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Done, but jobs were left behind: jobs of run r1 moved on by later run\(s\) r0 \(roll those back first\)/);
    // A run that ran before r1 only is still not named (r0's record, read before its second run, was).
    expect((await movedOnSince(server.client(), '', await plan('r0')))?.runs ?? []).not.toContain('r1');
  });

  it('names the queue the run put them on: r1 put B on x (from a) and on w (from c); r2 moved B on from x to y only', async () => {
    await server.client().flushall();
    await server.client().rpush('queue:a', sidekiqPayload({ className: 'B', queue: 'a' }));
    await server.client().rpush('queue:c', sidekiqPayload({ className: 'B', queue: 'c' }));
    await rename('r1', 'a=x', 'c=w');
    await rename('r2', 'x=y');

    expect(await movedOnSince(server.client(), '', await plan('r1'))).toEqual({ of: 'r1', runs: ['r2'], totalRuns: 1, places: [{ routedClass: 'B', from: 'x', now: 'y' }], totalPlaces: 1 });
  });

  it('a search of the keyspace cut short by its bound says so, and the summary never says "Complete" over it', async () => {
    await server.client().flushall();
    await server.client().rpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a' }));
    await rename('r1', 'a=b');
    const filler = server.client().pipeline();
    for (let i = 0; i < 5000; i++) filler.set(`cache:other:${i}`, '1');
    await filler.exec();

    const found = await movedOnSince(server.client(), '', await plan('r1'), 1000);
    expect(found).toEqual({ of: 'r1', runs: [], totalRuns: 0, places: [], totalPlaces: 0, cutShortAfter: 1000 });
    expect(await movedOnSince(server.client(), '', await plan('r1'))).toBeUndefined();

    // The rollback's summary, with that look's answer in it.
    const done = await cli('rollback', 'r1', '--redis', server.url(), '--json');
    const summary = { ...(JSON.parse(done.stdout) as RunSummary), movedOnSince: found };
    const out = renderSummary(summary, server.url());
    expect(out).toContain(
      "\nThe look for later runs that moved run r1's jobs on (their records, sidekiq-migrate:*:moves) was cut short after about 1,000 keys of this Redis: one it did not reach may have, and this rollback would not know. List them with redis-cli --scan --pattern '*sidekiq-migrate:*:moves'; roll back any run newer than r1 first.\n",
    );
    expect(out).not.toContain('no longer where it put them');
    expect(out.trimEnd().split('\n').at(-1)).toBe("Done, but jobs may have been left behind: the look for later runs that moved run r1's jobs on was cut short (see \"Needs a look\" above).");
  });
});
