// A re-route with --unmapped quarantine over quarantine lists that earlier runs had filled too:
// "N job(s) in quarantine lists from earlier runs, which nobody runs: LIST SIZE · …" counted only the
// earlier jobs in N but named each list with its whole size, this run's own jobs included, and
// named lists this run alone had filled: "1 job(s) … from earlier runs: …quarantine:old 2 ·
// …quarantine:other 1" (the sizes add up to 3; audit-fresh-truth saw it after a kill -9 and a
// resume, "1 job(s) … : …quarantine:activity_pub… 1 · …quarantine:removed_worker 1", the second
// the resumed command's own). Each list is now named with the jobs it held from before this run.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliBin, spawnCli } from '../support/cli-child.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli as cli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-quarantine-earlier-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ W: 'c' }));
const job = (queue: string, i: number, className: string) => sidekiqPayload({ className, queue, args: `[${i}]`, jid: `${className.toLowerCase().padEnd(20, '0')}${String(i).padStart(4, '0')}` });

describe('quarantine lists from earlier runs, when this run quarantines into them too', () => {
  it('names each list with the jobs earlier runs left there only, so the names add up to the count', async () => {
    const source = redis.client();
    const url = redis.url();
    await source.rpush('queue:old', job('old', 1, 'Gone'));
    await source.sadd('queues', 'old', 'other');
    const first = await cli('run', '--redis', url, '--mapping', mappingFile, '--unmapped', 'quarantine');
    expect(first.code).toBe(0);
    expect(first.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 1 quarantined (see "Needs a look" above).');
    // More jobs of the removed class arrive, on old and on another retired queue.
    await source.rpush('queue:old', job('old', 2, 'Gone'), job('old', 3, 'W'));
    await source.rpush('queue:other', job('other', 4, 'Gone'));

    const again = await cli('run', '--redis', url, '--mapping', mappingFile, '--unmapped', 'quarantine');

    expect(await jobsIn(source)).toEqual([jobEntry('queue:c', job('old', 3, 'W').replace('"queue":"old"', '"queue":"c"'))]);
    expect(await source.lrange('sidekiq-migrate:quarantine:old', 0, -1)).toEqual([job('old', 2, 'Gone'), job('old', 1, 'Gone')].sort());
    expect(await source.lrange('sidekiq-migrate:quarantine:other', 0, -1)).toEqual([job('other', 4, 'Gone')]);
    expect(again.stdout).toContain('Quarantined to sidekiq-migrate:quarantine:<queue>, by queue: queue:old 1 · queue:other 1\n');
    expect(again.stdout).toContain('\n1 job(s) in quarantine lists from earlier runs, which nobody runs: sidekiq-migrate:quarantine:old 1. Put them back on a queue or delete them by hand (drain-check counts them).\n');
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 2 quarantined · 1 in quarantine lists from earlier runs (see "Needs a look" above).');
    expect(again.code).toBe(0);
  });

  it('resumed after a kill: what the killed execution quarantined is named as from before the resume, not as this command\'s', { timeout: 120_000 }, async () => {
    const source = redis.client();
    const url = redis.url();
    await source.rpush('queue:old', job('old', 1, 'Gone'), job('old', 2, 'W'));
    await source.sadd('queues', 'old');
    // Killed after queue old's last moving call (test/support/kill-at-pass-end.mjs): its jobs are moved and quarantined.
    const killed = await new Promise<NodeJS.Signals | null>((resolve) => {
      const child = spawn(process.execPath, ['--import', repoPath('test/support/kill-at-pass-end.mjs'), cliBin, 'run', '--redis', url, '--mapping', mappingFile, '--unmapped', 'quarantine'], {
        env: { ...process.env, SIDEKIQ_MIGRATE_FROM_SOURCE: '1' },
        stdio: 'ignore',
      });
      child.once('exit', (_, signal) => resolve(signal));
    });
    expect(killed).toBe('SIGKILL');

    const again = await spawnCli('run', '--redis', url, '--mapping', mappingFile, '--unmapped', 'quarantine');

    expect(await jobsIn(source)).toEqual([jobEntry('queue:c', job('old', 2, 'W').replace('"queue":"old"', '"queue":"c"'))]);
    expect(await source.lrange('sidekiq-migrate:quarantine:old', 0, -1)).toEqual([job('old', 1, 'Gone')]);
    expect(again.stdout).toContain('\nResumed: the counts below are this command\'s only.');
    expect(again.stdout).toContain('\n1 job(s) in quarantine lists from earlier runs (or from this run before it was resumed), which nobody runs: sidekiq-migrate:quarantine:old 1. Put them back');
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 1 in quarantine lists from earlier runs (see "Needs a look" above).');
    expect(again.code).toBe(0);
  });
});
