import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { movedSome } from '../support/cli-child.js';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { jobEntry, jobsIn, keyValueSnapshot, withQueue } from '../support/exact-jobs.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { summaryVerdict } from '../../cli/workflow/render-summary.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-rollback-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new' }));

const cli = runCli;

async function seed(n = 8): Promise<void> {
  for (let i = 0; i < n; i++) {
    await redis.client().lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await redis.client().zadd('schedule', String(2e9 + i), sidekiqPayload({ className: 'A', queue: 'old', args: `[${100 + i}]` }));
  }
}

const jobs = async () => (await allJobs(redis.client(), '')).filter((j) => !j.key.startsWith('sidekiq-migrate:') || j.key.startsWith('sidekiq-migrate:quarantine:'));
const sortedJobs = (all: Awaited<ReturnType<typeof jobs>>) => all.map((j) => JSON.stringify(j)).sort();

describe('sidekiq-migrate rollback', () => {
  it('puts a run\'s jobs back, prints one summary object with --json, and exits 0', async () => {
    await seed();
    const before = await jobs();
    expect((await cli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'oops-1', '--json')).code).toBe(0);

    const { code, stdout, stderr } = await cli('rollback', 'oops-1', '--redis', redis.url(), '--json', '--page-size', '3');

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toMatchObject({ mode: 'reroute', complete: true, runId: expect.stringMatching(/^rollback-\d{8}-\d{6}-[0-9a-f]{4}$/), totals: { moved: 16, movedTo: { old: 16 } } });
    expect(await jobs()).toEqual(before);
  });

  it('the human view shows where jobs went back to; --dry-run writes nothing', async () => {
    await seed(3);
    await cli('run', '--redis', redis.url(), '--rename', 'old=new', '--run-id', 'oops-2');
    const before = await keyValueSnapshot(redis.client(), 'queue:');

    const dry = await cli('rollback', 'oops-2', '--redis', redis.url(), '--dry-run', '--run-id', 'back-2');

    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^Re-route redis:\/\/127\.0\.0\.1:\d+ — run back-2 — DRY RUN/m);
    expect(dry.stdout).toContain('Moved to: old 6');
    // What a rollback would do, not "a run would move" (audit-truth2).
    expect(dry.stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: a rollback would put back 6 job(s) and leave none behind.');
    expect(await keyValueSnapshot(redis.client(), 'queue:')).toEqual(before);
    expect(await redis.client().exists('sidekiq-migrate:back-2:moves')).toBe(0);

    const { code, stdout } = await cli('rollback', 'oops-2', '--redis', redis.url());

    expect(code).toBe(0);
    expect(stdout).toMatch(/^queue:new +3 +3 /m);
    expect(stdout).toContain('Complete: everything that could be moved was moved.');
    expect(await redis.client().llen('queue:old')).toBe(3);
  });

  it("says Complete after putting a class back from a live queue that keeps other classes' jobs", async () => {
    // The wrong run sent A to default, a queue that holds B's jobs too: the rollback drains default
    // of A only and leaves B's jobs there (`already`), which arrived on no queue.
    writeFileSync(join(dir, 'to-default.json'), JSON.stringify({ A: 'default' }));
    for (let i = 0; i < 3; i++) await redis.client().lpush('queue:default', sidekiqPayload({ className: 'B', queue: 'default', args: `[${i}]` }));
    for (let i = 0; i < 4; i++) await redis.client().lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    const before = await jobs();
    expect((await cli('run', '--redis', redis.url(), '--mapping', join(dir, 'to-default.json'), '--run-id', 'oops-3')).code).toBe(0);

    const { code, stdout } = await cli('rollback', 'oops-3', '--redis', redis.url());

    expect(code).toBe(0);
    expect(await jobs()).toEqual(before);
    expect(stdout).not.toContain('arrived');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
  });

  it("counts as arrived only jobs of the classes it puts back: producers keep pushing other classes to the live queue it drains", async () => {
    writeFileSync(join(dir, 'to-default.json'), JSON.stringify({ A: 'default' }));
    const many = Array.from({ length: 3000 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    for (let i = 0; i < many.length; i += 500) await redis.client().lpush('queue:old', ...many.slice(i, i + 500));
    expect((await cli('run', '--redis', redis.url(), '--mapping', join(dir, 'to-default.json'), '--run-id', 'oops-4')).code).toBe(0);

    // GitLab with the old rules again: B's jobs keep arriving on default while A's go back.
    const producer = new Redis(redis.url(), { protocol: 2 });
    let running = true;
    let pushed = 0;
    const producing = (async () => {
      while (running) {
        await producer.lpush('queue:default', sidekiqPayload({ className: 'B', queue: 'default', args: `[${pushed++}]` }));
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const { code, stdout } = await cli('rollback', 'oops-4', '--redis', redis.url(), '--page-size', '100');
    running = false;
    await producing;
    producer.disconnect();

    expect(code).toBe(0);
    expect(pushed).toBeGreaterThan(0);
    expect(await redis.client().llen('queue:old')).toBe(3000);
    expect(await redis.client().llen('queue:default')).toBe(pushed);
    expect(stdout).not.toContain('arrived');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
  });

  it("gives back every job's exact bytes: an ActiveJob queue_name the run left alone, a missing or escaped queue, Unicode names", async () => {
    const wrapper = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';
    const activeJob = (cls: string, queue: string, queueName: string) =>
      `{"retry":true,"queue":${JSON.stringify(queue)},"wrapped":"${cls}","args":[{"job_class":"${cls}","queue_name":${JSON.stringify(queueName)},"arguments":[1.0]}],"class":"${wrapper}","jid":"${cls.toLowerCase()}"}`;
    writeFileSync(join(dir, 'shapes.json'), JSON.stringify({ Kept: 'new', Along: 'new', Other: 'new', NoQueue: 'new', Escaped: 'new', Spelled: 'new', Unicode: 'nëw ✓' }));
    // Kept's queue_name already names the destination, so the run leaves it; Along's follows its queue.
    await redis.client().lpush('queue:old', activeJob('Kept', 'old', 'new'), activeJob('Along', 'old', 'old'));
    await redis.client().lpush('queue:old', '{"class":"NoQueue","args":[2],"jid":"n1"}', '{"class":"Escaped","queue":"\\u006fld","args":[3],"jid":"e1"}');
    await redis.client().lpush('queue:ölð', sidekiqPayload({ className: 'Unicode', queue: 'ölð' }));
    await redis.client().zadd('retry', '1795459303.5', activeJob('Kept', 'old', 'new'), '1795459304', activeJob('Other', 'ölð', 'ölð'));
    await redis.client().zadd('schedule', '1795459305', '{"class":"Spelled","queue":"\\u006f\\u006cd","args":[4]}');
    const before = await jobs();
    expect((await cli('run', '--redis', redis.url(), '--mapping', join(dir, 'shapes.json'), '--run-id', 'shapes-1')).code).toBe(0);
    expect((await redis.client().lrange('queue:new', 0, -1)).filter((j) => j.includes('"wrapped":"Kept"'))).toEqual([activeJob('Kept', 'new', 'new')]);

    const dry = await cli('rollback', 'shapes-1', '--redis', redis.url(), '--dry-run');
    const { code, stdout } = await cli('rollback', 'shapes-1', '--redis', redis.url());

    expect(dry.stdout).toContain('Moved to (2 queues): old 6 · ölð 2');
    expect(code).toBe(0);
    expect(stdout).toContain('Moved to (2 queues): old 6 · ölð 2');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobs()).toEqual(before);
  });

  it('names the jobs it cannot put back as such; its dry run writes nothing and counts what it then does', async () => {
    // A's retries named two queues: the run moved both to `new`, which cannot be undone per job.
    await seed(2);
    await redis.client().zadd('retry', '2000000100', sidekiqPayload({ className: 'A', queue: 'other', args: '[7]' }));
    await redis.client().lpush('queue:old', '{"class":"A","args":[', sidekiqPayload({ className: 'B', queue: 'old' }));
    expect((await cli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'oops-5')).code).toBe(0);
    const before = await keyValueSnapshot(redis.client(), '');
    const ttl = await redis.client().pttl('sidekiq-migrate:oops-5:moves');

    const dry = await cli('rollback', 'oops-5', '--redis', redis.url(), '--dry-run', '--json');
    const written = await keyValueSnapshot(redis.client(), '');
    // Every key's value and whether it expires as before; the record's expiry not renewed.
    expect(await redis.client().pttl('sidekiq-migrate:oops-5:moves')).toBeLessThanOrEqual(ttl);
    const { code, stdout } = await cli('rollback', 'oops-5', '--redis', redis.url(), '--json');
    const human = await cli('rollback', 'oops-5', '--redis', redis.url(), '--dry-run');

    expect(written).toEqual(before);
    expect(code).toBe(0);
    const [predicted, done] = [JSON.parse(dry.stdout), JSON.parse(stdout)];
    const pick = (s: { totals: Record<string, unknown> }) => {
      const { scanned, moved, alreadyRouted, unmapped, unparsable, conflicts, quarantined, movedTo } = s.totals;
      return { scanned, moved, alreadyRouted, unmapped, unparsable, conflicts, quarantined, movedTo };
    };
    expect(pick(predicted)).toEqual(pick(done));
    expect(pick(done)).toMatchObject({ moved: 0, unmapped: 5, unparsable: 0 });
    // --json's verdict, and watch/status of a deployed one (renderSummary told nothing but the summary's rollbackOf): a rollback's words.
    const dryLine = 'Dry run, nothing written: a rollback would put back 0 job(s) and leave jobs behind: 5 left in place (see "Needs a look" above).';
    expect(predicted.verdict).toEqual({ state: 'dry-run', line: dryLine });
    expect(human.code).toBe(0);
    expect(human.stdout.trimEnd().split('\n').at(-1)).toBe(dryLine);
    expect(summaryVerdict(predicted as RunSummary, redis.url()).line).toBe(dryLine);
    expect(human.stdout).toContain('Left in place, cannot be put back (the samples say why): A 5');
    expect(human.stdout).toContain('moved such jobs here from several queues (old, other): cannot tell which one each came from');
  });

  it('exits 2 with one clear message for a run that recorded nothing, touching nothing', async () => {
    await seed(2);
    const before = await keyValueSnapshot(redis.client(), '');

    const { code, stdout, stderr } = await cli('rollback', 'no-such-run', '--redis', redis.url());

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^Run no-such-run recorded no moves on redis:\/\/127\.0\.0\.1:\d+: it moved nothing, was a dry run, is older than 30 days, or was a transfer\.\n$/);
    expect(await keyValueSnapshot(redis.client(), '')).toEqual(before);
  });

  it('exits 2 naming the prefix where the run recorded its moves, when --namespace names another', async () => {
    // After GitLab's namespace move both layouts hold jobs: the run was under resque:gitlab:.
    await redis.client().lpush('resque:gitlab:queue:old', sidekiqPayload({ className: 'A', queue: 'old' }));
    await redis.client().lpush('queue:default', sidekiqPayload({ className: 'B', queue: 'default' }));
    expect((await cli('run', '--redis', redis.url(), '--namespace', 'resque:gitlab', '--mapping', mappingFile, '--run-id', 'ns-1')).code).toBe(0);
    const before = await keyValueSnapshot(redis.client());

    const { code, stdout, stderr } = await cli('rollback', 'ns-1', '--redis', redis.url());

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^Run ns-1 recorded no moves on redis:\/\/127\.0\.0\.1:\d+, but its record is on this Redis under the prefix "resque:gitlab:": use --namespace resque:gitlab:\.\n$/);
    expect(await keyValueSnapshot(redis.client())).toEqual(before);
  });

  it('a rollback of a run whose jobs a later run moved on (r1: a→b, then r2: b→c) names r2 and what to do, never "Complete"; its dry run says so too; rolled back newest first, every job is back', async () => {
    const queued = [0, 1, 2].map((i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    const scheduled = sidekiqPayload({ className: 'A', queue: 'a', args: '[9]' });
    for (const p of queued) await redis.client().rpush('queue:a', p);
    await redis.client().zadd('schedule', '2000000000', scheduled);
    await redis.client().sadd('queues', 'a');
    const original = await jobsIn(redis.client());
    expect((await cli('run', '--redis', redis.url(), '--rename', 'a=b', '--run-id', 'r1')).code).toBe(0);
    expect((await cli('run', '--redis', redis.url(), '--rename', 'b=c', '--run-id', 'r2')).code).toBe(0);
    const onC = [...queued.map((p) => jobEntry('queue:c', withQueue(p, 'a', 'c'))), jobEntry('schedule', withQueue(scheduled, 'a', 'c'), '2000000000')].sort();
    expect(await jobsIn(redis.client())).toEqual(onC);
    const warning =
      'Jobs of run r1 are no longer where it put them: later run(s) r2 moved them on (by the records, class and queue it put them on → where they are now: A b → c). ' +
      'This rollback VERB those back. Roll back the later run(s) first, newest first (sidekiq-migrate rollback r2), then roll back r1 again.';

    const dry = await cli('rollback', 'r1', '--redis', redis.url(), '--dry-run');
    const { code, stdout } = await cli('rollback', 'r1', '--redis', redis.url());

    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`Needs a look:\n${warning.replace('VERB', 'would not put')}\n`);
    expect(dry.stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: a rollback would put back 0 job(s) and leave jobs behind: jobs of run r1 moved on by later run(s) r2 (roll those back first) (see "Needs a look" above).');
    expect(code).toBe(0);
    expect(stdout).toContain(`Needs a look:\n${warning.replace('VERB', 'did not put')}\n`);
    expect(stdout).not.toContain('Complete');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: jobs of run r1 moved on by later run(s) r2 (roll those back first) (see "Needs a look" above).');
    // It put nothing back: every job where r2 put it.
    expect(await jobsIn(redis.client())).toEqual(onC);

    // Newest first: r2, then r1 again (the rollback of r2 moved them back to b, where r1 put them).
    const back2 = await cli('rollback', 'r2', '--redis', redis.url());
    const back1 = await cli('rollback', 'r1', '--redis', redis.url());

    expect(back2.code).toBe(0);
    expect(back2.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(back1.code).toBe(0);
    expect(back1.stdout).not.toContain('no longer where it put them');
    expect(back1.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(redis.client())).toEqual(original);
  });

  it('a run before it that moved the same class on from its destination (r0: b→c, then r1: a→b) is not named: the rollback of r1 puts every job back, "Complete"', async () => {
    const early = sidekiqPayload({ className: 'A', queue: 'b', args: '[0]' });
    await redis.client().rpush('queue:b', early);
    expect((await cli('run', '--redis', redis.url(), '--rename', 'b=c', '--run-id', 'r0')).code).toBe(0);
    const queued = [1, 2].map((i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    for (const p of queued) await redis.client().rpush('queue:a', p);
    const before = await jobsIn(redis.client());
    expect((await cli('run', '--redis', redis.url(), '--rename', 'a=b', '--run-id', 'r1')).code).toBe(0);

    const { code, stdout } = await cli('rollback', 'r1', '--redis', redis.url());

    expect(code).toBe(0);
    expect(stdout).not.toContain('no longer where it put them');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(redis.client())).toEqual(before);
  });

  it.each([
    [['rollback', '--redis', 'redis://127.0.0.1:1'], "missing required argument 'run'"],
    [['rollback', 'bad id', '--redis', 'redis://127.0.0.1:1'], 'RUN: "bad id" is not a run id'],
    [['rollback', 'r1'], '--redis: required'],
    [['rollback', 'r1', '--redis', 'redis://127.0.0.1:1', '--unmapped', 'drop'], '--unmapped: must be leave or quarantine'],
    [['rollback', 'r1', '--redis', 'redis://127.0.0.1:1', '--mapping', 'm.json'], "unknown option '--mapping'"],
  ])('exits 2 on bad usage: %j', async (args, message) => {
    const { code, stdout, stderr } = await cli(...args);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
  });
  it('rollback of a run whose process was killed mid-run says that its process is gone and what to do, touching nothing; once that run is finished, the rollback puts every job back', async () => {
    await seed(200);
    const before = await jobs();
    const run = ['run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'oops-d', '--page-size', '3'];
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...run], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_, signal) => resolve(signal)));
    await movedSome(child);
    child.kill('SIGKILL');
    // Killed mid-run: it had not finished (jobs are still on their old queue).
    expect(await exited).toBe('SIGKILL');
    expect((await jobs()).some((j) => j.key === 'queue:old' || j.payload.includes('"queue":"old"'))).toBe(true);
    const untouched = await keyValueSnapshot(redis.client());

    const refused = await cli('rollback', 'oops-d', '--redis', redis.url());

    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /^Run oops-d was interrupted: its process on this machine \(pid \d+\) is gone, and its run lock on redis:\/\/127\.0\.0\.1:\d+ holds for 1[12]\d\d s more\. To roll it back, run this rollback again once that lock has expired: it puts back what oops-d moved \(the jobs it had not moved are still where they were\)\. Or finish oops-d at once by running its command again \(it resumes oops-d\), then roll it back\. Nothing was touched\.\n$/,
    );
    expect(await keyValueSnapshot(redis.client())).toEqual(untouched);
    // A dry run takes no lock: it counts what the rollback would put back.
    const dry = await cli('rollback', 'oops-d', '--redis', redis.url(), '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ totals: { moved: expect.any(Number) } });
    expect(await keyValueSnapshot(redis.client())).toEqual(untouched);

    expect((await cli(...run)).code).toBe(0);
    const back = await cli('rollback', 'oops-d', '--redis', redis.url());

    expect(back.code).toBe(0);
    expect(await jobs()).toEqual(before);
  });

  it('rollback of a run whose process was killed mid-run, run again once its lock has expired, puts back what it moved: every job as before the run', async () => {
    await seed(200);
    const before = await jobs();
    const run = ['run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'oops-e', '--page-size', '3'];
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...run], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_, signal) => resolve(signal)));
    await movedSome(child);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect((await jobs()).some((j) => j.payload.includes('"queue":"new"'))).toBe(true);
    expect((await cli('rollback', 'oops-e', '--redis', redis.url())).code).toBe(1);
    // Its lock expires (20 minutes on): its expiry, in its value, is moved to the server's past.
    const lock = JSON.parse((await redis.client().get('sidekiq-migrate:lock'))!) as { runId: string; expiresAt: number };
    const [seconds] = await redis.client().time();
    await redis.client().set('sidekiq-migrate:lock', JSON.stringify({ ...lock, expiresAt: Number(seconds) * 1000 - 1 }));

    const back = await cli('rollback', 'oops-e', '--redis', redis.url());

    expect(lock.runId).toBe('oops-e');
    expect(back.stderr).not.toMatch(/locked|interrupted/);
    expect(back.code).toBe(0);
    // Every job once, on its queue or set as before the run (in queue:old, the jobs put back are
    // ahead of those the run had not reached: the rollback's default placement, `front`).
    const sorted = (all: typeof before) => all.map((j) => JSON.stringify(j)).sort();
    expect(sorted(await jobs())).toEqual(sorted(before));
  });

  it("a resumed rollback names the quarantine lists earlier runs filled as theirs alone: a rollback quarantines nothing (not \"or from this run before it was resumed\")", async () => {
    await seed(200);
    // An earlier run's quarantine list, which nobody runs.
    const quarantined = sidekiqPayload({ className: 'Z', queue: 'gone', args: '[1]' });
    await redis.client().lpush('sidekiq-migrate:quarantine:gone', quarantined);
    const before = await jobs();
    expect((await cli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'oops-q')).code).toBe(0);
    const rollback = ['rollback', 'oops-q', '--redis', redis.url(), '--page-size', '3', '--unmapped', 'quarantine'];
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...rollback], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve) => child.stderr!.on('data', (d: Buffer) => d.toString().includes(' moved') && resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const again = await cli(...rollback);

    expect(again.stderr).toMatch(/^Resuming rollback run rollback-\S+, whose process on this machine is gone\.$/m);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('\n1 job(s) in quarantine lists from earlier runs, which nobody runs: sidekiq-migrate:quarantine:gone 1. Put them back on a queue or delete them by hand (drain-check counts them).\n');
    expect(again.stdout).not.toContain('this run');
    // What it did before it was resumed is the rollback's, put back (audit-truth2: "What the run moved").
    expect(again.stdout).toContain("\nResumed: the counts below are this command's only. What this rollback put back before it was resumed is where it put it and is not counted here; drain-check shows what is left.\n");
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 1 in quarantine lists from earlier runs (see "Needs a look" above).');
    expect(sortedJobs(await jobs())).toEqual(sortedJobs(before));
  });

  it("a run after a rollback whose process died on this machine does not take the rollback's run id (its moves would be recorded as a rollback's, which the rollback runbook never lists): it is refused, naming the interrupted rollback and what to do, touching nothing, and the rollback run again finishes", async () => {
    await seed(200);
    const before = await jobs();
    expect((await cli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'oops-k')).code).toBe(0);
    const rollback = ['rollback', 'oops-k', '--redis', redis.url(), '--page-size', '3'];
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...rollback], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve) => child.stderr!.on('data', (d: Buffer) => d.toString().includes(' moved') && resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await redis.client().lpush('queue:other', sidekiqPayload({ className: 'B', queue: 'other' }));
    // Every key and value as it was, expiries included (keyValueSnapshot compares their instants,
    // so the records' TTLs counting down meanwhile are no change).
    const state = () => keyValueSnapshot(redis.client());
    const untouched = await state();

    const other = await cli('run', '--redis', redis.url(), '--rename', 'other=elsewhere');

    expect(other.stderr).not.toContain('Resuming run rollback-');
    expect(other.stderr).toMatch(
      /^Run (rollback-\d{8}-\d{6}-[0-9a-f]{4}) \(reroute\) was interrupted: its process on this machine \(pid \d+\) is gone, and its run lock on redis:\/\/127\.0\.0\.1:\d+ holds for 1[12]\d\d s more\. Finish it by running its command again \(it resumes \1\), then run this command again; or run this command again once that lock has expired\. Nothing was touched\.\n$/,
    );
    expect(other.code).toBe(1);
    expect(await state()).toEqual(untouched);

    const again = await cli(...rollback);

    expect(again.stderr).toMatch(/^Resuming rollback run rollback-\S+, whose process on this machine is gone\.$/m);
    expect(again.code).toBe(0);
    expect((await jobs()).filter((j) => j.key !== 'queue:other')).toEqual(before);
  });
});
