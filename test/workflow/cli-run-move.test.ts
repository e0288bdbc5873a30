import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { allJobs } from '../support/redis-snapshot.js';
import { jidOf, sidekiqPayload } from '../support/sidekiq-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'cli-run-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new' }));

const cli = runCli;

async function seed(n = 30): Promise<string[]> {
  const jids: string[] = [];
  for (let i = 0; i < n; i++) {
    const queued = sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` });
    const scheduled = sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` });
    jids.push(jidOf(queued), jidOf(scheduled));
    await redis.source().lpush('queue:old', queued);
    await redis.source().zadd('schedule', String(2e9 + i), scheduled);
  }
  return jids;
}

describe('sidekiq-migrate run and move', () => {
  it('run --json prints one summary object and exits 0', async () => {
    await seed();

    const { code, stdout, stderr } = await cli('run', '--redis', redis.urls().source, '--mapping', mappingFile, '--json', '--page-size', '7');

    expect(code).toBe(0);
    expect(stderr).toBe('');
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ mode: 'reroute', complete: true, sets: { schedule: { moved: 30 } }, queues: { old: { scanned: 30, moved: 30 } }, totals: { moved: 60 } });
    expect(await redis.source().llen('queue:new')).toBe(30);
  });

  it('the human view names every set and queue, where jobs went, and that the run is complete', async () => {
    await seed(5);

    const { code, stdout } = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new');

    expect(code).toBe(0);
    expect(stdout).toMatch(/^Re-route redis:\/\/127\.0\.0\.1:\d+ — run reroute-\d{8}-\d{6}-[0-9a-f]{4}$/m);
    expect(stdout).toMatch(/^schedule +5 +5 /m);
    expect(stdout).toMatch(/^queue:old +5 +5 /m);
    expect(stdout).toContain('Moved to: new 10');
    expect(stdout).toContain('Complete: everything that could be moved was moved.');
    expect(stdout).not.toContain('Resumed:');
  });

  it('--dry-run writes nothing', async () => {
    await seed(5);
    const before = await keyValueSnapshot(redis.source(), '');

    const { code, stdout } = await cli('run', '--redis', redis.urls().source, '--mapping', mappingFile, '--dry-run');

    expect(code).toBe(0);
    expect(stdout).toContain('DRY RUN: nothing was written');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: a run would move 10 job(s) and leave none behind.');
    expect(stdout).not.toContain('Complete');
    expect(await keyValueSnapshot(redis.source(), '')).toEqual(before);
  });

  it('a dry run never says Complete: it names what a run would leave behind, and a move dry run what it would carry', async () => {
    await seed(4);
    await redis.source().lpush('queue:old', sidekiqPayload({ className: 'Unknown', queue: 'old' }), sidekiqPayload({ className: 'Unknown', queue: 'old' }));
    await redis.source().zadd('retry', '2000000000', Buffer.from('{not json'));
    const before = await keyValueSnapshot(redis.source(), '');

    const reroute = await cli('run', '--redis', redis.urls().source, '--mapping', mappingFile, '--dry-run');
    const move = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--dry-run');

    expect([reroute.code, move.code]).toEqual([0, 0]);
    expect(reroute.stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: a run would move 8 job(s) and leave jobs behind: 3 left in place, 2 of them where nobody fetches and 1 in sets naming no queue it can read (see "Needs a look" above).');
    // A transfer carries the unmapped and unparsable jobs as they are: none left behind.
    expect(move.stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: a run would move 11 job(s) and leave none behind.');
    expect(`${reroute.stdout}${move.stdout}`).not.toContain('Complete');
    expect(await keyValueSnapshot(redis.source(), '')).toEqual(before);
    expect(await redis.target().dbsize()).toBe(0);
  });

  it('move transfers to the new Redis', async () => {
    const jids = await seed(12);

    const { code, stdout } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json', '--page-size', '5');

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ mode: 'transfer', complete: true, totals: { claimed: 24, written: 24 } });
    const moved = (await allJobs(redis.target(), '')).filter((j) => j.key !== 'queues').map((j) => jidOf(j.payload));
    expect(moved.sort()).toEqual(jids.sort());
  });

  it('a move dry run counts the jobs an interrupted move left in flight; the move then finishes them, each once', async () => {
    const jids = await seed(4);
    // What a move killed between its claim and its write leaves: two jobs in flight, their batch id.
    const inFlight = [sidekiqPayload({ className: 'A', queue: 'old', args: '["f1"]' }), sidekiqPayload({ className: 'A', queue: 'old', args: '["f2"]' })];
    await redis.source().rpush('sidekiq-migrate:killed-1:inflight:queue:old', ...inFlight);
    await redis.source().set('sidekiq-migrate:killed-1:batch:queue:old', 'B+0');
    const before = await keyValueSnapshot(redis.source(), '');
    const sorted = (jobs: { key: string; payload: string; score?: string }[]) => jobs.map((j) => `${j.key}\t${j.payload}\t${j.score ?? ''}`).sort();
    // Every job exactly once, bytes and scores kept; the two in flight back on their queue.
    const expected = sorted([
      ...(await allJobs(redis.source(), '')).filter((j) => j.key !== 'queues' && !j.key.startsWith('sidekiq-migrate:')),
      ...inFlight.map((payload) => ({ key: 'queue:old', payload })),
    ]);

    const dry = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--dry-run');

    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Would finish 2 job(s) left in flight by an interrupted run, before anything new is claimed.');
    expect(dry.stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: a run would finish 2 job(s) left in flight, move 8 job(s) and leave none behind.');
    expect(await keyValueSnapshot(redis.source(), '')).toEqual(before);
    expect(await redis.target().dbsize()).toBe(0);

    const real = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(real.code).toBe(0);
    expect(real.stdout).toContain('Finished 2 job(s) left in flight by an interrupted run.');
    expect(real.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    const onTarget = (await allJobs(redis.target(), '')).filter((j) => j.key !== 'queues' && !j.key.startsWith('sidekiq-migrate:'));
    expect(sorted(onTarget)).toEqual(expected);
    expect(onTarget.map((j) => jidOf(j.payload)).sort()).toEqual([...jids, ...inFlight.map(jidOf)].sort());
    // Nothing left on the source: no job, no in-flight key, no batch id.
    expect((await allJobs(redis.source(), '')).filter((j) => j.key !== 'queues')).toEqual([]);
    expect(await redis.source().keys('sidekiq-migrate:killed-1:*')).toEqual([]);
  });

  it.each([
    [['run', '--mapping', 'x.json'], '--redis: required'],
    [['run', '--redis', 'http://nope', '--mapping', 'x.json'], 'the scheme must be redis:// or rediss://'],
    [['run', '--redis', 'redis://127.0.0.1:1'], 'say where jobs go'],
    [['run', '--redis', 'redis://127.0.0.1:1', '--mapping', 'm.json', '--rename', 'a=b'], 'not several'],
    [['run', '--redis', 'redis://127.0.0.1:1', '--rename', 'a=b', '--sets', 'schedule,nope'], 'unknown set(s) nope'],
    [['move', '--from', 'redis://127.0.0.1:1'], '--to: required'],
  ])('exits 2 on bad input, touching nothing: %j', async (args, message) => {
    const { code, stdout, stderr } = await cli(...args);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
  });

  it('exits 2 with a clear message on a wrong password, without printing it', async () => {
    const url = redis.urls().source.replace('redis://', 'redis://:wrong-secret@');
    await redis.source().config('SET', 'requirepass', 'right');
    try {
      const { code, stderr } = await cli('run', '--redis', url, '--rename', 'a=b');

      expect(code).toBe(2);
      expect(stderr).toMatch(/authentication failed/);
      expect(stderr).not.toContain('wrong-secret');
    } finally {
      await redis.source().config('SET', 'requirepass', '');
    }
  });

  it('exits 1 when an item failed, naming it, after moving everything else', async () => {
    await seed(5);
    await redis.source().set('retry', 'not a sorted set');

    const { code, stdout } = await cli('run', '--redis', redis.urls().source, '--mapping', mappingFile);

    expect(code).toBe(1);
    expect(stdout).toMatch(/FAILED set retry: FatalError: .*WRONGTYPE/);
    expect(stdout).toContain('Not complete: run the same command again to resume.');
    expect(await redis.source().llen('queue:new')).toBe(5);
  });

  it('a run killed mid-way is resumed by running the same command again', async () => {
    const jids = await seed(200);
    const args = ['run', '--redis', redis.urls().source, '--mapping', mappingFile, '--page-size', '3'];
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    // Progress lines (plain, not a terminal) show it is moving jobs; then kill it.
    await new Promise<void>((resolve) => child.stderr!.on('data', (d: Buffer) => d.toString().includes(' moved') && resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const { code, stdout, stderr } = await cli(...args);

    expect(code).toBe(0);
    expect(stderr).toMatch(/Resuming run reroute-\S+, whose process on this machine is gone/);
    // Its counts are this process's: the killed one's pages are in none of them, and it says so.
    expect(stdout).toContain("Resumed: the counts below are this command's only. What the run moved before it was resumed is where it put it and is not counted here; drain-check shows what is left.");
    expect(stdout).toMatch(/^Complete\b/m);
    const stored = (await allJobs(redis.source(), '')).filter((j) => j.key.startsWith('queue:') || j.key === 'schedule');
    expect(stored.map((j) => jidOf(j.payload)).sort()).toEqual(jids.sort());
    expect(stored.every((j) => j.key === 'queue:new' || j.payload.includes('"queue":"new"'))).toBe(true);
  });
});
