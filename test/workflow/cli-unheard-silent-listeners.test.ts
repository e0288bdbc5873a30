// A run whose only listener for a destination queue is a Sidekiq process not heard from for more
// than 3 beats (it may have been killed: its heartbeat hash lives 60 s after its last beat, and the
// census counted it live) ended "Complete: everything that could be moved was moved" with no word:
// the census counted it among the queue's listeners. The summary now names those queues apart
// from those nobody fetches from, under "Needs a look", in its last line and in --json
// (unheardSilent). The heartbeat is written as a killed process leaves it: `beat` 40 s old, its
// hash expiring in 20 s (past what a run under load takes); another process beats on `other`.
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const dir = mkdtempSync(join(tmpdir(), 'cli-unheard-silent-'));
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify({ A: 'default' }));
const last = (text: string) => text.trimEnd().split('\n').at(-1);
const SILENT = 'worker-1:4242:0a1b2c3d4e5f';

describe('a destination queue listened to only by Sidekiq processes not heard from', { timeout: 180_000 }, () => {
  it('run --mapping names it under "Needs a look", in its last line and in --json, dry and for real, and moves every job once', async () => {
    const source = redis.source();
    const a = [0, 1, 2].map((i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, jid: `A${i}`.padStart(24, '0') }));
    await source.lpush('queue:old', ...a);
    await source.sadd('queues', 'old');
    await heartbeat(source, keys, 'web:1:aaaaaaaaaaaa', ['other', 'old'], { beatAt: Date.now() / 1000 });
    await heartbeat(source, keys, SILENT, ['default'], { beatAt: Date.now() / 1000 - 40, beating: false });
    await source.pexpire(SILENT, 20_000);

    const dry = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/\nOnly Sidekiq processes not heard from for (3\d|4\d|5\d) s \(they may have been killed\) listen to 1 queue\(s\) this run would put jobs on \(default 3\): /);
    expect(last(dry.stdout)).toBe('Dry run, nothing written: a run would move 3 job(s) and leave none behind; 3 of them would go to queues listened to only by Sidekiq processes that may have been killed (see "Needs a look" above).');
    const run = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /\nOnly Sidekiq processes not heard from for (3\d|4\d|5\d) s \(they may have been killed\) listen to 1 queue\(s\) this run put jobs on \(default 3\): none of the 1 other live Sidekiq process\(es\) on this Redis listens to them, so if those were killed the jobs wait until a process fetches from those queues\. Start one on them, or see docs\/runbooks\/redis-move\.md, step 6\.1 \(drain-check names the processes not heard from\)\.\n/,
    );
    expect(last(run.stdout)).toBe('Complete: everything that could be moved was moved, but 3 of them went to queues listened to only by Sidekiq processes that may have been killed (see "Needs a look" above).');
    await expectExactJobs(source, '', a.map((p) => jobEntry('queue:default', withQueue(p, 'old', 'default'))));

    // Again, for --json: nothing more to move; a second batch on the same queue.
    const b = sidekiqPayload({ className: 'A', queue: 'old', args: '[9]', jid: 'A9'.padStart(24, '0') });
    await source.lpush('queue:old', b);
    const json = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--json');
    expect(json.code).toBe(0);
    const summary = JSON.parse(json.stdout) as { unheard?: unknown; unheardSilent?: { queues: unknown; total: number; silentSeconds: number } };
    expect(summary).not.toHaveProperty('unheard');
    expect(summary.unheardSilent).toMatchObject({ queues: [{ queue: 'default', jobs: 1 }], total: 1 });
    expect(summary.unheardSilent!.silentSeconds).toBeGreaterThan(15);
  });
});
