// The verdict's tail for jobs put on queues only Sidekiq processes not heard from for more than 3
// beats listen to ("… went to queues listened to only by Sidekiq processes that may have been
// killed") was tested only in run's "Complete" verdict (cli-unheard-silent-listeners). Here: a
// run's "Done, but" (a job left in place beside it), and `move`'s, between two Redises, where the
// target's only listener of the destination is such a process. The heartbeat is written as a
// killed process leaves it: `beat` 40 s old, its hash expiring in 20 s; another process beats.
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

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const dir = mkdtempSync(join(tmpdir(), 'cli-unheard-silent-done-but-'));
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify({ A: 'default' }));
const last = (text: string) => text.trimEnd().split('\n').at(-1);
const now = () => Date.now() / 1000;
const SILENT = 'worker-1:4242:0a1b2c3d4e5f';
const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i}]`, jid: `${className}${i}`.padStart(24, '0') });

describe('the tail for queues listened to only by Sidekiq processes not heard from, beyond run\'s "Complete"', { timeout: 180_000 }, () => {
  it('run, "Done, but": the tail is kept beside the jobs left behind, dry and for real', async () => {
    const source = redis.source();
    const a = [0, 1, 2].map((i) => job('A', 'old', i));
    const removed = job('RemovedWorker', 'old', 3);
    await source.lpush('queue:old', ...a, removed);
    await source.sadd('queues', 'old');
    await heartbeat(source, keys, 'web:1:aaaaaaaaaaaa', ['other', 'old'], { beatAt: now() });
    await heartbeat(source, keys, SILENT, ['default'], { beatAt: now() - 40, beating: false });
    await source.pexpire(SILENT, 20_000);

    const dry = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--dry-run');
    expect(dry.code).toBe(0);
    expect(last(dry.stdout)).toBe(
      'Dry run, nothing written: a run would move 3 job(s) and leave jobs behind: 1 left in place; and 3 of the jobs it would move would go to queues listened to only by Sidekiq processes that may have been killed (see "Needs a look" above).',
    );
    const run = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping);
    expect(run.code).toBe(0);
    expect(last(run.stdout)).toBe('Done, but jobs were left behind: 1 left in place; and 3 of the jobs moved went to queues listened to only by Sidekiq processes that may have been killed (see "Needs a look" above).');
    await expectExactJobs(source, '', [...a.map((p) => jobEntry('queue:default', withQueue(p, 'old', 'default'))), jobEntry('queue:old', removed)]);
  });

  it('move: "Complete, but" with the tail, dry and for real; every job once', async () => {
    const source = redis.source();
    const target = redis.target();
    const queued = [0, 1].map((i) => job('A', 'mailers', i));
    const other = job('B', 'default', 2);
    await source.lpush('queue:mailers', ...queued);
    await source.lpush('queue:default', other);
    await source.sadd('queues', 'mailers', 'default');
    await heartbeat(target, keys, 'new:1:eeeeeeeeeeee', ['default'], { beatAt: now() });
    await heartbeat(target, keys, SILENT, ['mailers'], { beatAt: now() - 40, beating: false });
    await target.pexpire(SILENT, 20_000);

    const dry = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/\nOnly Sidekiq processes not heard from for (3\d|4\d|5\d) s \(they may have been killed\) listen to 1 queue\(s\) this run would put jobs on \(mailers 2\): none of the 1 other live Sidekiq process\(es\) on the target listens to them/);
    expect(last(dry.stdout)).toBe('Dry run, nothing written: a run would move 3 job(s) and leave none behind; 2 of them would go to queues listened to only by Sidekiq processes that may have been killed (see "Needs a look" above).');
    const move = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);
    expect(move.code).toBe(0);
    expect(move.stdout).toMatch(/\nOnly Sidekiq processes not heard from for (3\d|4\d|5\d) s \(they may have been killed\) listen to 1 queue\(s\) this run put jobs on \(mailers 2\): none of the 1 other live Sidekiq process\(es\) on the target listens to them/);
    expect(last(move.stdout)).toBe('Complete: everything that could be moved was moved, but 2 of them went to queues listened to only by Sidekiq processes that may have been killed (see "Needs a look" above).');
    await expectExactJobs(target, '', [...queued.map((p) => jobEntry('queue:mailers', p)), jobEntry('queue:default', other)]);
    await expectExactJobs(source, '', []);
  });
});
