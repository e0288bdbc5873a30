import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';

// ElastiCache's default maxmemory-policy is volatile-lru: under memory pressure it evicts keys that
// have a TTL. A run's list of sets and queues (`sidekiq-migrate:<run>:items`, on the source) has
// one, and the state machine reads its next batch of ten items from it: evicted mid-run, the run
// ended after its first batch and a class-selective move said 'Complete' over selected jobs it
// never looked at.
const redis = privateSourceAndTarget(['--maxmemory-policy', 'volatile-lru']);
const { source, target } = redis;
const stat = async (field: string) => Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(await source().info())?.[1] ?? 0);

/** 14 queues (two batches of items with the three sets), half of each of class Move; returns the jobs seeded. */
async function seed(): Promise<string[]> {
  const seeded: string[] = [];
  for (let q = 0; q < 14; q++) {
    const queue = `q${String(q).padStart(2, '0')}`;
    for (let i = 0; i < 6; i++) {
      const payload = sidekiqPayload({ className: i % 2 === 0 ? 'Move' : 'Stay', queue, args: `[${i}]` });
      await source().lpush(`queue:${queue}`, payload);
      seeded.push(jobEntry(`queue:${queue}`, payload));
    }
    await source().sadd('queues', queue);
  }
  for (const set of ['schedule', 'retry', 'dead']) {
    for (let i = 0; i < 6; i++) {
      const payload = sidekiqPayload({ className: i % 2 === 0 ? 'Move' : 'Stay', args: `[${i}]` });
      await source().zadd(set, `${1795459303 + i}.5`, payload);
      seeded.push(jobEntry(set, payload, `${1795459303 + i}.5`));
    }
  }
  return seeded.sort();
}

/** Writes 16 KiB filler keys with a TTL until volatile-lru has evicted the run's list of items. */
async function evictWorkList(): Promise<string> {
  let list: string | undefined;
  while (list === undefined) {
    list = (await source().keys('sidekiq-migrate:*:items'))[0];
    if (list === undefined) await new Promise((r) => setTimeout(r, 2));
  }
  const blob = randomBytes(16 * 1024);
  while ((await source().exists(list)) === 1) {
    const pipeline = source().pipeline();
    for (let i = 0; i < 20; i++) pipeline.set(`filler:${randomBytes(8).toString('hex')}`, blob, 'EX', 3600);
    await pipeline.exec();
  }
  return list;
}

const moved = (entry: string) => Buffer.from(entry.split('\t')[1]!, 'hex').toString().includes('"class":"Move"');

describe('a run whose list of sets and queues is evicted mid-run (volatile-lru on the source)', () => {
  it('a selective move stops with an error naming the list instead of saying Complete; run again, every selected job moves once', { timeout: 60_000 }, async () => {
    const seeded = await seed();
    await source().config('SET', 'maxmemory', String((await stat('used_memory')) + 2 * 1024 * 1024));
    const args = ['move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', 'Move', '--page-size', '1', '--rate-limit', '10'];

    const [first, list] = await Promise.all([runCli(...args), evictWorkList()]);

    expect(await stat('evicted_keys')).toBeGreaterThan(0);
    expect(first.stdout).not.toMatch(/Complete/);
    expect(first.stderr).toContain(list);
    expect(first.code).toBe(1);
    // Nothing lost or duplicated meanwhile: every job on one of the servers, once.
    await source().config('SET', 'maxmemory', '0');
    await source().del(...(await source().keys('filler:*')));
    expect([...(await jobsIn(source())), ...(await jobsIn(target()))].map((e) => e.split('\t')[1]).sort()).toEqual(seeded.map((e) => e.split('\t')[1]).sort());

    const second = await runCli(...args.slice(0, -4));

    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/Complete/);
    expect(await jobsIn(source())).toEqual(seeded.filter((e) => !moved(e)));
    expect(await jobsIn(target())).toEqual(seeded.filter(moved));
  });
});
