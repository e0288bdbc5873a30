// A rollback's "Needs a look" about queues nobody fetches said what fits `run` only (audit-truth):
// "correct the mapping or rules and run again" over the queues it put jobs back on (a rollback has
// no mapping or rules, and run again it moves nothing there), and "Route their class … and run
// again, run again with --unmapped quarantine" over jobs it cannot put back (quarantine changes
// nothing in a rollback). Each now says the rollback's truth; `run`'s words are unchanged.
import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { leftBehindOf } from '../../core/workflow/left-behind.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const keys = new SidekiqKeys('');
const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1);
/** One live process on this Redis, listening to `queues` only (its heartbeat, not beating on: the snapshot stays still). */
const listening = (queues: readonly string[]) => heartbeat(redis.client(), keys, 'web-1:9:cccccccccccc', queues, { beatAt: Date.now() / 1000, beating: false });

describe("a rollback's words about queues nobody fetches", { timeout: 120_000 }, () => {
  it('jobs put back on a queue no live process listens to: start a process there, the queue run oops took them from (not "correct the mapping or rules and run again")', async () => {
    const c = redis.client();
    const jobs = [sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }), sidekiqPayload({ className: 'A', queue: 'old', args: '[2]' })];
    await c.lpush('queue:old', ...jobs);
    await c.sadd('queues', 'old');
    await listening(['new']);
    expect((await runCli('run', '--redis', redis.url(), '--rename', 'old=new', '--run-id', 'oops')).code).toBe(0);

    // A dry run of it says the same, as what it would do (before it: once rolled back, a rollback of oops again is refused).
    const dry = await runCli('rollback', 'oops', '--redis', redis.url(), '--dry-run');
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toContain('\nNobody fetches from 1 queue(s) this rollback would put jobs back on (old 2): ');

    const back = await runCli('rollback', 'oops', '--redis', redis.url());

    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await jobsIn(c)).toEqual(jobs.map((j) => jobEntry('queue:old', j)).sort());
    expect(back.stdout).toContain(
      '\nNobody fetches from 1 queue(s) this rollback put jobs back on (old 2): none of the 1 live Sidekiq process(es) on this Redis listens to them, so those jobs wait until one does. Start a process on those queues: they are the queues run oops took those jobs from (drain-check counts them as orphans).\n',
    );
    expect(back.stdout).not.toMatch(/mapping or rules|run again/);
    expect(lastLine(back.stdout)).toBe('Complete: everything that could be moved was moved, but 2 of them went to queues nobody fetches from (see "Needs a look" above).');
  });

  it('jobs it cannot put back, on a queue no live process listens to: a listener, or by hand (not "run again with --unmapped quarantine", which changes nothing in a rollback)', async () => {
    const c = redis.client();
    // Class A from two queues to one: the rollback cannot tell which each came from.
    const jobs = [sidekiqPayload({ className: 'A', queue: 'old1', args: '[1]' }), sidekiqPayload({ className: 'A', queue: 'old2', args: '[2]' })];
    await c.lpush('queue:old1', jobs[0]!);
    await c.lpush('queue:old2', jobs[1]!);
    await c.sadd('queues', 'old1', 'old2');
    // And a retry entry of A: the same (which queue it named before is not known per job).
    const retried = sidekiqPayload({ className: 'A', queue: 'old1', args: '[3]' });
    await c.zadd('retry', '2000000000', retried);
    await listening(['new']);
    expect((await runCli('run', '--redis', redis.url(), '--rename', 'old1=new', '--rename', 'old2=new', '--run-id', 'oops')).code).toBe(0);
    const renamed = jobs.map((j) => j.replace(/"queue":"old\d"/, '"queue":"new"'));
    const retriedOnNew = retried.replace('"queue":"old1"', '"queue":"new"');
    // Sidekiq restarted on the old queues before the rollback; an unparsable entry landed in schedule.
    await listening(['old1', 'old2']);
    await c.zadd('schedule', '2000000001', '{"class":"A","args":[');

    const back = await runCli('rollback', 'oops', '--redis', redis.url());

    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await jobsIn(c)).toEqual([...renamed.map((j) => jobEntry('queue:new', j)), jobEntry('retry', retriedOnNew, '2000000000'), jobEntry('schedule', '{"class":"A","args":[', '2000000001')].sort());
    // Each line about what it left in place names the rollback, not "this run" (audit-truth2), and "unmapped" is what it cannot put back.
    expect(back.stdout).toContain('\nJobs left in place (cannot be put back, unparsable, conflicts) by set and queue: queue:new 2 · schedule 1 · retry 1\n');
    expect(back.stdout).toContain(
      '\nNobody fetches from 1 queue(s) this rollback left jobs in place on (new 2): none of the 1 live Sidekiq process(es) on this Redis listens to them, so those jobs never run as things stand. Give those queues a listener, or move those jobs by hand to the queue each came from before run oops (the samples say why this rollback cannot put them back; drain-check: orphans).\n',
    );
    expect(back.stdout).toContain(
      '\nNobody fetches from 1 queue(s) that 1 schedule, retry or dead entries this rollback left in place name (new 1): none of the 1 live Sidekiq process(es) on this Redis listens to them, so when those entries come due (a dead one: when retried) they land there and never run as things stand. Give those queues a listener, or move those entries by hand to the queue each named before run oops (the samples say why this rollback cannot put them back; drain-check: "for queues nobody fetches" per set).\n',
    );
    expect(back.stdout).toContain(
      "\n1 unparsable schedule, retry or dead entries this rollback left in place name no queue it can read: where Sidekiq's poller would push them when due (a dead one: when retried), and whether anybody fetches there, is not known. Mend or delete them by hand (the samples of unparsable jobs show some; drain-check counts them among the entries for queues nobody fetches).\n",
    );
    expect(back.stdout).not.toMatch(/--unmapped quarantine|run again|this run\b|\(unmapped/);
    const verdict = 'Done, but jobs were left behind: 4 left in place, 2 of them where nobody fetches and 1 in sets for queues nobody fetches and 1 in sets naming no queue it can read (see "Needs a look" above).';
    expect(lastLine(back.stdout)).toBe(verdict);

    // Its dry run, as what it would do; --json's verdict the same.
    const dry = await runCli('rollback', 'oops', '--redis', redis.url(), '--dry-run');
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toContain('\nNobody fetches from 1 queue(s) this rollback would leave jobs in place on (new 2): ');
    expect(dry.stdout).toContain('\nNobody fetches from 1 queue(s) that 1 schedule, retry or dead entries this rollback would leave in place name (new 1): ');
    expect(dry.stdout).toContain('\n1 unparsable schedule, retry or dead entries this rollback would leave in place name no queue it can read: ');
    expect(dry.stdout).not.toMatch(/this run\b/);
    const json = await runCli('rollback', 'oops', '--redis', redis.url(), '--json');
    expect(json.code, json.stdout + json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { verdict: unknown }).verdict).toEqual({ state: 'done-but', line: verdict });
    // watch/status of a deployed rollback: renderSummary told nothing but the summary's rollbackOf.
    const deployed = renderSummary(JSON.parse(json.stdout) as RunSummary, redis.url(), { width: 1000 });
    expect(deployed).toContain('\nLeft in place, cannot be put back (the samples say why): A 3\n');
    expect(deployed).toContain('\nJobs left in place (cannot be put back, unparsable, conflicts) by set and queue: queue:new 2 · schedule 1 · retry 1\n');
    expect(deployed).toContain('\nNobody fetches from 1 queue(s) this rollback left jobs in place on (new 2): ');
    expect(deployed).not.toMatch(/this run\b|\(unmapped|no destination/);
    expect(await jobsIn(c)).toEqual([...renamed.map((j) => jobEntry('queue:new', j)), jobEntry('retry', retriedOnNew, '2000000000'), jobEntry('schedule', '{"class":"A","args":[', '2000000001')].sort());
  });

  it('jobs under other prefixes: not looked at by this rollback, none of them the rolled-back run\'s (not "run again with --namespace … to move them"); the verdict and the deployed log line say "this rollback"', async () => {
    const c = redis.client();
    const mine = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' });
    await c.lpush('queue:old', mine);
    await c.sadd('queues', 'old');
    const other = sidekiqPayload({ className: 'A', queue: 'default', args: '[2]' });
    await c.rpush('resque:gitlab:queue:default', other);
    await c.sadd('resque:gitlab:queues', 'default');
    expect((await runCli('run', '--redis', redis.url(), '--rename', 'old=new', '--run-id', 'oops')).code).toBe(0);
    const words =
      '\nNot looked at by this rollback (other prefixes of this Redis: "resque:gitlab:"), 1 job(s): resque:gitlab:queue:default 1. This rollback works under no prefix only, where run oops moved jobs: none of those are its to put back.\n';

    const dry = await runCli('rollback', 'oops', '--redis', redis.url(), '--dry-run');
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toContain(words);
    expect(lastLine(dry.stdout)).toBe('Dry run, nothing written: a rollback would put back 1 job(s) and leave jobs behind: 1 under other prefixes this rollback did not look at (see "Needs a look" above).');

    const back = await runCli('rollback', 'oops', '--redis', redis.url(), '--json');

    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await jobsIn(c)).toEqual([jobEntry('queue:old', mine), jobEntry('resque:gitlab:queue:default', other)].sort());
    const summary = JSON.parse(back.stdout) as RunSummary & { verdict: unknown };
    const verdict = 'Done, but jobs were left behind: 1 under other prefixes this rollback did not look at (see "Needs a look" above).';
    expect(summary.verdict).toEqual({ state: 'done-but', line: verdict });
    expect(leftBehindOf(summary)).toMatchObject({ verdict: 'left', left: ['1 under other prefixes this rollback did not look at'] });
    const shown = renderSummary(summary, redis.url(), { width: 1000 });
    expect(shown).toContain(words);
    expect(shown).not.toMatch(/this run\b|run again/);
    expect(lastLine(shown)).toBe(verdict);
  });

  it("run's words for the same queues stay as they were", async () => {
    const c = redis.client();
    await c.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
    await c.sadd('queues', 'old');
    await listening(['old']);

    const run = await runCli('run', '--redis', redis.url(), '--rename', 'old=new');

    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(
      '\nNobody fetches from 1 queue(s) this run put jobs on (new 1): none of the 1 live Sidekiq process(es) on this Redis listens to them, so those jobs wait until one does. Start a process on those queues, or correct the mapping or rules and run again (drain-check counts them as orphans).\n',
    );
  });
});
