import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

// Issue 11, at the edges: a step that cannot finish must leave every job where it was, and a set
// entry must never merge into another. Every key involved is compared before and after.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'cli-edges-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ W: 'c' }));

const cli = runCli;

/** Every job on a server as `key \t payload \t score`, our bookkeeping included (in-flight keys hold jobs). */
async function jobs(client: Redis): Promise<string[]> {
  return (await allJobs(client, ''))
    .filter((j) => j.key !== 'queues' && !/sidekiq-migrate:[^:]+:(ledger|conflicts):/.test(j.key))
    .map((j) => `${j.key.replace(/^sidekiq-migrate:[^:]+:/, 'sidekiq-migrate:RUN:')}\t${j.payload}\t${j.score ?? ''}`)
    .sort();
}

const job = (queue: string, i: number, className = 'A') => sidekiqPayload({ className, queue, args: `[${i},1.0]`, jid: `00000000000000000000000${i}` });

// The first CLI run of a file synthesizes the state machine: slow on a loaded machine.
describe('a step that would fail half-way is refused whole', { timeout: 180_000 }, () => {
  it('run --rename old=new with queue:new holding a string: exit 1, the key named, queue:old keeps its 3 jobs', async () => {
    const source = redis.source();
    await source.rpush('queue:old', job('old', 1), job('old', 2), job('old', 3));
    await source.sadd('queues', 'old');
    await source.set('queue:new', 'x');
    const before = await jobs(source);

    const { code, stdout } = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new');

    expect(code).toBe(1);
    expect(stdout).toMatch(/FAILED queue old: FatalError: Re-routing jobs of queue:old: queue:new holds a string, not a list; this step was refused before it wrote anything/);
    expect(stdout).toContain('Not complete: run the same command again to resume.');
    expect(stdout).not.toContain('Complete: everything');
    expect(await jobs(source)).toEqual(before);
    expect(before.filter((j) => j.startsWith('queue:old\t'))).toHaveLength(3);
    expect(await source.get('queue:new')).toBe('x');
  });

  it("move with the target's queue:q of the wrong type: nothing recorded or written; after the key is removed, the next run writes every job once", async () => {
    const [source, target] = [redis.source(), redis.target()];
    const seeded = [job('q', 1), job('q', 2), job('q', 3)];
    await source.rpush('queue:q', ...seeded);
    await source.sadd('queues', 'q');
    await target.set('queue:q', 'not a list');

    const first = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/FAILED queue q: FatalError: Transferring queue:q: queue:q holds a string, not a list; this step was refused before it wrote anything/);
    expect(first.stdout).toContain('Not complete: run the same command again to resume.');
    // The claimed jobs wait in the run's in-flight list on the old Redis; nothing on the new one.
    expect(await jobs(source)).toEqual(seeded.map((p) => `sidekiq-migrate:RUN:inflight:queue:q\t${p}\t`).sort());
    expect(await jobs(target)).toEqual([]);
    expect(await target.keys('sidekiq-migrate:*:ledger:*')).toEqual([]);
    const drain = await cli('drain-check', '--redis', redis.urls().source);
    expect(drain.stdout).toMatch(/queue:q: 3 job\(s\), run transfer-/);

    await target.del('queue:q');
    const second = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ complete: true, resumed: { resumed: 3, written: 3, duplicates: 0 }, totals: { written: 3, duplicates: 0 } });
    expect(await jobs(source)).toEqual([]);
    expect(await jobs(target)).toEqual(seeded.map((p) => `queue:q\t${p}\t`).sort());
    expect(await source.keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
    expect(await source.keys('sidekiq-migrate:*:batch:*')).toEqual([]);
  });
});

describe('a transfer never merges two set entries into one', { timeout: 180_000 }, () => {
  it('the same job twice in schedule (queues a and b), both routed to c: one written, the other stays on the source with its score, counted and named', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const jid = 'aaaaaaaaaaaaaaaaaaaaaaaa';
    const onA = sidekiqPayload({ className: 'W', queue: 'a', args: '[1]', jid });
    const onB = sidekiqPayload({ className: 'W', queue: 'b', args: '[1]', jid });
    const other = sidekiqPayload({ className: 'W', queue: 'a', args: '[2]', jid: 'bbbbbbbbbbbbbbbbbbbbbbbb' });
    await source.zadd('schedule', '1795459303.5', onA, '1795459399.25', onB, '1795459400', other);

    const { code, stdout } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--mapping', mappingFile);

    expect(code).toBe(0);
    // Columns: claimed, written, written before, then those the run counted something in: rerouted, conflicts.
    expect(stdout).toMatch(/^ +claimed +written +written before +rerouted +conflicts$/m);
    expect(stdout).toMatch(/^schedule +3 +2 +0 +3 +1$/m);
    expect(stdout).toContain(`Left on the source, their bytes already in the target set (a sorted set would merge them): schedule 1: W (jid ${jid})`);
    const onC = onA.replace('"queue":"a"', '"queue":"c"');
    expect(await jobs(target)).toEqual([`schedule\t${onC}\t1795459303.5`, `schedule\t${other.replace('"queue":"a"', '"queue":"c"')}\t1795459400`].sort());
    expect(await jobs(source)).toEqual([`schedule\t${onB}\t1795459399.25`]);

    // A later run meets the same conflict: the entry stays where it is, still counted.
    const again = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--mapping', mappingFile, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ totals: { claimed: 1, written: 0, conflicts: 1 } });
    expect(await jobs(source)).toEqual([`schedule\t${onB}\t1795459399.25`]);
    expect(await target.zcard('schedule')).toBe(2);
  });

  it('a run resumed under the same id (its first attempt was killed, its summary never seen) still counts a conflict that attempt gave back, and does not say Complete', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const entry = sidekiqPayload({ className: 'W', queue: 'c', args: '[5]', jid: 'cccccccccccccccccccccccc' });
    await source.zadd('schedule', '1795459303.5', entry);
    await target.zadd('schedule', '1795459303.5', entry);
    const move = (...extra: string[]) => cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--run-id', 'resumed-conflict', ...extra);

    // The first attempt gives the entry back as a conflict (as one SIGKILLed later would have).
    expect(JSON.parse((await move('--json')).stdout)).toMatchObject({ totals: { conflicts: 1 } });

    const again = await move();
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^schedule +1 +0 +0 +1$/m);
    expect(again.stdout).toContain('Left on the source, their bytes already in the target set (a sorted set would merge them): schedule 1: W (jid cccccccccccccccccccccccc)');
    expect(again.stdout).not.toContain('Complete');
    expect(await jobs(source)).toEqual([`schedule\t${entry}\t1795459303.5`]);
    expect(await target.zcard('schedule')).toBe(1);
  });

  it("a conflict met while finishing another run's in-flight entry is counted once, not again by this run's own pass over the set", async () => {
    const [source, target] = [redis.source(), redis.target()];
    const entry = sidekiqPayload({ className: 'W', queue: 'c', args: '[6]', jid: 'dddddddddddddddddddddddd' });
    const other = 'transfer-20261204-000000-abcd';
    await source.zadd(`sidekiq-migrate:${other}:inflight:schedule`, '1795459303.5', entry);
    await source.set(`sidekiq-migrate:${other}:batch:schedule`, 'b1');
    await target.zadd('schedule', '1795459303.5', entry);

    const { code, stdout } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ resumed: { conflicts: 1 }, sets: { schedule: { claimed: 0, conflicts: 0 } }, totals: { conflicts: 1 } });
    expect(await jobs(source)).toEqual([`schedule\t${entry}\t1795459303.5`]);
    expect(await target.zcard('schedule')).toBe(1);
  });
});

describe('eviction policies are shown, warned about, and allkeys-* refused for a transfer', { timeout: 180_000 }, () => {
  it('move: allkeys-lru on the target exits 2 touching nothing; volatile-lru runs, with a loud warning; drain-check shows it', async () => {
    const [source, target] = [redis.source(), redis.target()];
    await source.rpush('queue:q', job('q', 1));
    await source.config('SET', 'maxmemory-policy', 'volatile-lru');
    await target.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const before = [await keyValueSnapshot(source, ''), await keyValueSnapshot(target, '')];
      const refused = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(/^target redis:\/\/127\.0\.0\.1:\d+ has maxmemory-policy allkeys-lru: Redis may evict any key under memory pressure, .* Set maxmemory-policy to noeviction/m);
      expect([await keyValueSnapshot(source, ''), await keyValueSnapshot(target, '')]).toEqual(before);

      await target.config('SET', 'maxmemory-policy', 'volatile-lru');
      const moved = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

      expect(moved.code).toBe(0);
      expect(moved.stderr).toContain('maxmemory-policy: source volatile-lru · target volatile-lru\n');
      expect(moved.stderr).toContain('WARNING: target has maxmemory-policy volatile-lru, not noeviction (which Sidekiq asks for)');
      expect(moved.stdout).toContain('Complete: everything that could be moved was moved.');
      expect(await jobs(target)).toEqual([`queue:q\t${job('q', 1)}\t`]);

      const drain = await cli('drain-check', '--redis', redis.urls().target);
      expect(drain.stdout).toContain('maxmemory-policy: volatile-lru\nWARNING: redis://127.0.0.1:');
    } finally {
      await source.config('SET', 'maxmemory-policy', 'noeviction');
      await target.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });
});

describe('a queue whose name no state can carry', { timeout: 180_000 }, () => {
  it('run refuses a queue named with more than 512 bytes before it writes anything: exit 2, the queue named; it failed every run at its plan with States.DataLimitExceeded and left its lock', async () => {
    const source = redis.source();
    const long = `old_${'x'.repeat(300_000)}`;
    await source.rpush(`queue:${long}`, job(long, 1));
    await source.rpush('queue:old', job('old', 2, 'W'));
    await source.sadd('queues', long, 'old');
    const before = await keyValueSnapshot(source, '');

    const { code, stdout, stderr } = await cli('run', '--redis', redis.urls().source, '--mapping', mappingFile);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('1 queue(s) have a name longer than 512 bytes, such as queue:old_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (300004 bytes): a run carries queue names through the state machine');
    expect(stderr).not.toContain('DataLimitExceeded');
    expect(await keyValueSnapshot(source, '')).toEqual(before);
  });
});
