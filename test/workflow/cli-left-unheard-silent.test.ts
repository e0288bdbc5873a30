import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A run leaves a job whose class no routing knows on a queue that only a Sidekiq process not heard
// from for more than 3 beats listens to (it may have been killed: its heartbeat hash lives 60 s
// after its last beat). leftUnheard and leftUnheardInSets counted that process as a listener, so
// the summary said "1 left in place" and nothing of where. Those queues are now said apart (as
// unheardSilent is for the queues jobs went to): in "Needs a look", in the verdict and in --json
// (leftUnheardSilent, leftInSetsUnheardSilent). The heartbeat is written as a killed process
// leaves it: `beat` 40 s old, its hash expiring in 20 s; another process beats on the new queue.
const redis = privateRedis();
const keys = new SidekiqKeys('');
const dir = mkdtempSync(join(tmpdir(), 'cli-left-unheard-silent-'));
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify({ A: 'new' }));
const now = () => Date.now() / 1000;
const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i}]`, jid: `${className}${i}`.padStart(24, '0') });
const last = (text: string) => text.trimEnd().split('\n').at(-1);
const SILENT = 'worker-1:4242:0a1b2c3d4e5f';

describe('jobs left in place on queues only Sidekiq processes not heard from listen to', { timeout: 180_000 }, () => {
  it('named apart in "Needs a look", the verdict and --json, dry and for real, exit 0, every job once', async () => {
    const source = redis.client();
    const a = [0, 1].map((i) => job('A', 'post_receive', i));
    const removed = job('RemovedWorker', 'post_receive', 2);
    const scheduled = job('RemovedWorker', 'post_receive', 3);
    await source.lpush('queue:post_receive', ...a, removed);
    await source.sadd('queues', 'post_receive');
    const dueAt = String(Math.floor(now()) + 3600);
    await source.zadd('schedule', dueAt, scheduled);
    await heartbeat(source, keys, 'web:1:aaaaaaaaaaaa', ['new'], { beatAt: now() });
    await heartbeat(source, keys, SILENT, ['post_receive'], { beatAt: now() - 40, beating: false });
    await source.pexpire(SILENT, 20_000);

    const dry = await runCli('run', '--redis', redis.url(), '--mapping', mapping, '--dry-run');
    const run = await runCli('run', '--redis', redis.url(), '--mapping', mapping);

    const warning = (verb: string) =>
      new RegExp(
        `\\nOnly Sidekiq processes not heard from for (3\\d|4\\d|5\\d) s \\(they may have been killed\\) listen to 1 queue\\(s\\) this run ${verb} jobs in place on \\(post_receive 1\\): none of the 1 other live Sidekiq process\\(es\\) on this Redis listens to them, so if those were killed those jobs never run as things stand\\.`,
      );
    const sets = (verb: string) =>
      new RegExp(
        `\\nOnly Sidekiq processes not heard from for (3\\d|4\\d|5\\d) s \\(they may have been killed\\) listen to 1 queue\\(s\\) that 1 schedule, retry or dead entries this run ${verb} in place name \\(post_receive 1\\): none of the 1 other live Sidekiq process\\(es\\) on this Redis listens to them, so if those were killed those entries land there when due and never run\\.`,
      );
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(warning('would leave'));
    expect(dry.stdout).toMatch(sets('would leave'));
    expect(last(dry.stdout)).toBe(
      'Dry run, nothing written: a run would move 2 job(s) and leave jobs behind: 2 left in place, 1 of them where only Sidekiq processes that may have been killed listen and 1 in sets for queues only such processes listen to (see "Needs a look" above).',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(warning('left'));
    expect(run.stdout).toMatch(sets('left'));
    expect(last(run.stdout)).toBe(
      'Done, but jobs were left behind: 2 left in place, 1 of them where only Sidekiq processes that may have been killed listen and 1 in sets for queues only such processes listen to (see "Needs a look" above).',
    );
    await expectExactJobs(source, '', [...a.map((p) => jobEntry('queue:new', withQueue(p, 'post_receive', 'new'))), jobEntry('queue:post_receive', removed), jobEntry('schedule', scheduled, dueAt)]);

    const json = await runCli('run', '--redis', redis.url(), '--mapping', mapping, '--json');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(parsed).not.toHaveProperty('leftUnheard');
    expect(parsed).toMatchObject({ leftUnheardSilent: { beatingProcesses: 1, total: 1, queues: [{ queue: 'post_receive', jobs: 1 }] }, leftInSetsUnheardSilent: { total: 1, queues: [{ queue: 'post_receive', jobs: 1 }] } });
  });
});
