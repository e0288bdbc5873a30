import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A run that puts jobs on a queue no live Sidekiq process fetches from loses nothing, but those
// jobs wait until one does: "Complete" alone would send the operator on. The summary says which
// queues and how many jobs, while live processes run there; with none running (Sidekiq stopped
// for the migration) it says nothing, as every queue is unheard then.
const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const dir = mkdtempSync(join(tmpdir(), 'cli-unheard-'));
const mapping = join(dir, 'mapping.json');
// A slip: `defualt` is a typo of `default`. (A key name such as `queue:default` is refused before
// anything is touched: cli-routing-input.test.ts.)
writeFileSync(mapping, JSON.stringify({ A: 'defualt', B: 'default', C: 'spare' }));
const now = () => Math.floor(Date.now() / 1000);
const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i}]`, jid: `${className}${i}`.padStart(24, '0') });
const last = (text: string) => text.trimEnd().split('\n').at(-1);

describe('jobs put on queues nobody fetches from', { timeout: 180_000 }, () => {
  it('run --mapping names them in "Needs a look" and in its last line, dry and for real, and moves every job once', async () => {
    const source = redis.source();
    const a = [0, 1, 2].map((i) => job('A', 'old', i));
    const b = [3, 4].map((i) => job('B', 'old', i));
    const c = job('C', 'old', 5);
    const due = job('C', 'old', 6);
    await source.lpush('queue:old', ...a, ...b, c);
    await source.zadd('schedule', '1700000000', due);
    await source.sadd('queues', 'old');
    // Two live processes: neither fetches from `defualt` nor `spare`; a quiet one fetches from `spare`.
    await heartbeat(source, keys, 'web:1:aaaaaaaaaaaa', ['default', 'old'], { beatAt: now() });
    await heartbeat(source, keys, 'web:2:bbbbbbbbbbbb', ['default'], { beatAt: now() });
    await heartbeat(source, keys, 'web:3:cccccccccccc', ['spare'], { beatAt: now(), quiet: true });

    const dry = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--dry-run');
    const run = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping);
    const json = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--json');

    const warning = (verb: string) =>
      `Nobody fetches from 2 queue(s) this run ${verb} jobs on (defualt 3 · spare 2): none of the 2 live Sidekiq process(es) on this Redis listens to them, so those jobs wait until one does. Start a process on those queues, or correct the mapping or rules and run again (drain-check counts them as orphans).`;
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(warning('would put'));
    expect(last(dry.stdout)).toBe('Dry run, nothing written: a run would move 7 job(s) and leave none behind; 5 of them would go to queues nobody fetches from (see "Needs a look" above).');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(warning('put'));
    expect(last(run.stdout)).toBe('Complete: everything that could be moved was moved, but 5 of them went to queues nobody fetches from (see "Needs a look" above).');
    // The jobs went where the mapping said, each once; `default` is heard, so it is not named.
    await expectExactJobs(source, '', [
      ...a.map((p) => jobEntry('queue:defualt', withQueue(p, 'old', 'defualt'))),
      ...b.map((p) => jobEntry('queue:default', withQueue(p, 'old', 'default'))),
      jobEntry('queue:spare', withQueue(c, 'old', 'spare')),
      jobEntry('schedule', withQueue(due, 'old', 'spare'), '1700000000'),
    ]);
    // A run again finds everything in place: nothing put anywhere, nothing said.
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).not.toHaveProperty('unheard');
  });

  it('a run that also left jobs behind (a GitLab mail, a removed worker) still counts in its last line the jobs it put where nobody fetches', async () => {
    const source = redis.source();
    // A typo in the mapping (defualt) and a class it does not name (D): the verdict is "Done, but",
    // and it used to drop the count of jobs sent to the unheard queue, which only "Complete" carried.
    const a = [0, 1].map((i) => job('A', 'old', i));
    const d = job('D', 'old', 2);
    await source.lpush('queue:old', ...a, d);
    await source.sadd('queues', 'old');
    await heartbeat(source, keys, 'web:1:gggggggggggg', ['default', 'old'], { beatAt: now() });

    const dry = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--dry-run');
    const run = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping);

    // The dry run's last line said "1 left in place (…); 2 of them would go to queues nobody
    // fetches from": "them" read as the jobs left in place (2 of 1), not the jobs it would move.
    expect(dry.code).toBe(0);
    expect(last(dry.stdout)).toBe('Dry run, nothing written: a run would move 2 job(s) and leave jobs behind: 1 left in place; and 2 of the jobs it would move would go to queues nobody fetches from (see "Needs a look" above).');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Nobody fetches from 1 queue(s) this run put jobs on (defualt 2)');
    expect(last(run.stdout)).toBe('Done, but jobs were left behind: 1 left in place; and 2 of the jobs moved went to queues nobody fetches from (see "Needs a look" above).');
    await expectExactJobs(source, '', [...a.map((p) => jobEntry('queue:defualt', withQueue(p, 'old', 'defualt'))), jobEntry('queue:old', d)]);
  });

  it('says nothing when no live Sidekiq process runs there (stopped for the migration)', async () => {
    const source = redis.source();
    await source.lpush('queue:old', job('C', 'old', 1));
    await source.sadd('queues', 'old');
    // A process that stopped more than a minute ago: its hash is left, its beat is old.
    await heartbeat(source, keys, 'web:1:dddddddddddd', ['default'], { beatAt: now() - 120, stale: true });

    const run = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping);

    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('Nobody fetches');
    expect(last(run.stdout)).toBe('Complete: everything that could be moved was moved.');
  });

  it('move names the queues nobody fetches from on the target, where live processes run, and counts them in --json', async () => {
    const source = redis.source();
    const target = redis.target();
    const queued = [0, 1].map((i) => job('A', 'mailers', i));
    const other = job('B', 'default', 2);
    const due = job('C', 'low', 3);
    await source.lpush('queue:mailers', ...queued);
    await source.lpush('queue:default', other);
    await source.zadd('schedule', '1700000000', due);
    await source.sadd('queues', 'mailers', 'default');
    // The target's Sidekiq listens to `default` only: `mailers` waits there (the scheduled `low` job is in a set, not a queue yet).
    await heartbeat(target, keys, 'new:1:eeeeeeeeeeee', ['default'], { beatAt: now() });

    const move = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(move.code).toBe(0);
    expect(JSON.parse(move.stdout)).toMatchObject({ complete: true, unheard: { liveProcesses: 1, total: 1, queues: [{ queue: 'mailers', jobs: 2 }] } });
    await expectExactJobs(target, '', [...queued.map((p) => jobEntry('queue:mailers', p)), jobEntry('queue:default', other), jobEntry('schedule', due, '1700000000')]);
    await expectExactJobs(source, '', []);
    const human = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--dry-run');
    // Nothing left to move: nothing would be put anywhere.
    expect(human.stdout).not.toContain('Nobody fetches');
  });
  it('move of more queues than a summary names by destination (a GitLab with a queue per worker): no bucket named as a queue, and the one queue nobody fetches from is found among them', async () => {
    const source = redis.source();
    const target = redis.target();
    // 60 queues of one job each, more than the 50 destinations a summary names (run-tally.ts).
    const names = Array.from({ length: 60 }, (_, i) => `worker_${String(i).padStart(2, '0')}`);
    const jobs = names.map((queue, i) => job('A', queue, i));
    for (const [i, queue] of names.entries()) await source.lpush(`queue:${queue}`, jobs[i]!);
    await source.sadd('queues', ...names);
    // The target's Sidekiq listens to every queue but worker_57, which only the 58th item writes to.
    await heartbeat(target, keys, 'new:1:ffffffffffff', names.filter((q) => q !== 'worker_57'), { beatAt: now() });

    const move = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(move.code).toBe(0);
    expect(move.stdout).toContain('Nobody fetches from 1 queue(s) this run put jobs on (worker_57 1): none of the 1 live Sidekiq process(es) on the target listens to them');
    // The jobs counted under "(other queues)" in "Written to" went to queues, 9 of them heard.
    expect(move.stdout.split('\n').filter((line) => line.startsWith('Nobody fetches'))).toHaveLength(1);
    expect(last(move.stdout)).toBe('Complete: everything that could be moved was moved, but 1 of them went to queues nobody fetches from (see "Needs a look" above).');
    await expectExactJobs(target, '', names.map((queue, i) => jobEntry(`queue:${queue}`, jobs[i]!)));
    await expectExactJobs(source, '', []);
  });
});
