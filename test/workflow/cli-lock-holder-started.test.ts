import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliBin } from '../support/cli-child.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A second run refused by the lock names the run that holds it: "is locked by run R (reroute,
// host pid N, started T)". T was when the holder's latest page task took the lock (each task
// takes it again), seconds or hours after R started, and it moved on with every task: an
// operator comparing it with R's start, or with their own, was told something untrue.
const redis = privateSourceAndTarget();

describe('a run refused by the lock of a run under way', { timeout: 120_000 }, () => {
  it('names when the holder started, not when its latest page task renewed the lock; nothing of its own done', async () => {
    const pipeline = redis.source().pipeline();
    for (let i = 0; i < 24_000; i++) pipeline.lpush(`queue:q${i % 24}`, sidekiqPayload({ className: 'A', queue: `q${i % 24}`, args: `[${i}]` }));
    pipeline.sadd('queues', ...Array.from({ length: 24 }, (_, i) => `q${i}`));
    await pipeline.exec();
    const renames = Array.from({ length: 24 }, (_, i) => ['--rename', `q${i}=n${i}`]).flat();

    const started = Date.now();
    const child = spawn(process.execPath, [cliBin, 'run', '--redis', redis.urls().source, ...renames, '--page-size', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Its first page moved jobs: the run holds the lock. Then the page tasks of later queues take
    // it again: once five queues are done, others' tasks have.
    let progress = '';
    let firstPage = 0;
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        progress += d.toString();
        if (firstPage === 0 && / [1-9]\d* moved/.test(progress)) firstPage = Date.now();
        if ((progress.match(/ moved {2}done\n/g) ?? []).length >= 5) resolve();
      }),
    );

    const second = await runCli('run', '--redis', redis.urls().source, '--rename', 'other=else');

    expect(second.code).toBe(1);
    const holder = /^source redis:\/\/\S+ is locked by run (reroute-\S+) \(reroute, \S+ pid (\d+), started (\S+)\); the lock expires in \d+ s unless that run renews it\. Wait for it, or stop it\.\n$/.exec(second.stderr);
    expect(holder, second.stderr).not.toBeNull();
    expect(Number(holder![2])).toBe(child.pid);
    const at = Date.parse(holder![3]!);
    expect(at).toBeGreaterThanOrEqual(started);
    expect(at).toBeLessThanOrEqual(firstPage);

    expect(await exited).toBe(0);
    expect(stdout).toContain('Complete: everything that could be moved was moved.');
    for (let i = 0; i < 24; i++) {
      expect(await redis.source().llen(`queue:q${i}`)).toBe(0);
      expect(await redis.source().llen(`queue:n${i}`)).toBe(1_000);
    }
    expect(await redis.source().exists('queue:else')).toBe(0);
  });
});
