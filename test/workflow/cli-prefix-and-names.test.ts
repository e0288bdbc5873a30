import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

// Issue 11, items 7 and 9: GitLab's spelling of the namespace (no trailing colon), data under a
// prefix other than the one given, an empty Redis, and a queue whose name is not UTF-8. Every
// key is compared before and after, as bytes.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'cli-prefix-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ W: 'c' }));

const cli = runCli;

/** Bytes shown one character per byte (latin1): `caf\xe9` stays distinguishable from `café`. */
const latin1 = (b: Buffer) => b.toString('latin1');

/** Every key on a server, as bytes: `key \t member \t score` for lists and sorted sets, `key \t type` for the rest. */
async function everything(client: Redis): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scanBuffer(cursor, 'COUNT', 1000);
    cursor = next.toString();
    for (const key of keys) {
      const type = await client.type(key);
      if (type === 'list') for (const v of await client.lrangeBuffer(key, 0, -1)) out.push(`${latin1(key)}\t${latin1(v)}\t`);
      else if (type === 'zset') {
        const flat = await client.zrangeBuffer(key, 0, '-1', 'WITHSCORES');
        for (let i = 0; i < flat.length; i += 2) out.push(`${latin1(key)}\t${latin1(flat[i]!)}\t${latin1(flat[i + 1]!)}`);
      } else if (type === 'set') for (const v of await client.smembersBuffer(key)) out.push(`${latin1(key)}\t${latin1(v)}\tset`);
      else out.push(`${latin1(key)}\t${type}`);
    }
  } while (cursor !== '0');
  return out.sort();
}

/** Jobs only (lists and sorted sets), our bookkeeping with the run id blanked. */
async function jobs(client: Redis): Promise<string[]> {
  return (await everything(client)).filter((l) => !l.endsWith('\tset') && !/\t(string|hash|none)$/.test(l) && !/sidekiq-migrate:[^:]+:(ledger|conflicts|moves)/.test(l));
}

const job = (queue: string, i: number, className = 'W') => sidekiqPayload({ className, queue, args: `[${i},1.0]`, jid: `00000000000000000000000${i}` });
const NS = 'resque:gitlab:';

// The first CLI run of a file synthesizes the state machine: slow on a loaded machine.
describe('--namespace as GitLab spells it (no trailing colon)', { timeout: 180_000 }, () => {
  it('run --namespace resque:gitlab moves the jobs of resque:gitlab:queue:old and leaves no resque:gitlabsidekiq-migrate: key', async () => {
    const source = redis.source();
    await source.rpush(`${NS}queue:old`, job('old', 1), job('old', 2));
    await source.sadd(`${NS}queues`, 'old');

    const { code, stdout } = await cli('run', '--redis', redis.urls().source, '--namespace', 'resque:gitlab', '--rename', 'old=new');

    expect(code).toBe(0);
    expect(stdout).toContain('Complete: everything that could be moved was moved.');
    expect(await jobs(source)).toEqual([`${NS}queue:new\t${job('new', 1)}\t`, `${NS}queue:new\t${job('new', 2)}\t`].sort());
    expect((await everything(source)).filter((l) => l.startsWith('resque:gitlabsidekiq-migrate:') || l.startsWith('resque:gitlabqueue'))).toEqual([]);
  });

  it('move --namespace resque:gitlab carries resque:gitlab:queue:q to the same key on the target', async () => {
    const [source, target] = [redis.source(), redis.target()];
    await source.rpush(`${NS}queue:q`, job('q', 1), job('q', 2));
    await source.sadd(`${NS}queues`, 'q');

    const { code, stdout } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--namespace', 'resque:gitlab');

    expect(code).toBe(0);
    expect(stdout).toContain('Complete: everything that could be moved was moved.');
    expect(await jobs(source)).toEqual([]);
    expect(await jobs(target)).toEqual([`${NS}queue:q\t${job('q', 1)}\t`, `${NS}queue:q\t${job('q', 2)}\t`].sort());
    expect(await everything(target)).toContain(`${NS}queues\tq\tset`);
    for (const client of [source, target]) expect((await everything(client)).filter((l) => l.startsWith('resque:gitlabsidekiq-migrate:'))).toEqual([]);
  });

  it('drain-check --namespace resque:gitlab counts the jobs of resque:gitlab:queue:old: STUCK, exit 3', async () => {
    const source = redis.source();
    await source.rpush(`${NS}queue:old`, job('old', 1), job('old', 2), job('old', 3));

    const { code, stdout } = await cli('drain-check', '--redis', redis.urls().source, '--namespace', 'resque:gitlab');

    expect(code).toBe(3);
    expect(stdout).toMatch(/STUCK — 3 job\(s\) left/);
    expect(stdout).not.toContain('DRAINED');
  });
});

describe('no Sidekiq data under the prefix given', { timeout: 180_000 }, () => {
  const seed = async () => {
    const source = redis.source();
    await source.rpush(`${NS}queue:old`, job('old', 1), job('old', 2));
    await source.sadd(`${NS}queues`, 'old');
    await source.zadd(`${NS}retry`, '1795459303.5', job('old', 3));
    return everything(source);
  };

  it('run without --namespace while the jobs are under resque:gitlab: — exit 2, the prefix and the option named, nothing touched', async () => {
    const before = await seed();

    const { code, stdout, stderr } = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new');

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^No Sidekiq data without a prefix on source redis:\/\/127\.0\.0\.1:\d+, but Sidekiq keys are there under "resque:gitlab:" \(3 keys\): use --namespace resque:gitlab:\. Nothing was touched\.\n$/);
    expect(await everything(redis.source())).toEqual(before);
  });

  it('move with --namespace resque (a wrong prefix): exit 2, nothing touched on either side', async () => {
    const before = await seed();

    const { code, stderr } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--namespace', 'resque');

    expect(code).toBe(2);
    expect(stderr).toMatch(/No Sidekiq data under the prefix "resque:" on source .*under "resque:gitlab:" \(3 keys\): use --namespace resque:gitlab:/);
    expect(await everything(redis.source())).toEqual(before);
    expect(await everything(redis.target())).toEqual([]);
  });

  it('drain-check without --namespace: exit 2 instead of DRAINED', async () => {
    const before = await seed();

    const { code, stdout, stderr } = await cli('drain-check', '--redis', redis.urls().source);

    expect(code).toBe(2);
    expect(stdout).not.toContain('DRAINED');
    expect(stderr).toMatch(/under "resque:gitlab:" \(3 keys\): use --namespace resque:gitlab:/);
    expect(await everything(redis.source())).toEqual(before);
  });

  it('names a prefix-less Sidekiq when --namespace is given but the data has none', async () => {
    const source = redis.source();
    await source.rpush('queue:old', job('old', 1));
    await source.sadd('queues', 'old');

    const { code, stderr } = await cli('run', '--redis', redis.urls().source, '--namespace', 'resque:gitlab:', '--rename', 'old=new', '--dry-run');

    expect(code).toBe(2);
    expect(stderr).toMatch(/under no prefix \(2 keys\): leave out --namespace\. Nothing was touched\.\n$/);
    expect(await jobs(source)).toEqual([`queue:old\t${job('old', 1)}\t`]);
  });

  it('an empty Redis: run and move say nothing was there, never plain "Complete"', async () => {
    const run = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Complete: nothing was there to move \(no Sidekiq data on redis:\/\/127\.0\.0\.1:\d+\)\.\n$/);
    expect(run.stdout).not.toContain('everything that could be moved');
    const dry = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/\nDry run, nothing written: nothing is there to move \(no Sidekiq data on redis:\/\/127\.0\.0\.1:\d+\)\.\n$/);

    const move = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');
    expect(move.code).toBe(0);
    expect(JSON.parse(move.stdout)).toMatchObject({ complete: true, nothingThere: true });
    expect(await jobs(redis.source())).toEqual([]);
    expect(await jobs(redis.target())).toEqual([]);
  });

  it('move from an empty source to a Redis that holds jobs: "no Sidekiq data" names the source alone, not both', async () => {
    await redis.target().rpush('queue:default', job('default', 1));
    await redis.target().sadd('queues', 'default');
    const { source, target } = redis.urls();

    const move = await cli('move', '--from', source, '--to', target);
    const dry = await cli('move', '--from', source, '--to', target, '--dry-run');

    expect(move.code).toBe(0);
    expect(move.stdout.trimEnd().split('\n').at(-1)).toBe(`Complete: nothing was there to move (no Sidekiq data on the source, ${source}).`);
    expect(dry.code).toBe(0);
    expect(dry.stdout.trimEnd().split('\n').at(-1)).toBe(`Dry run, nothing written: nothing is there to move (no Sidekiq data on the source, ${source}).`);
    expect(await jobs(redis.target())).toEqual([`queue:default\t${job('default', 1)}\t`]);
  });
});

describe('a queue whose name is not UTF-8 (queue:caf\\xe9)', { timeout: 180_000 }, () => {
  const name = Buffer.from('caf\xe9', 'latin1');
  const key = Buffer.concat([Buffer.from('queue:'), name]);
  // Written by a Latin-1 client: the payload's queue value holds the same byte.
  const payload = (i: number) => Buffer.from(job('caf\xe9', i), 'latin1');
  const seed = async (client: Redis) => {
    await client.rpush(key, payload(1), payload(2));
    await client.sadd('queues', name);
  };

  it('move carries both jobs, byte for byte, to the same key, and names the queue in `queues`', async () => {
    const [source, target] = [redis.source(), redis.target()];
    await seed(source);

    const { code, stdout } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(code).toBe(0);
    expect(stdout).toMatch(/^queue:caf\\xe9 +2 +2 /m);
    expect(stdout).toContain('Complete: everything that could be moved was moved.');
    expect(await jobs(source)).toEqual([]);
    expect(await jobs(target)).toEqual([1, 2].map((i) => `${latin1(key)}\t${latin1(payload(i))}\t`).sort());
    expect(await target.smembersBuffer('queues')).toEqual([name]);
    // No key of ours named after a mangled name (U+FFFD) on either side.
    for (const client of [source, target]) expect((await everything(client)).filter((l) => l.includes('\xef\xbf\xbd'))).toEqual([]);
  });

  it('a transfer of it interrupted after the claim is resumed through its in-flight key (bytes), each job written once', async () => {
    const [source, target] = [redis.source(), redis.target()];
    await seed(source);
    // The target's key of the wrong type stops the write after the claim: the jobs wait in flight.
    await target.set(key, 'not a list');

    const first = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/FAILED queue caf\\xe9: /);
    const inflight = Buffer.concat([Buffer.from('sidekiq-migrate:'), Buffer.from('RUN'), Buffer.from(':inflight:queue:'), name]);
    expect((await jobs(source)).map((l) => l.replace(/^sidekiq-migrate:[^:]+:/, 'sidekiq-migrate:RUN:'))).toEqual([1, 2].map((i) => `${latin1(inflight)}\t${latin1(payload(i))}\t`).sort());
    const drain = await cli('drain-check', '--redis', redis.urls().source);
    expect(drain.stdout).toMatch(/2 job\(s\) are in flight from interrupted transfers/);

    await target.del(key);
    const second = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ complete: true, resumed: { resumed: 2, written: 2, duplicates: 0 } });
    expect(await jobs(source)).toEqual([]);
    expect(await jobs(target)).toEqual([1, 2].map((i) => `${latin1(key)}\t${latin1(payload(i))}\t`).sort());
  });

  it('run --mapping moves its jobs to queue:c, the payload queue rewritten, nothing else changed', async () => {
    const source = redis.source();
    // The key's bytes are Latin-1; the payloads are JSON, hence UTF-8 (as Sidekiq writes them).
    await source.rpush(key, job('café', 1), job('café', 2));
    await source.sadd('queues', name);

    const { code, stdout } = await cli('run', '--redis', redis.urls().source, '--mapping', mappingFile);

    expect(code).toBe(0);
    expect(stdout).toMatch(/^queue:caf\\xe9 +2 +2 /m);
    expect(stdout).toContain('Moved to: c 2');
    expect(await jobs(source)).toEqual([1, 2].map((i) => `queue:c\t${latin1(Buffer.from(job('c', i)))}\t`).sort());
  });

  it('run --mapping leaves payloads that are not UTF-8 JSON where they are, counted as unparsable', async () => {
    const source = redis.source();
    await seed(source);
    const before = await everything(source);

    const { code, stdout } = await cli('run', '--redis', redis.urls().source, '--mapping', mappingFile);

    expect(code).toBe(0);
    // Columns: scanned, moved, already, then those with something counted (unmapped is 0: not shown).
    expect(stdout).toMatch(/^ +scanned +moved +already +unparsable$/m);
    expect(stdout).toMatch(/^queue:caf\\xe9 +2 +0 +0 +2$/m);
    expect(await jobs(source)).toEqual(before.filter((l) => l.startsWith('queue:')));
  });

  it('drain-check counts the two jobs: STUCK, exit 3, the queue shown as caf\\xe9', async () => {
    await seed(redis.source());

    const { code, stdout } = await cli('drain-check', '--redis', redis.urls().source);

    expect(code).toBe(3);
    expect(stdout).toMatch(/STUCK — 2 job\(s\) left/);
    expect(stdout).toMatch(/^caf\\xe9 +2 /m);
    expect(stdout).toContain('queues nobody listens to: caf\\xe9');
  });
});
