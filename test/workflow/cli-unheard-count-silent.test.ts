// The warning for queues nobody fetches from ("Nobody fetches from 1 queue(s) this run put jobs
// on (…): none of the 2 live Sidekiq process(es) on this Redis listens to them") counted a Sidekiq
// process not heard from for more than 3 beats (it may have been killed: its heartbeat hash lives
// 60 s after its last beat) among the live processes that would fetch if told to. It is now said
// apart, in the words and in --json (unheard.notHeardFrom; liveProcesses keeps its meaning). The
// heartbeat is written as a killed process leaves it: `beat` 40 s old, its hash expiring in 20 s.
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
const dir = mkdtempSync(join(tmpdir(), 'cli-unheard-count-silent-'));
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify({ A: 'defualt' }));
const SILENT = 'worker-1:4242:0a1b2c3d4e5f';

describe('the count of live processes in "Nobody fetches from" with a process not heard from', { timeout: 180_000 }, () => {
  it('says the silent one apart from those that beat, in words and --json, and moves every job once', async () => {
    const source = redis.source();
    const a = [0, 1].map((i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, jid: `A${i}`.padStart(24, '0') }));
    await source.lpush('queue:old', ...a);
    await source.sadd('queues', 'old');
    await heartbeat(source, keys, 'web:1:aaaaaaaaaaaa', ['other', 'old'], { beatAt: Date.now() / 1000 });
    await heartbeat(source, keys, SILENT, ['mailers'], { beatAt: Date.now() / 1000 - 40, beating: false });
    await source.pexpire(SILENT, 20_000);

    const run = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /\nNobody fetches from 1 queue\(s\) this run put jobs on \(defualt 2\): none of the 1 live Sidekiq process\(es\) on this Redis that beat, nor the 1 not heard from for (3\d|4\d|5\d) s \(they may have been killed\), listens to them, so those jobs wait until one does\./,
    );
    await expectExactJobs(source, '', a.map((p) => jobEntry('queue:defualt', withQueue(p, 'old', 'defualt'))));

    // Only the silent one left: none beats.
    await source.del('web:1:aaaaaaaaaaaa');
    await source.srem('processes', 'web:1:aaaaaaaaaaaa');
    const b = sidekiqPayload({ className: 'A', queue: 'old', args: '[9]', jid: 'A9'.padStart(24, '0') });
    await source.lpush('queue:old', b);
    const again = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--dry-run');
    expect(again.stdout).toMatch(/: no live Sidekiq process on this Redis beats, and none of the 1 not heard from for (3\d|4\d|5\d) s \(they may have been killed\) listens to them, so those jobs wait until one does\./);
    const json = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--json');
    expect(json.code).toBe(0);
    const summary = JSON.parse(json.stdout) as { unheard?: { liveProcesses: number; notHeardFrom?: { processes: number; silentSeconds: number } } };
    expect(summary.unheard).toMatchObject({ liveProcesses: 1, notHeardFrom: { processes: 1 } });
    expect(summary.unheard!.notHeardFrom!.silentSeconds).toBeGreaterThan(15);
  });
});
