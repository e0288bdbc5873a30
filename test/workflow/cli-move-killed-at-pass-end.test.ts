// `move` killed (SIGKILL) after a queue's last acknowledge and before the `DEL` that ends that
// queue's pass (queue-transfer.ts endPass; a `--classes` pass: selective-queue-transfer.ts, the
// pass's start `<length> <claimed> <generation>`), its own round trip. The queue is empty by then,
// so the resumed run (the same command again) has no item for it (its plan lists the queue lists
// that exist) and no pass of it deletes the count. Running the same command again resumes the run:
// every job exactly once, bytes kept, the resumed summary's words and exit code as for any resumed
// run, drain-check finds nothing, and nothing of the cut is left: the pass's count
// (`<run>:originals:queue:a`, no expiry) is deleted by the resumed run's plan (older-starts.ts,
// forgetOlderTransferPasses-n2.lua: a count of an earlier start's generation, while the lock is
// still the resumed start's), and the queue's ledger on the target, whose batch the killed process
// never added up, is retired by that plan too (its 7 days: older-starts.ts; before, it kept no expiry). The
// re-route's equivalent: cli-killed-at-pass-end.test.ts.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliBin, spawnCli as cli } from '../support/cli-child.js';
import { jobEntry, jobsIn, keysUnder } from '../support/exact-jobs.js';
import { repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();

/** The CLI from its sources with the kill-at-transfer-pass-end hook: how it ended and what it printed on stderr. */
function moveKilledAtPassEnd(...args: string[]): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', repoPath('test/support/kill-at-transfer-pass-end.mjs'), cliBin, ...args], {
      env: { ...process.env, SIDEKIQ_MIGRATE_FROM_SOURCE: '1', NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('move killed between a queue\'s last acknowledge and the end of its pass, then run again', { timeout: 120_000 }, () => {
  it.each([
    // A selective run's summary follows what it read of the source first; its last line says of this command what it found.
    ['every class', [] as string[], '', 'Complete: everything that could be moved was moved.'],
    ['--classes A (the pass keeps its start, another format)', ['--classes', 'A'], 'Selection: 1 class(es) from --classes\nRead 0 job(s) on ', 'Complete: no job of the selected classes was on the source; nothing was moved.'],
  ])('%s: resumes, every job once on the target, Complete, exit 0, drained; the pass count deleted, the ledger retired', async (_, extra, preamble, last) => {
    const [source, target] = [redis.source(), redis.target()];
    const { source: from, target: to } = redis.urls();
    const queued = Array.from({ length: 7 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i},1.0,12345678901234567890]` }));
    const scheduled = sidekiqPayload({ className: 'A', queue: 'a', args: '["later"]' });
    for (const p of queued) await source.lpush('queue:a', p);
    await source.zadd('schedule', '1795459303.5', scheduled);
    await source.sadd('queues', 'a');
    const expected = [...queued.map((p) => jobEntry('queue:a', p)), jobEntry('schedule', scheduled, '1795459303.5')].sort();
    const args = ['move', '--from', from, '--to', to, '--page-size', '2', ...extra];

    const killed = await moveKilledAtPassEnd(...args);

    const run = /kill-at-transfer-pass-end: SIGKILL before deleting sidekiq-migrate:(transfer-[\w-]+):originals:queue:a\n/.exec(killed.stderr)?.[1];
    expect(run, killed.stderr).toBeDefined();
    expect(killed.signal).toBe('SIGKILL');
    // Killed after the pass's last acknowledge: the queue is empty, its jobs on the target; the count stays, no expiry.
    expect(await source.exists('queue:a')).toBe(0);
    expect(await target.llen('queue:a')).toBe(7);
    expect(await source.ttl(`sidekiq-migrate:${run}:originals:queue:a`)).toBe(-1);

    const again = await cli(...args);

    expect(again.stderr).toContain(`Resuming run ${run}, whose process on this machine is gone.`);
    expect(again.stdout.startsWith(preamble), again.stdout).toBe(true);
    expect(again.stdout).toContain(`${preamble ? '\n\n' : ''}Transfer ${from} → ${to} — run ${run}\nResumed: the counts below are this command's only.`);
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe(last);
    expect(again.code).toBe(0);
    expect(await jobsIn(source)).toEqual([]);
    expect(await jobsIn(target)).toEqual(expected);
    expect(await source.exists('sidekiq-migrate:lock')).toBe(0);
    // Nothing of the run is left on the source but its records that expire (the runbook's leftover table).
    const left = await keysUnder(source, `sidekiq-migrate:${run}:`);
    expect(left.filter((k) => !/:(finished|started-with|classes)$/.test(k))).toEqual([]);
    for (const key of left) expect(await source.ttl(key), key).toBeGreaterThan(0);
    // On the target, the run's ledgers: retired (their 7 days), nothing of the run in flight.
    const ledgers = await keysUnder(target, `sidekiq-migrate:${run}:`);
    expect(ledgers).toContain(`sidekiq-migrate:${run}:ledger:queue:a`);
    for (const key of ledgers) expect(await target.ttl(key), key).toBeGreaterThan(0);

    const drain = await cli('drain-check', '--redis', from, '--json');

    expect(drain.code).toBe(0);
    expect(JSON.parse(drain.stdout)).toMatchObject({ remaining: 0, inflight: [], quarantine: [], verdict: { state: 'drained', reasons: [] } });
  });
});
