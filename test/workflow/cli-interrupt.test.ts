// Ctrl-C during a local run, as an operator presses it on the shipped CLI (a child process): the
// first stops the run after the pages in progress, with its summary and exit code 1, the lock
// released; a second quits at once (exit 130). Either way the next run finishes the work, and every
// job is on the target exactly once. Before, the first Ctrl-C killed the process without a word.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const sorted = (jobs: { key: string; payload: string; score?: string }[]) => jobs.map((j) => `${j.key} ${j.score ?? '-'} ${j.payload}`).sort();

/** 2,000 queued jobs on 4 queues and 500 schedule entries. */
async function seed(): Promise<void> {
  const pipeline = redis.source().pipeline();
  for (let i = 0; i < 2_000; i++) pipeline.lpush(`queue:q${i % 4}`, sidekiqPayload({ className: 'A', queue: `q${i % 4}`, args: `[${i}]` }));
  for (let i = 0; i < 500; i++) pipeline.zadd('schedule', String(1795459303 + i), sidekiqPayload({ className: 'A', queue: 'q0', args: `[${i}]` }));
  pipeline.sadd('queues', 'q0', 'q1', 'q2', 'q3');
  await pipeline.exec();
}

/**
 * The CLI as a child process, slowed by --rate-limit and in pages of 100 (a default page is one
 * slice of up to 1,000: each queue of 500 would move in one) so that it is still moving when signalled:
 * `signals` are sent once a page has been reported, one every 20 ms (a stopped run ends within moments: each slice's claim sees the stop).
 */
function interrupted(args: string[], signals: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let [stdout, stderr, sent] = ['', '', false];
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      // A page was reported: the run is under way.
      if (!sent && / [1-9][\d,]* (moved|written|would move)/.test(stderr)) {
        sent = true;
        for (let i = 0; i < signals; i++) setTimeout(() => child.kill('SIGINT'), i * 20);
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const cli = runCli;

describe('Ctrl-C during a move', () => {
  it('once: stops after the pages in progress, says so, releases the lock; the next run finishes, every job once', { timeout: 60_000 }, async () => {
    await seed();
    const before = sorted(await allJobs(redis.source(), ''));
    const { source, target } = redis.urls();

    const stopped = await interrupted(['move', '--from', source, '--to', target, '--rate-limit', '200', '--page-size', '100'], 1);

    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/\nSIGINT: stopping run transfer-\S+ after the pages in progress \(SIGINT again to quit at once\)…\n/);
    expect(stopped.stdout).toMatch(/\nStopped by SIGINT: \d+ sets and queues not finished\. Every page that ran is complete; what a page had claimed is in flight, and the next run finishes it first\.\n/);
    expect(stopped.stdout).toMatch(/\nNot complete: stopped by SIGINT\. Run the same command again to finish\.\n$/);
    expect(stopped.stdout).not.toContain('FAILED');
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
    expect(await redis.target().exists('sidekiq-migrate:lock')).toBe(0);
    // Not all of it moved: the stop came first.
    expect((await allJobs(redis.source(), '')).length).toBeGreaterThan(0);

    const resumed = await cli('move', '--from', source, '--to', target);
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stdout).toContain('Complete: everything that could be moved was moved.');
    expect(sorted(await allJobs(redis.target(), ''))).toEqual(before);
    expect(await allJobs(redis.source(), '')).toEqual([]);
  });

  it('twice: quits at once with exit code 130; the next run finishes, every job once', { timeout: 60_000 }, async () => {
    await seed();
    const before = sorted(await allJobs(redis.source(), ''));
    const { source, target } = redis.urls();

    const quit = await interrupted(['move', '--from', source, '--to', target, '--rate-limit', '200', '--page-size', '100'], 2);

    expect(quit.code, quit.stderr + quit.stdout).toBe(130);
    expect(quit.stderr).toContain('\nSIGINT again: quitting now. Nothing is lost: run the same command again to finish what is in flight.\n');

    const resumed = await cli('move', '--from', source, '--to', target);
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(sorted(await allJobs(redis.target(), ''))).toEqual(before);
    // No job left, in flight included; the killed run's own records (its work list, its
    // executions) stay until they expire, as after any crash.
    expect((await allJobs(redis.source(), '')).filter((j) => !/^sidekiq-migrate:[^:]+:items$/.test(j.key))).toEqual([]);
    expect(await redis.source().keys('*:inflight:*')).toEqual([]);
  });

  it('during a dry run: quits at once, having written nothing', { timeout: 60_000 }, async () => {
    await seed();
    const snapshot = async () => ({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) });
    const before = await snapshot();

    const quit = await interrupted(['move', '--from', redis.urls().source, '--to', redis.urls().target, '--dry-run', '--rate-limit', '200'], 1);

    expect(quit.code, quit.stderr + quit.stdout).toBe(130);
    expect(quit.stderr).toContain('\nSIGINT: quitting the dry run; it wrote nothing.\n');
    expect(await snapshot()).toEqual(before);
  });
});

// A re-route moves each page's jobs in one Lua call: nothing of it is ever in flight. Its summary
// after Ctrl-C said "what a page had claimed is in flight, and the next run finishes it first",
// the transfer's words, sending the operator after jobs that do not exist.
describe('Ctrl-C during a run (re-route)', () => {
  it('once: says every page is whole and nothing is in flight; each job once, on its old or its new queue; the same command again finishes', { timeout: 60_000 }, async () => {
    const pipeline = redis.source().pipeline();
    const expected: string[] = [];
    for (let i = 0; i < 8_000; i++) {
      const queue = `q${i % 4}`;
      pipeline.lpush(`queue:${queue}`, sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: `a${String(i).padStart(23, '0')}` }));
      expected.push(`a${String(i).padStart(23, '0')}`);
    }
    pipeline.sadd('queues', 'q0', 'q1', 'q2', 'q3');
    await pipeline.exec();
    const renames = ['--rename', 'q0=n0', '--rename', 'q1=n1', '--rename', 'q2=n2', '--rename', 'q3=n3'];
    const jidsOn = async () => {
      const on: string[] = [];
      expect(await redis.source().keys('*:inflight:*')).toEqual([]);
      // Our records (the run's work list among them) are no jobs.
      for (const { key, payload } of (await allJobs(redis.source(), '')).filter((j) => !j.key.startsWith('sidekiq-migrate:'))) {
        const jid = /"jid":"([^"]+)"/.exec(payload)![1]!;
        const queue = /"queue":"([^"]+)"/.exec(payload)![1]!;
        expect(key).toBe(`queue:${queue}`);
        on.push(jid);
      }
      return on.sort();
    };

    const stopped = await interrupted(['run', '--redis', redis.urls().source, ...renames, '--page-size', '10'], 1);

    expect(stopped.code, stopped.stderr + stopped.stdout).toBe(1);
    expect(stopped.stdout).toMatch(/\nStopped by SIGINT: \d+ sets and queues not finished\. Every page that ran is complete, its jobs moved in one atomic step: none is in flight\.\n/);
    expect(stopped.stdout).not.toContain('in flight, and the next run finishes it first');
    expect(stopped.stdout).toMatch(/\nNot complete: stopped by SIGINT\. Run the same command again to finish\.\n$/);
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
    expect(await jidsOn()).toEqual(expected.sort());
    expect((await redis.source().llen('queue:q0')) + (await redis.source().llen('queue:q1')) + (await redis.source().llen('queue:q2')) + (await redis.source().llen('queue:q3'))).toBeGreaterThan(0);

    const resumed = await cli('run', '--redis', redis.urls().source, ...renames);
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stdout).toContain('Complete: everything that could be moved was moved.');
    expect(await jidsOn()).toEqual(expected.sort());
    for (const q of ['q0', 'q1', 'q2', 'q3']) expect(await redis.source().llen(`queue:${q}`)).toBe(0);
  });
});
