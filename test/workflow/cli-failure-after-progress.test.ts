import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

// A page task that fails after writing some pages: the summary counts what those pages moved.
// Step Functions' Retry and Catch keep only the item as the task received it, so before the
// task returned its progress, a queue whose first pages had moved showed 0 moved (and the
// target's jobs 0 written): a summary that said less had happened than had.
const redis = privateSourceAndTarget();

const cli = runCli;

const job = (className: string, queue: string, i: number, padding = '') =>
  sidekiqPayload({ className, queue, args: `[${i},"${padding}"]`, jid: i.toString(16).padStart(24, '0') });

/** Every job on a server as `key \t payload \t score`, the transfer's bookkeeping left out. */
async function jobs(client: Redis): Promise<string[]> {
  return (await allJobs(client, ''))
    .filter((j) => j.key !== 'queues' && !/sidekiq-migrate:[^:]+:(ledger|conflicts):/.test(j.key))
    .map((j) => `${j.key}\t${j.payload}\t${j.score ?? ''}`)
    .sort();
}

describe('a page task that fails after writing pages returns them: the summary counts them', { timeout: 180_000 }, () => {
  it("run: the second slice of queue:legacy is refused (its destination is a string); the summary says the first slice's 500 moved, as they did", async () => {
    const source = redis.source();
    // Jobs move to the front of their new queue newest first, a slice at a time: the 500 newest go
    // to queue:a, the 500 oldest to the blocked queue:b.
    const older = Array.from({ length: 500 }, (_, i) => job('Older', 'legacy', i));
    const newer = Array.from({ length: 500 }, (_, i) => job('Newer', 'legacy', 500 + i));
    await source.lpush('queue:legacy', ...older, ...newer);
    await source.sadd('queues', 'legacy');
    await source.set('queue:b', 'not a list');
    const file = join(mkdtempSync(join(tmpdir(), 'failure-after-progress-')), 'mapping.json');
    writeFileSync(file, JSON.stringify({ Newer: 'a', Older: 'b' }));

    const { code, stdout } = await cli('run', '--redis', redis.urls().source, '--mapping', file, '--page-size', '500');

    expect(code).toBe(1);
    expect(stdout).toMatch(/^queues \(1\) +500 +500 +0$/m);
    expect(stdout).toMatch(/^total +500 +500 +0$/m);
    expect(stdout).toContain('Moved to: a 500');
    expect(stdout).toMatch(/FAILED queue legacy: FatalError: Re-routing jobs of queue:legacy: queue:b holds a string, not a list; this step was refused before it wrote anything/);
    expect(stdout).toContain('Not complete: run the same command again to resume.');
    // Exactly what the summary says: the 500 newer jobs rewritten on queue:a, the 500 older where they were.
    const rewritten = newer.map((p) => p.replace('"queue":"legacy"', '"queue":"a"'));
    expect(await jobs(source)).toEqual([...rewritten.map((p) => `queue:a\t${p}\t`), ...older.map((p) => `queue:legacy\t${p}\t`)].sort());
    expect(await source.get('queue:b')).toBe('not a list');
  });

  it('move: the target runs out of memory after some slices; the summary counts the slices written, names the target, and the next run (memory raised) writes every job once', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const seeded = Array.from({ length: 3000 }, (_, i) => job('Worker', 'default', i, 'x'.repeat(2000)));
    for (let i = 0; i < seeded.length; i += 500) await source.lpush('queue:default', ...seeded.slice(i, i + 500));
    await source.sadd('queues', 'default');
    // Room for a few slices of 250 jobs of 2 KB (and the pipeline read into a query buffer), not for all 3,000 (6 MB).
    const used = Number(/used_memory:(\d+)/.exec(await target.info('memory'))![1]);
    await target.config('SET', 'maxmemory', String(used + 2_000_000));
    try {
      // Pages (and so slices) of 250: a default page of 1,000 would be one slice of as many of these jobs as fit in 1 MiB.
      const first = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json', '--page-size', '250');

      expect(first.code).toBe(1);
      const summary = JSON.parse(first.stdout) as { complete: boolean; totals: { written: number; writtenTo: Record<string, number> }; failures: { name: string; error: string }[] };
      expect(summary.complete).toBe(false);
      expect(summary.failures).toEqual([
        {
          kind: 'queue',
          name: 'default',
          error:
            'FatalError: Writing to the target (the slice stays in flight on the source): Redis is out of memory (maxmemory reached, nothing it may evict); the call wrote nothing. Free memory or raise maxmemory, then run the same command again.',
        },
      ]);
      // Whole slices were written and acknowledged before the target filled up; each is counted.
      expect(summary.totals.written).toBeGreaterThanOrEqual(250);
      expect(summary.totals.written % 250).toBe(0);
      expect(summary.totals.writtenTo).toEqual({ default: summary.totals.written });
      // On the target: those, and at most the refused slice's calls that ran before the refusal (still in flight on the source).
      const onTarget = await target.llen('queue:default');
      expect(onTarget).toBeGreaterThanOrEqual(summary.totals.written);
      expect(onTarget).toBeLessThan(3000);
    } finally {
      await target.config('SET', 'maxmemory', '0');
    }

    const second = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(second.code).toBe(0);
    expect(second.stdout).toContain('Complete: everything that could be moved was moved.');
    expect(await jobs(source)).toEqual([]);
    expect(await jobs(target)).toEqual(seeded.map((p) => `queue:default\t${p}\t`).sort());
  });
});
