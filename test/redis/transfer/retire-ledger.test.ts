import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { retireLedger, retireRunLedgers } from '../../../core/transfer/retire-ledger.js';
import { keyValueSnapshot } from '../../support/exact-jobs.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';

const redis = privateSourceAndTarget();

describe('retiring a ledger', () => {
  it('gives it its TTL only once nothing is in flight for it, and says whether it did', async () => {
    const source = redis.source();
    const target = redis.target();
    await source.rpush('inflight', 'job');
    await target.sadd('ledger', 'b:0');

    expect(await retireLedger(source, target, 'inflight', 'ledger', 600, 'ledgers')).toBe(false);
    expect(await target.ttl('ledger')).toBe(-1);

    await source.del('inflight');
    expect(await retireLedger(source, target, 'inflight', 'ledger', 600, 'ledgers')).toBe(true);
    expect(await target.ttl('ledger')).toBeGreaterThan(590);
    expect(await target.ttl('ledger')).toBeLessThanOrEqual(600);

    // No ledger (nothing was written): nothing to retire.
    expect(await retireLedger(source, target, 'inflight', 'no-ledger', 600, 'ledgers')).toBe(false);
    expect(await target.exists('no-ledger')).toBe(0);
    // Everything else untouched.
    expect(await source.keys('*')).toEqual([]);
    expect(await target.keys('*')).toEqual(['ledger']);
  });

  it('retires each source key\'s ledger of a run under each side\'s prefix, leaving the others', async () => {
    const source = redis.source();
    const target = redis.target();
    const context = { source, target, sourceKeys: new SidekiqKeys('s:'), targetKeys: new SidekiqKeys('t:'), runId: 'r1' };
    // A queue's ledger counts by position (a hash), a set's holds ids.
    for (const key of ['queue:a', 'queue:b']) await target.hset(`t:sidekiq-migrate:r1:ledger:${key}`, 'b', 1);
    for (const key of ['retry', 'dead']) await target.sadd(`t:sidekiq-migrate:r1:ledger:${key}`, 'b:0');
    await target.sadd('t:sidekiq-migrate:r2:ledger:retry', 'b:0');
    await source.rpush('s:sidekiq-migrate:r1:inflight:queue:b', 'job');

    await retireRunLedgers(context, ['queue:a', 'queue:b', 'retry'], 900);

    const ttls = Object.fromEntries(await Promise.all((await target.keys('*')).sort().map(async (k) => [k, await target.ttl(k)] as const)));
    expect(Object.keys(ttls)).toEqual([
      't:sidekiq-migrate:r1:ledger:dead',
      't:sidekiq-migrate:r1:ledger:queue:a',
      't:sidekiq-migrate:r1:ledger:queue:b',
      't:sidekiq-migrate:r1:ledger:retry',
      't:sidekiq-migrate:r2:ledger:retry',
    ]);
    expect(ttls['t:sidekiq-migrate:r1:ledger:dead']).toBe(-1); // not one of the keys given
    expect(ttls['t:sidekiq-migrate:r1:ledger:queue:a']).toBeGreaterThan(890);
    expect(ttls['t:sidekiq-migrate:r1:ledger:queue:b']).toBe(-1); // still in flight
    expect(ttls['t:sidekiq-migrate:r1:ledger:retry']).toBeGreaterThan(890);
    expect(ttls['t:sidekiq-migrate:r2:ledger:retry']).toBe(-1); // another run's
  });
});

const copyScript = new LuaScript('copyJobsToLists-n4');

/**
 * What another execution of the run does to the same source key: claims a new batch (its jobs in
 * the in-flight list, its id beside it) and copies it to the target, recording it in the ledger
 * (the real copy script: a new field of a queue's ledger by position, HSET, or its id in an older
 * version's ledger of ids, SADD; then PERSIST) — not acknowledged yet: its jobs are in flight.
 */
async function claimAndCopy(source: Redis, target: Redis, batch: string, payload: string): Promise<void> {
  await source.rpush('inflight', payload);
  await source.set('batch', batch);
  await copyScript.run(target, { keys: ['ledger', 'queues', 'lock', 'ledgers', 'queue:q'], args: ['RPUSH', '1', 'q', batch, 0, '', 'run', '', payload, '1'] }); // no lock: nobody else's
}

const hex = (text: string) => Buffer.from(text).toString('hex');
/** A queue's ledger by position (batch → jobs written), and an older version's of ids: each as seeded, and as keyValueSnapshot shows it with the batch `new` copied. */
const LEDGERS = [
  {
    kind: 'by position (a hash)',
    seed: (target: Redis, ...batches: string[]) => target.hset('ledger', ...batches.flatMap((b) => [b, 2])),
    withNew: (...batches: string[]) => `hash persistent ${[...batches.map((b) => `${hex(b)}=${hex('2')}`), `${hex('new')}=${hex('1')}`].sort().join(',')}`,
  },
  {
    kind: "by id (an older version's set)",
    seed: (target: Redis, ...batches: string[]) => target.sadd('ledger', ...batches.flatMap((b) => [`${b}:0`, `${b}:1`])),
    withNew: (...batches: string[]) => `set persistent ${[...batches.flatMap((b) => [hex(`${b}:0`), hex(`${b}:1`)]), hex('new:0')].sort().join(',')}`,
  },
] as const;

/** Both clients of a retire, counting its calls on either server; `before(n)` runs before the n-th. */
function wrapBoth(source: Redis, target: Redis, before: (n: number) => Promise<void>): { source: Redis; target: Redis; calls: () => number } {
  let n = 0;
  const hook = async () => before(n++);
  return { source: interferingRedis(source, hook), target: interferingRedis(target, hook), calls: () => n };
}

describe('retiring a ledger while another execution of the run claims and copies the same key', () => {
  it.each(LEDGERS)('never leaves a TTL on a ledger whose jobs are in flight, whichever of its calls the claim and copy come before: $kind', async (ledger) => {
    let tried = 0;
    for (let at = 0; ; at++) {
      const [source, target] = [redis.source(), redis.target()];
      await Promise.all([source.flushall(), target.flushall()]);
      // An earlier batch, written and acknowledged: nothing in flight, the ledger has no TTL.
      await ledger.seed(target, 'old');
      let interfered = false;
      const wrapped = wrapBoth(source, target, async (n) => {
        if (n !== at) return;
        interfered = true;
        await claimAndCopy(source, target, 'new', 'job-new');
      });

      const retired = await retireLedger(wrapped.source, wrapped.target, 'inflight', 'ledger', 600, 'ledgers');
      if (!interfered) {
        // The claim after its last call: retired, then the copy took the TTL off again.
        await claimAndCopy(source, target, 'new', 'job-new');
        expect(retired).toBe(true);
      } else {
        expect(retired, `claimed and copied before call ${at}`).toBe(false);
        tried++;
      }
      // The ledger records the new batch, in flight: it has no TTL, exactly, and the target's index
      // of ledgers names it (the copy's call added it; a retire's call that gave a TTL took it out).
      expect(await keyValueSnapshot(target), `claimed and copied before call ${at}`).toEqual({
        ledger: ledger.withNew('old'),
        ledgers: `set persistent ${hex('ledger')}`,
        'queue:q': `list persistent ${hex('job-new')}`,
        queues: `set persistent ${hex('q')}`,
      });
      expect(await keyValueSnapshot(source)).toEqual({ batch: `string persistent ${hex('new')}`, inflight: `list persistent ${hex('job-new')}` });
      if (!interfered) break;
    }
    expect(tried).toBeGreaterThanOrEqual(2); // at least the source's look and the target's call after it
  });

  it.each([
    ['by position (a hash)', (target: Redis) => target.hset('ledger', 'old', 1), { new: '1' }],
    // Re-created by this version: by position, one entry again (not the type the look saw either).
    ["by id (an older version's set)", (target: Redis) => target.sadd('ledger', 'old:0'), { new: '1' }],
  ] as const)('leaves a ledger re-created meanwhile with as many entries (retired, evicted, copied again) without a TTL: %s', async (_, seed, after) => {
    const [source, target] = [redis.source(), redis.target()];
    await seed(target);
    // Between the retire's look and its last call: another retire gave the TTL, the ledger was
    // evicted, and a new batch (one job, in flight) was copied: one id again, another one.
    const wrapped = wrapBoth(source, target, async (n) => {
      if (n !== 1) return;
      await target.del('ledger');
      await claimAndCopy(source, target, 'new', 'job-new');
      await source.del('inflight'); // the source's look sees none: claimed after it, in the test's stead
    });
    let at = 0;
    const late = wrapBoth(wrapped.source, wrapped.target, async () => {
      if (at++ === 2) await source.rpush('inflight', 'job-new'); // back in flight when the retire's last call comes
    });

    expect(await retireLedger(late.source, late.target, 'inflight', 'ledger', 600, 'ledgers')).toBe(false);
    expect(await target.hgetall('ledger')).toEqual(after);
    expect(await target.pttl('ledger')).toBe(-1);
  });

  it('a crash before any of its calls leaves the ledger without a TTL; the next retire gives it', async () => {
    for (let at = 0; ; at++) {
      const [source, target] = [redis.source(), redis.target()];
      await Promise.all([source.flushall(), target.flushall()]);
      await target.sadd('ledger', 'old:0');
      const wrapped = wrapBoth(source, target, (n) => {
        if (n === at) throw new SimulatedCrash(`before call ${at}`);
        return Promise.resolve();
      });
      const crashed = await retireLedger(wrapped.source, wrapped.target, 'inflight', 'ledger', 600, 'ledgers').then(
        () => false,
        (error: unknown) => error instanceof SimulatedCrash || Promise.reject(error),
      );
      if (!crashed) {
        expect(at).toBe(wrapped.calls()); // every call was crashed before once
        break;
      }
      expect(await target.pttl('ledger')).toBe(-1);
      expect(await retireLedger(source, target, 'inflight', 'ledger', 600, 'ledgers')).toBe(true);
      expect(await target.ttl('ledger')).toBeGreaterThan(590);
    }
  });
});
