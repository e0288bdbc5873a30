// The rollback command's edges, each leaving every job exactly once and saying what it did: a
// rollback run twice, one killed half-way and run again, one while Sidekiq's poller moves due
// schedule entries, and one of a run id that names no run.
//
// Defect (reserved names): `rollback quarantine` read `sidekiq-migrate:quarantine:moves`, which is
// the quarantine list of a queue named `moves`, not a record of moves, and failed with exit 1 and
// "the key holds another type of value than Sidekiq uses there (WRONGTYPE); check the key prefix",
// as if the Redis or the prefix were wrong and a retry could help. It is bad input: exit 2, said so.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { movedSome } from '../support/cli-child.js';
import { jobsIn, keyValueSnapshot } from '../support/exact-jobs.js';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli as cli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { waitUntil } from '../support/wait-until.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-rollback-edges-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new' }));
const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1);

/** `n` A jobs queued on `old` and `n` in `schedule` naming `old`, due at `due(i)` (epoch seconds). */
async function seed(n: number, due: (i: number) => number = (i) => 2e9 + i): Promise<void> {
  const client = redis.client();
  for (let i = 0; i < n; i += 500) {
    const pipeline = client.pipeline();
    for (let j = i; j < Math.min(n, i + 500); j++) {
      pipeline.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: `[${j}]` }));
      pipeline.zadd('schedule', String(due(j)), sidekiqPayload({ className: 'A', queue: 'old', args: `["s",${j}]` }));
    }
    await pipeline.exec();
  }
  await client.sadd('queues', 'old');
}

describe('rollback edges', () => {
  it('a run id that names no run, or a name the tool keeps keys of its own under: exit 2, one clear message, nothing touched', async () => {
    await seed(3);
    expect((await cli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r1')).code).toBe(0);
    // Jobs an earlier run quarantined from a queue named `moves`: sidekiq-migrate:quarantine:moves.
    await redis.client().rpush('sidekiq-migrate:quarantine:moves', sidekiqPayload({ className: 'Q', queue: 'moves' }));
    const before = await keyValueSnapshot(redis.client());

    const reserved = await cli('rollback', 'quarantine', '--redis', redis.url());
    const reservedDry = await cli('rollback', 'quarantine', '--redis', redis.url(), '--dry-run');
    const missing = await cli('rollback', 'r2', '--redis', redis.url());

    expect(reserved).toMatchObject({ code: 2, stdout: '' });
    expect(reserved.stderr).toBe(
      'Run quarantine cannot be rolled back: "quarantine" is a name sidekiq-migrate keeps keys of its own under, and sidekiq-migrate:quarantine:moves is one of them (a list), not a record of moves. Nothing was touched.\n',
    );
    expect(reservedDry).toEqual(reserved);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toMatch(/^Run r2 recorded no moves on redis:\/\/127\.0\.0\.1:\d+: it moved nothing, was a dry run, is older than 30 days, or was a transfer\.\n$/);
    expect(await keyValueSnapshot(redis.client())).toEqual(before);
  });

  // The second was run as a rollback of its own, which moved nothing and said Complete; it would
  // have moved any job of r1's classes pushed to r1's queues since, none of them r1's. A rollback
  // that put back everything is recorded now (rolled-back.ts): the second is refused (audit-rollbackrec).
  it('run twice: the second is refused as rolled back already, touching nothing; every job as before the run', async () => {
    await seed(5);
    const before = await jobsIn(redis.client());
    expect((await cli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r1')).code).toBe(0);

    const first = await cli('rollback', 'r1', '--redis', redis.url(), '--json');
    const second = await cli('rollback', 'r1', '--redis', redis.url(), '--json');

    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ complete: true, totals: { moved: 10, movedTo: { old: 10 } } });
    expect(second).toMatchObject({ code: 1, stdout: '' });
    expect(second.stderr).toMatch(new RegExp(`^Run r1 was rolled back already: rollback ${JSON.parse(first.stdout).runId} put back what it moved, leaving nothing behind, and finished at [-\\d]+ [:\\d]+ UTC\\. .* Nothing was touched\\.\\n$`));
    expect(await jobsIn(redis.client())).toEqual(before);
  });

  it('killed half-way, then run again: resumed under its id, it puts back the rest, says Complete; every job as before the run', async () => {
    await seed(3000);
    const before = await jobsIn(redis.client());
    expect((await cli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r1')).code).toBe(0);
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), 'rollback', 'r1', '--redis', redis.url(), '--page-size', '20'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_, signal) => resolve(signal)));
    await movedSome(child);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const left = (await jobsIn(redis.client())).filter((j) => j.startsWith('queue:new') || j.includes(Buffer.from('"queue":"new"').toString('hex')));
    expect(left.length).toBeGreaterThan(0);

    const again = await cli('rollback', 'r1', '--redis', redis.url());

    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/^Resuming rollback run rollback-\d{8}-\d{6}-[0-9a-f]{4}, whose process on this machine is gone\.$/m);
    expect(lastLine(again.stdout)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(redis.client())).toEqual(before);
  });

  it("while Sidekiq's poller moves due schedule entries to their queue: every job exactly once; what the poller put on the wrong queue after the rollback passed it is said, and a second rollback puts it back", async () => {
    const now = Math.floor(Date.now() / 1000);
    // Half of the entries come due during the rollback, half much later.
    await seed(2000, (i) => (i % 2 ? now + 4 + (i % 7) : now + 100_000 + i));
    expect((await cli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r1')).code).toBe(0);
    const poller = new Redis(redis.url(), { protocol: 2 });
    let running = true;
    const polled: string[] = [];
    // Sidekiq 6's poller: the first due entry, ZREM, then a push to the queue its payload names.
    const polling = (async () => {
      while (running) {
        const [job] = await poller.zrangebyscore('schedule', '-inf', String(Date.now() / 1000), 'LIMIT', 0, 1);
        if (job === undefined) await new Promise((r) => setTimeout(r, 5));
        else if ((await poller.zrem('schedule', job)) === 1) {
          await poller.lpush(`queue:${(JSON.parse(job) as { queue: string }).queue}`, job);
          polled.push(job);
        }
      }
    })();
    await new Promise((r) => setTimeout(r, Math.max(0, (now + 4) * 1000 - Date.now())));

    const back = await cli('rollback', 'r1', '--redis', redis.url(), '--page-size', '50');
    // The poller stops once it has taken every entry due by now + 10, as Sidekiq's would, not at a
    // fixed instant: on a loaded machine the run and the rollback outlasted now + 12, the entries
    // came due all at once, and a poller stopped then had taken 71-76 of the 1,000 (7 of 8 runs at
    // load 13-30). One entry per 3 round trips: up to about a minute under such load.
    await new Promise((r) => setTimeout(r, Math.max(0, (now + 11) * 1000 - Date.now())));
    await waitUntil('the poller took every entry due', async () => (await redis.client().zcount('schedule', '-inf', String(now + 10))) === 0, { timeoutMs: 150_000 });
    running = false;
    await polling;
    poller.disconnect();

    expect(back.code).toBe(0);
    expect(polled.length).toBe(1000);
    // Every job once: 2,000 queued and 2,000 scheduled, wherever they are.
    const all = await jobsIn(redis.client());
    expect(all).toHaveLength(4000);
    const onNew = await redis.client().llen('queue:new');
    if (onNew > 0) expect(back.stdout).toContain(`Done, but jobs were left behind: ${onNew.toLocaleString('en-US')} arrived during the rollback on the queues it drains`);
    else expect(lastLine(back.stdout)).toBe('Complete: everything that could be moved was moved.');

    const again = await cli('rollback', 'r1', '--redis', redis.url());

    expect(again.code).toBe(0);
    expect(lastLine(again.stdout)).toBe('Complete: everything that could be moved was moved.');
    expect(await redis.client().llen('queue:new')).toBe(0);
    expect(await redis.client().llen('queue:old')).toBe(3000);
    expect(await redis.client().zcard('schedule')).toBe(1000);
    expect((await redis.client().zrange('schedule', 0, '-1')).every((j) => j.includes('"queue":"old"'))).toBe(true);
  }, 240_000);
});
