// A resumed start's plan deletes the re-route pass records an earlier start of the run left
// (core/reroute/older-passes.ts, forgetOlderPasses-n1.lua): the record of a queue whose pass a
// killed process never ended (test/workflow/cli-killed-at-pass-end.test.ts, at the CLI). Never one
// a live pass still uses: not its own start's (an item of it that failed: a later start ends it),
// nothing at all while a later start of the run holds the lock (it overwrites and reads records of
// its own generation), or when the lock is gone; other runs' records and other keys untouched.
import { describe, expect, it } from 'vitest';
import { forgetOlderPasses } from '../../core/reroute/older-passes.js';
import { keysUnder, keyValueSnapshot } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';

const redis = privateRedis();

/** The run's keys the plan's walk finds (core/workflow/older-starts.ts), as it passes them. */
const found = async () => (await keysUnder(redis.client(), 'p:sidekiq-migrate:r:originals:queue:')).map((k) => Buffer.from(k, 'utf8'));

const lock = (plannedAt: number, plannedBy: string) => JSON.stringify({ runId: 'r', plannedAt, plannedBy });
const record = (generation: string) => `t1 2 7 ${generation}\n0 3\n{"calls":2}`;

async function seed(): Promise<void> {
  const c = redis.client();
  await c.set('p:sidekiq-migrate:r:originals:queue:old', record('1000 arn:A'));
  await c.set('p:sidekiq-migrate:r:originals:queue:also-old', record('999'));
  await c.set('p:sidekiq-migrate:r:originals:queue:failed', record('2000 arn:B'));
  await c.set('p:sidekiq-migrate:r2:originals:queue:old', record('1000 arn:A'));
  await c.zadd('p:sidekiq-migrate:r:originals:schedule', '5', 'x');
  await c.rpush('p:queue:old', 'job');
}

describe('forgetOlderPasses', () => {
  it('deletes the run\'s pass records of earlier generations while the lock is this start\'s; keeps its own, other runs\' and other keys', async () => {
    const c = redis.client();
    await seed();
    await c.set('p:sidekiq-migrate:lock', lock(2000, 'arn:B'));
    const before = await keyValueSnapshot(c);

    expect(await forgetOlderPasses(c, 'p:', { runId: 'r', plannedAt: 2000, plannedBy: 'arn:B' }, await found())).toBe(2);

    const after = await keyValueSnapshot(c);
    const gone = Object.keys(before).filter((k) => !(k in after)).sort();
    expect(gone).toEqual(['p:sidekiq-migrate:r:originals:queue:also-old', 'p:sidekiq-migrate:r:originals:queue:old']);
    for (const [k, v] of Object.entries(after)) expect(v).toEqual(before[k]);
  });

  it.each([
    ['a later start of the run holds the lock', lock(3000, 'arn:C')],
    ['another execution planned in the same millisecond holds it', lock(2000, 'arn:X')],
    ['another run holds it', JSON.stringify({ runId: 'other', plannedAt: 2000, plannedBy: 'arn:B' })],
    ['the lock is gone', null],
  ])('deletes nothing when %s', async (_, held) => {
    const c = redis.client();
    await seed();
    if (held !== null) await c.set('p:sidekiq-migrate:lock', held);
    const before = await keyValueSnapshot(c);

    expect(await forgetOlderPasses(c, 'p:', { runId: 'r', plannedAt: 2000, plannedBy: 'arn:B' }, await found())).toBe(0);

    expect(await keyValueSnapshot(c)).toEqual(before);
  });

  it('deletes nothing for a start of an older version, whose generation is unknown', async () => {
    const c = redis.client();
    await seed();
    await c.set('p:sidekiq-migrate:lock', JSON.stringify({ runId: 'r' }));
    const before = await keyValueSnapshot(c);

    expect(await forgetOlderPasses(c, 'p:', { runId: 'r' }, await found())).toBe(0);

    expect(await keyValueSnapshot(c)).toEqual(before);
  });
});
