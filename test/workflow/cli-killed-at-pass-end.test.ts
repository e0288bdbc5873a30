// `run` killed (SIGKILL) after a queue's last moving call and before the call that ends that
// queue's pass (endQueuePass-5.lua, its own round trip): random kills reach that gap about once in
// 30 runs (audit-fresh-truth: once in 73 kill -9 trials of a 110,104-job re-route), this test every
// time. Running the same command again resumes the run: every job exactly once, bytes kept but the
// queue, the resumed summary's words and exit code as for any resumed run, the lock released.
// What it leaves: nothing of the cut. The queue's pass record (`<run>:originals:queue:old`, no
// expiry), which the resumed run has no item for (the queue is empty, so no list to plan), is
// deleted by the resumed run's plan (older-starts.ts, forgetOlderPasses-n1.lua: a record of an
// earlier start's generation, while the lock is still the resumed start's).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliBin, spawnCli as cli } from '../support/cli-child.js';
import { jobEntry, jobsIn, keysUnder, withQueue } from '../support/exact-jobs.js';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-killed-at-pass-end-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new' }));

/** The CLI from its sources with the kill-at-pass-end hook: how it ended and what it printed on stderr. */
function runKilledAtPassEnd(...args: string[]): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', repoPath('test/support/kill-at-pass-end.mjs'), cliBin, ...args], {
      env: { ...process.env, SIDEKIQ_MIGRATE_FROM_SOURCE: '1', NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('run killed between a queue\'s last moving call and the end of its pass, then run again', { timeout: 120_000 }, () => {
  it('resumes: every job once on its new queue, bytes kept but the queue; Complete, exit 0; the pass record deleted', async () => {
    const source = redis.client();
    const url = redis.url();
    const queued = Array.from({ length: 7 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i},1.0,12345678901234567890]` }));
    const scheduled = sidekiqPayload({ className: 'A', queue: 'old', args: '["later"]' });
    for (const p of queued) await source.lpush('queue:old', p);
    await source.zadd('schedule', '1795459303.5', scheduled);
    await source.sadd('queues', 'old');
    const args = ['run', '--redis', url, '--mapping', mappingFile, '--page-size', '3'];

    const killed = await runKilledAtPassEnd(...args);

    const run = /kill-at-pass-end: SIGKILL before ending the pass of sidekiq-migrate:(reroute-[\w-]+):originals:queue:old\n/.exec(killed.stderr)?.[1];
    expect(run, killed.stderr).toBeDefined();
    expect(killed.signal).toBe('SIGKILL');
    // Killed after the pass's last moving call: the queue is empty, every job on `new`.
    expect(await source.exists('queue:old')).toBe(0);
    expect(await source.ttl(`sidekiq-migrate:${run}:originals:queue:old`)).toBe(-1);
    const expected = [...queued.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))), jobEntry('schedule', withQueue(scheduled, 'old', 'new'), '1795459303.5')].sort();

    const again = await cli(...args);

    expect(again.stderr).toContain(`Resuming run ${run}, whose process on this machine is gone.`);
    expect(again.stdout.startsWith(`Re-route ${url} — run ${run}\nResumed: the counts below are this command's only.`), again.stdout).toBe(true);
    expect(again.stdout).toMatch(/\ntotal +1 +0 +1\n/);
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(again.code).toBe(0);
    expect(await jobsIn(source)).toEqual(expected);
    expect(await source.exists('sidekiq-migrate:lock')).toBe(0);
    // Before the second command: the killed execution's pass record, no expiry.
    // After it: only the run's records that outlive it (its finish, moves, routing, started-with).
    const left = (await keysUnder(source, `sidekiq-migrate:${run}:`)).filter((k) => !/:(finished|moves|routing|started-with)$/.test(k));
    expect(left).toEqual([]);
  });
});
