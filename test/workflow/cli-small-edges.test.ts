import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

// Issue 11, item 10: a set named twice, `--queues`, the same Redis on both ends of a move, and a
// bad --redis named once. Jobs compared before and after, with their scores.
const redis = privateSourceAndTarget();

const cli = runCli;

const job = (queue: string, i: number) => sidekiqPayload({ className: 'W', queue, args: `[${i},1.0]`, jid: `00000000000000000000000${i}` });

async function jobs(client: Redis): Promise<string[]> {
  const out: string[] = [];
  for (const key of (await client.keys('*')).sort()) {
    const type = await client.type(key);
    if (type === 'list') for (const v of await client.lrange(key, 0, -1)) out.push(`${key}\t${v}\t`);
    if (type === 'zset') {
      const flat = await client.zrange(key, 0, '-1', 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) out.push(`${key}\t${flat[i]}\t${flat[i + 1]}`);
    }
  }
  return out.sort();
}

async function seed(client: Redis): Promise<void> {
  await client.rpush('queue:old', job('old', 1), job('old', 2));
  await client.sadd('queues', 'old');
  await client.zadd('schedule', '1795459303.25', job('old', 3), '1795459304.5', job('old', 4), '1795459305', job('old', 5));
}

describe('small edges of the command line', { timeout: 180_000 }, () => {
  it('--sets schedule,schedule is one item: each entry moved once, counted once', async () => {
    const source = redis.source();
    await seed(source);

    const { code, stdout } = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--sets', 'schedule,schedule', '--no-queues', '--json');

    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(Object.keys(summary.sets)).toEqual(['schedule']);
    expect(summary.queues).toEqual({});
    expect(summary.totals).toMatchObject({ scanned: 3, moved: 3 });
    expect(await jobs(source)).toEqual(
      [
        `queue:old\t${job('old', 1)}\t`,
        `queue:old\t${job('old', 2)}\t`,
        `schedule\t${job('new', 3)}\t1795459303.25`,
        `schedule\t${job('new', 4)}\t1795459304.5`,
        `schedule\t${job('new', 5)}\t1795459305`,
      ].sort(),
    );
  });

  it('--no-queues or --sets that leave out a set holding jobs: never "Complete", the jobs not looked at counted and named (dry run too); move the same', async () => {
    const source = redis.source();
    await seed(source);
    await source.zadd('retry', '1795459306', job('old', 6));

    const noQueues = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--no-queues', '--sets', 'schedule');

    expect(noQueues.code).toBe(0);
    expect(noQueues.stdout).toContain('\nNot looked at by this run (--sets, --no-queues), 3 job(s): queue:old 2 · retry 1. Run again without those options to move them.\n');
    expect(noQueues.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 3 in sets and queues this run did not look at (see "Needs a look" above).');
    expect(await jobs(source)).toEqual(
      [
        `queue:old\t${job('old', 1)}\t`,
        `queue:old\t${job('old', 2)}\t`,
        `retry\t${job('old', 6)}\t1795459306`,
        `schedule\t${job('new', 3)}\t1795459303.25`,
        `schedule\t${job('new', 4)}\t1795459304.5`,
        `schedule\t${job('new', 5)}\t1795459305`,
      ].sort(),
    );

    const dry = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--no-queues', '--dry-run');
    expect(dry.stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: a run would move 1 job(s) and leave jobs behind: 2 in sets and queues this run did not look at (see "Needs a look" above).');

    const target = redis.target();
    const move = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--sets', 'retry');
    expect(move.code).toBe(0);
    expect(move.stdout).toContain('\nNot looked at by this run (--sets), 3 job(s): schedule 3. Run again without those options to move them.\n');
    expect(move.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 3 in sets and queues this run did not look at (see "Needs a look" above).');
    expect(await jobs(target)).toEqual([`queue:old\t${job('old', 1)}\t`, `queue:old\t${job('old', 2)}\t`, `retry\t${job('old', 6)}\t1795459306`].sort());
  });

  it('--rename default=NEW moves set entries that name no queue: Sidekiq pushes them to default when due', async () => {
    const source = redis.source();
    const noQueue = (i: number) => `{"class":"W","args":[${i}],"jid":"00000000000000000000000${i}","created_at":1795459303.5}`;
    await source.zadd('schedule', '1795459303.25', noQueue(1));
    await source.zadd('retry', '1795459304.5', noQueue(2));
    await source.rpush('queue:default', job('default', 3));
    await source.sadd('queues', 'default');

    const { code, stdout } = await cli('run', '--redis', redis.urls().source, '--rename', 'default=newdef');

    expect(code).toBe(0);
    expect(stdout).toContain('Complete: everything that could be moved was moved.');
    // The queue inserted right after the `{`, every other byte kept (rewrite-queue.ts).
    const named = (i: number) => noQueue(i).replace('{', '{"queue":"newdef",');
    expect(await jobs(source)).toEqual(
      [`queue:newdef\t${job('newdef', 3)}\t`, `retry\t${named(2)}\t1795459304.5`, `schedule\t${named(1)}\t1795459303.25`].sort(),
    );
  });

  it('--rename of a queue this Redis does not have (a typo) says it moved nothing, not "Complete"; a queue drained before, or only named by set entries, is no typo', async () => {
    const source = redis.source();
    await source.rpush('queue:old_q', job('old_q', 1));
    await source.sadd('queues', 'old_q', 'drained');
    await source.zadd('schedule', '1795459303.25', job('only_scheduled', 2));
    const before = await jobs(source);

    const dry = await cli('run', '--redis', redis.urls().source, '--rename', 'olq_q=new_q', '--dry-run');
    const typo = await cli('run', '--redis', redis.urls().source, '--rename', 'olq_q=new_q');

    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Dry run, nothing written: a run would move 0 job(s) and leave none behind; --rename olq_q=new_q would move nothing (see "Needs a look" above).');
    expect(typo.code).toBe(0);
    expect(typo.stdout).toContain('--rename olq_q=new_q moved nothing: this Redis has no queue olq_q (no list, and not in its set of queues), and no schedule, retry or dead entry names it. Check the name');
    expect(typo.stdout).toContain('Done, but --rename olq_q=new_q moved nothing: no such queue on this Redis, and no schedule, retry or dead entry names it (see "Needs a look" above).');
    expect(typo.stdout).not.toContain('Complete');
    expect(await jobs(source)).toEqual(before);

    // Known queues: one drained before (still in `queues`), one only set entries name.
    const known = await cli('run', '--redis', redis.urls().source, '--rename', 'drained=new_q', '--rename', 'only_scheduled=later');
    expect(known.code).toBe(0);
    expect(known.stdout).toContain('Complete: everything that could be moved was moved.');
    expect(known.stdout).not.toContain('moved nothing');
    expect(await jobs(source)).toEqual([`queue:old_q\t${job('old_q', 1)}\t`, `schedule\t${job('later', 2)}\t1795459303.25`]);
  });

  it('--queues, the positive of --no-queues, is accepted', async () => {
    const source = redis.source();
    await seed(source);

    const { code, stdout, stderr } = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--sets', 'retry', '--queues', '--json');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ complete: true, queues: { old: { moved: 2 } } });
    expect((await jobs(source)).filter((j) => j.startsWith('queue:'))).toEqual([`queue:new\t${job('new', 1)}\t`, `queue:new\t${job('new', 2)}\t`].sort());
  });

  it('move with the same server, database and prefix on both ends (spelt differently) is refused: exit 2, nothing touched', async () => {
    const source = redis.source();
    await seed(source);
    const before = await keyValueSnapshot(source);

    const { code, stdout, stderr } = await cli('move', '--from', redis.urls().source, '--to', `${redis.urls().source}/0`);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^source redis:\/\/127\.0\.0\.1:\d+ and target redis:\/\/127\.0\.0\.1:\d+\/0 are the same Redis \(server run_id [0-9a-f]{40}, database 0, no prefix\): a transfer needs two different places\. To re-route inside one Redis, use run\. Nothing was touched\.\n$/);
    expect(await keyValueSnapshot(source)).toEqual(before);
    expect(await source.keys('sidekiq-migrate:*')).toEqual([]);
  });

  it('move within one server to another database is allowed', async () => {
    const source = redis.source();
    await seed(source);

    const { code } = await cli('move', '--from', redis.urls().source, '--to', `${redis.urls().source}/3`, '--json');

    expect(code).toBe(0);
    expect(await jobs(source)).toEqual([]);
    await source.select(3);
    try {
      expect(await jobs(source)).toHaveLength(5);
    } finally {
      await source.select(0);
    }
  });

  it('run --redis notaurl names the option once', async () => {
    const { code, stdout, stderr } = await cli('run', '--redis', 'notaurl', '--rename', 'old=new');

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.match(/--redis/g)).toHaveLength(1);
    expect(stderr).toMatch(/^--redis: not a URL: notaurl \(expected redis:\/\//);
  });

  it('a database given as ?db=3 (as redis-py and ioredis read it) or a password with a bare "%" is refused: exit 2, what is wrong, nothing touched in any database', async () => {
    const source = redis.source();
    await seed(source);
    await source.select(3);
    await seed(source);
    await source.select(0);
    const before = await keyValueSnapshot(source);

    const query = await cli('run', '--redis', `${redis.urls().source}?db=3`, '--rename', 'old=new');
    const percent = await cli('run', '--redis', redis.urls().source.replace('://', '://app:100%sure@'), '--rename', 'old=new');

    expect(query).toMatchObject({ code: 2, stdout: '' });
    expect(query.stderr.trim()).toBe(`--redis: ${redis.urls().source}?…: a query (?…) or fragment (#…) is not read: give the database as the path (/3) and the password in the URL's user part or with --password`);
    expect(percent).toMatchObject({ code: 2, stdout: '' });
    expect(percent.stderr.trim()).toBe(`--redis: ${redis.urls().source.replace('://', '://app:***@')}: the password is not validly percent-encoded (write "%" as %25, or give the password with --password)`);
    expect(await keyValueSnapshot(source)).toEqual(before);
    await source.select(3);
    try {
      expect(await keyValueSnapshot(source)).toEqual(before);
    } finally {
      await source.select(0);
    }
  });

  it('a mapping too large for a run\'s input (10,000 classes) is refused at once, before anything is touched: exit 2, and how to split it', async () => {
    const source = redis.source();
    await seed(source);
    const before = await keyValueSnapshot(source);
    const keys = (await source.keys('*')).sort();
    const mapping: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) mapping[`Worker${String(i).padStart(5, '0')}WithAFairlyLongGitLabStyleName`] = `gitlab_style_queue_name_for_worker_${i}`;
    const file = join(mkdtempSync(join(tmpdir(), 'input-size-')), 'mapping.json');
    writeFileSync(file, JSON.stringify(mapping));

    const { code, stdout, stderr } = await cli('run', '--redis', redis.urls().source, '--mapping', file);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /^The run's input would be [\d,]+ bytes, over the 261,632 bytes a run's input may take \(Step Functions takes 262,144 bytes a state, and its first task gets the input with the execution's name; the local runner holds to the same limit\): its mapping names 10,000 classes\. Split the mapping into runs of at most about [\d,]+ classes each, with --unmapped leave \(the default\): a run leaves the jobs of the classes it does not name where they are, and the next run moves them\. Nothing was touched\.\n$/,
    );
    const perRun = Number(/at most about ([\d,]+) classes/.exec(stderr)![1]!.replace(/,/g, ''));
    const part = Object.fromEntries(Object.entries(mapping).slice(0, perRun));
    expect(Buffer.byteLength(JSON.stringify({ routing: { kind: 'mapping', mapping: part } }))).toBeLessThan(261_632);
    expect(await keyValueSnapshot(source)).toEqual(before);
    expect((await source.keys('*')).sort()).toEqual(keys);
  });
});
