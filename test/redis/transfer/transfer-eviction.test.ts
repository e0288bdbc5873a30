import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { runTransfer } from '../../../core/transfer/run-transfer.js';
import { repoPath } from '../../support/paths.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { jobsOnBoth, waitForLocksGone } from '../../support/transfer-crash-loop.js';
import { jobEntry } from '../../support/exact-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';

// ElastiCache's default maxmemory-policy is volatile-lru: under memory pressure it evicts keys with
// a TTL first. Both servers here run it with a small maxmemory, and filler keys with a TTL push
// them over it while a transfer is killed mid-way and then resumed by another run.
const redis = privateSourceAndTarget(['--maxmemory-policy', 'volatile-lru'], ['--maxmemory-policy', 'volatile-lru']);
const { source, target } = redis;
const keys = new SidekiqKeys('');

async function seed(perKey: number): Promise<string[]> {
  const expected: string[] = [];
  for (const queue of ['default', 'mailers']) {
    for (let i = 0; i < perKey; i++) {
      const payload = sidekiqPayload({ className: 'A', queue, args: `[${i},1.0]` });
      await source().lpush(`queue:${queue}`, payload);
      expected.push(jobEntry(`queue:${queue}`, payload));
    }
  }
  for (const set of ['schedule', 'retry', 'dead']) {
    for (let i = 0; i < perKey; i++) {
      const payload = sidekiqPayload({ className: 'B', queue: 'default', args: `[${i}]` });
      await source().zadd(set, `${1795459303 + i}.5`, payload);
      expected.push(jobEntry(set, payload, `${1795459303 + i}.5`));
    }
  }
  return expected.sort();
}

const stat = async (client: Redis, field: string) => Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(await client.info())?.[1] ?? 0);

/** Writes 16 KiB filler keys with a TTL until the server has evicted `count` more keys. */
async function pressure(client: Redis, count: number): Promise<void> {
  const start = await stat(client, 'evicted_keys');
  const blob = randomBytes(16 * 1024);
  while ((await stat(client, 'evicted_keys')) < start + count) {
    const pipeline = client.pipeline();
    for (let i = 0; i < 20; i++) pipeline.set(`filler:${randomBytes(8).toString('hex')}`, blob, 'EX', 3600);
    await pipeline.exec();
  }
}

describe('a transfer under volatile-lru memory pressure', () => {
  it('killed mid-run while filler keys are evicted, then resumed by another run: every job exactly once', { timeout: 180_000 }, async () => {
    // Rate-limited so that the pressure below lands while the run is still moving jobs; a child
    // that finished first all the same (a stalled machine) is checked but not counted.
    let landed = 0;
    for (let attempt = 0; landed < 3; attempt++) {
      expect(attempt, `only ${landed} of ${attempt} kills landed mid-run`).toBeLessThan(8);
      await source().flushall();
      await target().flushall();
      const expected = await seed(60);
      for (const client of [source(), target()]) await client.config('SET', 'maxmemory', String((await stat(client, 'used_memory')) + 3 * 1024 * 1024));

      const runId = `killed-${attempt}`;
      const child = spawn(process.execPath, ['--import', 'tsx', repoPath('test/support/transfer-child.ts'), redis.urls().source, redis.urls().target, runId], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, TRANSFER_CHILD_RATE: '100' },
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
      // A slice done (a progress line), then memory pressure on both sides while it runs on.
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      await Promise.all([pressure(source(), 20), pressure(target(), 20)]);
      const killed = child.kill('SIGKILL');
      const end = await exited;
      if (!killed || end.signal === null) {
        // It finished its run before the kill: everything is on the target, exactly once.
        expect(end, 'the child ended on its own: it must have finished its run').toEqual({ code: 0, signal: null });
        expect((await jobsOnBoth(source(), target())).filter((j) => !j.startsWith('filler:'))).toEqual(expected);
        expect(await source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
        await waitForLocksGone(source(), target());
        continue;
      }
      landed++;
      expect(end.signal).toBe('SIGKILL');
      // It really was mid-run: jobs are left on the old Redis's own keys.
      expect((await source().llen('queue:mailers')) + (await source().zcard('dead'))).toBeGreaterThan(0);

      // More pressure now that nothing renews anything: whatever has a TTL may go.
      await Promise.all([pressure(source(), 200), pressure(target(), 200)]);
      // The lock and the ledgers have no TTL: volatile-lru evicted none of them.
      for (const client of [source(), target()]) {
        const lock = JSON.parse((await client.get('sidekiq-migrate:lock'))!) as { runId: string };
        expect(lock.runId).toBe(runId);
        expect(await client.pttl('sidekiq-migrate:lock')).toBe(-1);
      }
      const ledgers = await target().keys(`sidekiq-migrate:${runId}:ledger:*`);
      expect(ledgers.length).toBeGreaterThan(0);
      for (const ledger of ledgers) expect(await target().pttl(ledger)).toBe(-1);

      await waitForLocksGone(source(), target()); // the killed run's lock expires (transfer-child.ts)
      const summary = await runTransfer({ source: source(), target: target(), sourceKeys: keys, targetKeys: keys, runId: `resumer-${attempt}`, dryRun: false, sets: ['schedule', 'retry', 'dead'], queues: true, sliceSize: 7 });

      expect((await jobsOnBoth(source(), target())).filter((j) => !j.startsWith('filler:')), `attempt ${attempt}`).toEqual(expected);
      expect(await source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
      expect(summary.totals.written + summary.totals.duplicates).toBeGreaterThan(0);
    }
  });
});
