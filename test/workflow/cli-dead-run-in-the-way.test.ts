// A `run` or `move` that meets the lock of another run of this machine whose process was killed
// (SIGKILL: it released nothing) said "… is locked by run X (reroute, host pid N, …); the lock
// expires in 1200 s unless that run renews it. Wait for it, or stop it.": as if X were alive, with
// nothing to stop. It now says what `rollback` says of such a run: that X was interrupted, its
// gone pid, how long its lock holds, and what to do; exit 1, every key and value unchanged.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { killedAfterMoving, spawnCli as cli } from '../support/cli-child.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'cli-dead-run-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new' }));

/** `run` started as a child and SIGKILLed once its progress says it moved a job: its pid. */
function killedMidRun(runId: string): Promise<number> {
  return killedAfterMoving('run', '--redis', redis.urls().source, '--mapping', mappingFile, '--run-id', runId, '--page-size', '3');
}

describe('a run or move in the way of a run of this machine whose process is gone', { timeout: 120_000 }, () => {
  it('is refused with the interrupted run, its gone pid, when its lock expires and what to do; nothing touched', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const { source: url, target: targetUrl } = redis.urls();
    for (let i = 0; i < 200; i++) await source.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await source.sadd('queues', 'old');
    const pid = await killedMidRun('dead-1');
    expect(await source.llen('queue:old')).toBeGreaterThan(0);
    const untouched = async () => ({ source: await keyValueSnapshot(source), target: await keyValueSnapshot(target) });
    const before = await untouched();
    const words = (where: string) =>
      new RegExp(
        `^Run dead-1 \\(reroute\\) was interrupted: its process on this machine \\(pid ${pid}\\) is gone, and its run lock on ${where} holds for 1[12]\\d\\d s more\\. ` +
          `Finish it by running its command again \\(it resumes dead-1\\), then run this command again; or run this command again once that lock has expired\\. Nothing was touched\\.\\n$`,
      );

    const run = await cli('run', '--redis', url, '--rename', 'other=elsewhere', '--run-id', 'other-1');

    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(words(url.replace(/[/.]/g, '\\$&')));
    expect(run.code).toBe(1);
    expect(await untouched()).toEqual(before);

    const move = await cli('move', '--from', url, '--to', targetUrl);

    expect(move.stdout).toBe('');
    expect(move.stderr).toMatch(words(url.replace(/[/.]/g, '\\$&')));
    expect(move.code).toBe(1);
    expect(await untouched()).toEqual(before);

    // A dry run takes no lock: nothing is in its way.
    const dry = await cli('run', '--redis', url, '--rename', 'other=elsewhere', '--run-id', 'other-2', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(await untouched()).toEqual(before);

    // What the words say: the dead run's own command resumes and finishes it; then this one runs.
    const resumed = await cli('run', '--redis', url, '--mapping', mappingFile, '--run-id', 'dead-1');
    expect(resumed.code).toBe(0);
    expect(await source.llen('queue:old')).toBe(0);
    expect(await source.llen('queue:new')).toBe(200);
    expect((await cli('run', '--redis', url, '--rename', 'other=elsewhere', '--run-id', 'other-1')).code).toBe(0);
  });
});
