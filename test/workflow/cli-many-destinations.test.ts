import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLockKey } from '../../core/redis/run-lock.js';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A rollback to a queue per worker (or a mapping of every worker to its own queue) sends the jobs
// of each set to a thousand queues. Each item's counters named every one, and a Map batch returns
// ten items in one state (256 KiB, enforced locally as on AWS): three such sets overflowed it, the
// run failed with States.DataLimitExceeded and left its lock. An item now names 50 destinations.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'cli-many-destinations-'));
const WORKERS = 1_500;
const queueOf = (i: number) => `a_destination_queue_with_a_long_name_like_gitlab_workers_${String(i).padStart(5, '0')}`;
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify(Object.fromEntries(Array.from({ length: WORKERS }, (_, i) => [`Worker${i}`, queueOf(i)]))));

describe('a run whose sets send jobs to thousands of queues', { timeout: 300_000 }, () => {
  it('moves every job exactly once, names 50 destinations and counts the rest together, and ends Complete', async () => {
    const source = redis.source();
    const expected: string[] = [];
    for (const set of ['schedule', 'retry', 'dead']) {
      const args: string[] = [];
      for (let i = 0; i < WORKERS; i++) {
        const payload = sidekiqPayload({ className: `Worker${i}`, queue: 'default', args: `["${set}", ${i}]` });
        const score = String(1_700_000_000 + i);
        args.push(score, payload);
        expected.push(jobEntry(set, withQueue(payload, 'default', queueOf(i)), score));
      }
      await source.zadd(set, ...args);
    }

    const run = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--sets', 'schedule,retry,dead', '--no-queues', '--json');

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as { complete: boolean; totals: { moved: number; movedTo: Record<string, number> } };
    expect(summary.complete).toBe(true);
    expect(summary.totals.moved).toBe(3 * WORKERS);
    // 50 queues by name (each item names the first 50 it met), the rest under one entry: every job counted once.
    const named = Object.entries(summary.totals.movedTo).filter(([queue]) => queue !== '(other queues)');
    expect(named).toHaveLength(50);
    expect(summary.totals.movedTo['(other queues)']).toBe(3 * WORKERS - named.reduce((n, [, jobs]) => n + jobs, 0));
    expect(summary.totals.movedTo['(other queues)']).toBeGreaterThanOrEqual(3 * (WORKERS - 50));
    await expectExactJobs(source, '', expected);
    expect(await source.exists(runLockKey(''))).toBe(0);
  });

  it("the human summary does not count the jobs it does not name by queue as one more queue, nor list them first as a queue named '(other queues)'", async () => {
    const source = redis.source();
    const few = join(dir, 'sixty.json');
    writeFileSync(few, JSON.stringify(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`Worker${i}`, queueOf(i)]))));
    const args: string[] = [];
    // 3 jobs of each of the last 10 workers, 1 of each other: those the set names first are not the largest.
    for (let i = 0; i < 60; i++) for (let k = 0; k < (i >= 50 ? 3 : 1); k++) args.push(String(1_700_000_000 + i * 10 + k), sidekiqPayload({ className: `Worker${i}`, queue: 'default', args: `[${i}, ${k}]` }));
    await source.zadd('schedule', ...args);

    const run = await runCli('run', '--redis', redis.urls().source, '--mapping', few, '--sets', 'schedule', '--no-queues');

    expect(run.code).toBe(0);
    const line = run.stdout.split('\n').find((l) => l.startsWith('Moved to'));
    expect(line).toMatch(/^Moved to \(at least 51 queues\): (a_destination_queue_with_a_long_name_like_gitlab_workers_\d{5} [13] · ){10}… and 40 more \(--verbose\); (\d+) job\(s\) to queues the summary does not name$/);
    expect(line).not.toContain('(other queues)');
    const named = [...line!.matchAll(/_(\d{5}) ([13])/g)].reduce((n, m) => n + Number(m[2]), 0);
    expect(named).toBeGreaterThan(0);
    expect(run.stdout).toContain('Complete: everything that could be moved was moved.');
  });

  it('names the ten classes with most jobs left in place and counts the others, never leaving them out unsaid', async () => {
    const source = redis.source();
    const map = join(dir, 'one.json');
    writeFileSync(map, JSON.stringify({ A: 'new' }));
    const jobs: string[] = [sidekiqPayload({ className: 'A', queue: 'old', args: '[0]' })];
    for (let i = 0; i < 15; i++) for (let k = 0; k < (i < 10 ? 2 : 1); k++) jobs.push(sidekiqPayload({ className: `U${String(i).padStart(2, '0')}`, queue: 'old', args: `[${i}, ${k}]` }));
    await source.rpush('queue:old', ...jobs);
    await source.sadd('queues', 'old');

    const run = await runCli('run', '--redis', redis.urls().source, '--mapping', map, '--sets', 'schedule');

    expect(run.code).toBe(0);
    const named = Array.from({ length: 10 }, (_, i) => `U${String(i).padStart(2, '0')} 2`).join(' · ');
    expect(run.stdout).toContain(`\nLeft in place, no destination for their class: ${named} · … and 5 job(s) of other classes\n`);
    expect(run.stdout).toContain('Done, but jobs were left behind: 25 left in place');
  });
});

