import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { retireLedger, retireRunLedgers } from '../../../core/transfer/retire-ledger.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';

const redis = privateSourceAndTarget();

describe('retiring a ledger', () => {
  it('gives it its TTL only once nothing is in flight for it, and says whether it did', async () => {
    const source = redis.source();
    const target = redis.target();
    await source.rpush('inflight', 'job');
    await target.sadd('ledger', 'b:0');

    expect(await retireLedger(source, target, 'inflight', 'ledger', 600)).toBe(false);
    expect(await target.ttl('ledger')).toBe(-1);

    await source.del('inflight');
    expect(await retireLedger(source, target, 'inflight', 'ledger', 600)).toBe(true);
    expect(await target.ttl('ledger')).toBeGreaterThan(590);
    expect(await target.ttl('ledger')).toBeLessThanOrEqual(600);

    // No ledger (nothing was written): nothing to retire.
    expect(await retireLedger(source, target, 'inflight', 'no-ledger', 600)).toBe(false);
    expect(await target.exists('no-ledger')).toBe(0);
    // Everything else untouched.
    expect(await source.keys('*')).toEqual([]);
    expect(await target.keys('*')).toEqual(['ledger']);
  });

  it('retires each source key\'s ledger of a run under each side\'s prefix, leaving the others', async () => {
    const source = redis.source();
    const target = redis.target();
    const context = { source, target, sourceKeys: new SidekiqKeys('s:'), targetKeys: new SidekiqKeys('t:'), runId: 'r1' };
    for (const key of ['queue:a', 'queue:b', 'retry', 'dead']) await target.sadd(`t:sidekiq-migrate:r1:ledger:${key}`, 'b:0');
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
