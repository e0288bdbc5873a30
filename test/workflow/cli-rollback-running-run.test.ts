// A rollback of a run that is still running, and its dry run (the rollback runbook's step 3).
//
// Defect (audit-rollback): the rollback is refused as locked by that run, but its dry run (which
// takes no lock) went on and counted a moving target: with the run half-way, it said `Dry run,
// nothing written: a rollback would put back 8,150 job(s) and leave none behind.` (of 20,000 the
// run went on to move), and named the run's own moves as jobs that `arrived during the rollback on
// the queues it drains … not moved back by this rollback`. A rollback now would put back nothing:
// it is refused. The dry run is refused as the rollback is, naming the run and what to do.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { movedSome } from '../support/cli-child.js';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli as cli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-rollback-running-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new' }));

describe('a rollback of a run that is still running', { timeout: 120_000 }, () => {
  it('is refused, and so is its dry run, naming the run and what to do; once the run has ended, the dry run counts every job it moved', async () => {
    const client = redis.client();
    const pipeline = client.pipeline();
    for (let i = 0; i < 20_000; i++) pipeline.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await pipeline.sadd('queues', 'old').exec();
    const run = ['run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r1', '--page-size', '5'];
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...run], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await movedSome(child);

    const rollback = await cli('rollback', 'r1', '--redis', redis.url());
    const dry = await cli('rollback', 'r1', '--redis', redis.url(), '--dry-run');
    const stillRunning = (await client.llen('queue:old')) > 0;

    expect(stillRunning, 'the run was still moving jobs when both were refused').toBe(true);
    expect(rollback).toMatchObject({ code: 1, stdout: '' });
    expect(rollback.stderr).toMatch(/^source redis:\/\/127\.0\.0\.1:\d+ is locked by run r1 \(reroute, .+ pid \d+, started .+\); the lock expires in \d+ s unless that run renews it\. Wait for it, or stop it\.\n$/);
    expect(dry).toMatchObject({ code: 1, stdout: '' });
    expect(dry.stderr).toMatch(
      /^Run r1 is still running: source redis:\/\/127\.0\.0\.1:\d+ is locked by run r1 \(reroute, .+ pid \d+, started .+\), and a rollback of it is refused until it ends\. A dry run now would count jobs it is still moving\. Dry-run the rollback again once r1 has ended \(or stop it\)\. Nothing was touched\.\n$/,
    );

    expect(await exited).toBe(0);
    const after = await cli('rollback', 'r1', '--redis', redis.url(), '--dry-run', '--json');
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ totals: { moved: 20_000, arrived: 0 } });
  });

  // The same of a rollback of that run still running (audit-reviewb): the dry run of `rollback r1`
  // took no lock and counted what the running rollback rb1 was still putting back (a part of it).
  it('a dry run while a rollback of that run is still running: refused, naming the rollback; once it has ended, refused as rolled back already', async () => {
    const client = redis.client();
    const pipeline = client.pipeline();
    for (let i = 0; i < 20_000; i++) pipeline.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await pipeline.sadd('queues', 'old').exec();
    expect((await cli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r1')).code).toBe(0);
    expect(await client.llen('queue:new')).toBe(20_000);

    const rollback = ['rollback', 'r1', '--redis', redis.url(), '--run-id', 'rb1', '--page-size', '5'];
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...rollback], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await movedSome(child);

    const dry = await cli('rollback', 'r1', '--redis', redis.url(), '--dry-run');
    const stillRunning = (await client.llen('queue:new')) > 0;

    expect(stillRunning, 'the rollback was still putting jobs back when the dry run was refused').toBe(true);
    expect(dry).toMatchObject({ code: 1, stdout: '' });
    expect(dry.stderr).toMatch(
      /^Rollback rb1 of run r1 is still running: source redis:\/\/127\.0\.0\.1:\d+ is locked by run rb1 \(reroute, .+ pid \d+, started .+\), and a rollback of r1 is refused until it ends\. A dry run now would count jobs it is still putting back\. Dry-run the rollback again once rb1 has ended \(or stop it\)\. Nothing was touched\.\n$/,
    );

    expect(await exited).toBe(0);
    expect(await client.llen('queue:old')).toBe(20_000);
    // rb1 put back everything r1 moved: a rollback of r1 again, dry or not, is refused as such (audit-rollbackrec).
    const after = await cli('rollback', 'r1', '--redis', redis.url(), '--dry-run', '--json');
    expect(after).toMatchObject({ code: 1, stdout: '' });
    expect(after.stderr).toMatch(/^Run r1 was rolled back already: rollback rb1 put back what it moved, leaving nothing behind, and finished at [-\d]+ [:\d]+ UTC\. /);
  });
});
