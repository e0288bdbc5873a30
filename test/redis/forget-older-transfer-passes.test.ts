// A resumed start's plan deletes the transfer pass counts an earlier start of the run left
// (core/transfer/older-passes.ts, forgetOlderTransferPasses-n2.lua): the count of a queue whose
// pass a killed process never ended (test/workflow/cli-move-killed-at-pass-end.test.ts, at the
// CLI), in each of the three formats. Never one a live pass still uses: not its own start's (an
// item of it that failed: a later start ends it), nothing at all while a later start of the run
// holds the lock, or when the lock is gone; other runs' counts and other keys untouched.
import { describe, expect, it } from 'vitest';
import { forgetOlderTransferPasses } from '../../core/transfer/older-passes.js';
import { keysUnder, keyValueSnapshot } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';

const redis = privateRedis();

/** The run's keys the plan's walk finds (core/workflow/older-starts.ts), as it passes them. */
const found = async () => (await keysUnder(redis.client(), 'p:sidekiq-migrate:r:originals:')).map((k) => Buffer.from(k, 'utf8'));

const lock = (plannedAt: number, plannedBy: string) => JSON.stringify({ runId: 'r', plannedAt, plannedBy });
const own = '2000 arn:B';

async function seed(): Promise<void> {
  const c = redis.client();
  // An earlier start's counts: a queue's and a set's, a --classes queue pass's start, a --classes
  // set pass's bound, and one an older version wrote (no generation).
  await c.set('p:sidekiq-migrate:r:originals:queue:old', '0 1000 arn:A');
  await c.set('p:sidekiq-migrate:r:originals:retry', '4 1000 arn:A');
  await c.set('p:sidekiq-migrate:r:originals:queue:selected', '7 7 1000 arn:A');
  await c.set('p:sidekiq-migrate:r:originals:schedule', '1795459303.5 1000 arn:A');
  await c.set('p:sidekiq-migrate:r:originals:queue:older-version', '3 ');
  // A whole-queue append pass's count carries its mark, the bytes of a job, after a newline (claimQueueJobs-14.lua).
  await c.set('p:sidekiq-migrate:r:originals:queue:appended', Buffer.concat([Buffer.from('5 1000 arn:A\n'), Buffer.from('{"queue":"a","x":"2000 arn:B"}\n\xff')]));
  // This start's own, in each format: a pass of it that failed, which a later start ends.
  await c.set('p:sidekiq-migrate:r:originals:queue:failed', `2 ${own}`);
  await c.set('p:sidekiq-migrate:r:originals:queue:failed-selected', `9 4 ${own}`);
  await c.set('p:sidekiq-migrate:r:originals:dead', `1795459303.5 ${own}`);
  await c.set('p:sidekiq-migrate:r:originals:queue:failed-append', Buffer.concat([Buffer.from(`6 ${own}\n`), Buffer.from('{"queue":"a","jid":"j"}')]));
  // Another run's, and the run's other keys.
  await c.set('p:sidekiq-migrate:r2:originals:queue:old', '0 1000 arn:A');
  await c.set('p:sidekiq-migrate:r:started-with', '{}');
  await c.rpush('p:queue:old', 'job');
}

describe('forgetOlderTransferPasses', () => {
  it('deletes the run\'s counts of earlier generations, every format, while the lock is this start\'s; keeps its own, other runs\' and other keys', async () => {
    const c = redis.client();
    await seed();
    await c.set('p:sidekiq-migrate:lock', lock(2000, 'arn:B'));
    const before = await keyValueSnapshot(c);

    expect(await forgetOlderTransferPasses(c, 'p:', { runId: 'r', plannedAt: 2000, plannedBy: 'arn:B' }, await found())).toBe(6);

    const after = await keyValueSnapshot(c);
    const gone = Object.keys(before).filter((k) => !(k in after)).sort();
    expect(gone).toEqual([
      'p:sidekiq-migrate:r:originals:queue:appended',
      'p:sidekiq-migrate:r:originals:queue:old',
      'p:sidekiq-migrate:r:originals:queue:older-version',
      'p:sidekiq-migrate:r:originals:queue:selected',
      'p:sidekiq-migrate:r:originals:retry',
      'p:sidekiq-migrate:r:originals:schedule',
    ]);
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

    expect(await forgetOlderTransferPasses(c, 'p:', { runId: 'r', plannedAt: 2000, plannedBy: 'arn:B' }, await found())).toBe(0);

    expect(await keyValueSnapshot(c)).toEqual(before);
  });

  it('deletes nothing for a start of an older version, whose generation is unknown', async () => {
    const c = redis.client();
    await seed();
    await c.set('p:sidekiq-migrate:lock', JSON.stringify({ runId: 'r' }));
    const before = await keyValueSnapshot(c);

    expect(await forgetOlderTransferPasses(c, 'p:', { runId: 'r' }, await found())).toBe(0);

    expect(await keyValueSnapshot(c)).toEqual(before);
  });

  it('deletes nothing when a count is not a string: refused before its first write', async () => {
    const c = redis.client();
    await seed();
    await c.set('p:sidekiq-migrate:lock', lock(2000, 'arn:B'));
    await c.zadd('p:sidekiq-migrate:r:originals:queue:odd', '1', 'x');
    const before = await keyValueSnapshot(c);

    await expect(forgetOlderTransferPasses(c, 'p:', { runId: 'r', plannedAt: 2000, plannedBy: 'arn:B' }, await found())).rejects.toThrow(/WRONGTYPE sidekiq-migrate zset string p:sidekiq-migrate:r:originals:queue:odd/);

    expect(await keyValueSnapshot(c)).toEqual(before);
  });
});
