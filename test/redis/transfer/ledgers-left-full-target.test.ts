// A transfer's last summary retires the ledgers left on its target (core/transfer/ledgers-left.ts
// retireLedgersLeft): on a target whose index of ledgers lacks its mark (the first move into it),
// one walk of its keyspace, whose finds it names in the index and then marks it (SADD). A full
// target (noeviction, at its maxmemory: where a move that filled it ends) refuses those SADDs but
// not the retirement itself (EXPIRE, SREM: no write that may grow it); a refused mark must not fail
// the summary, nor keep the ledgers from their TTL (the next look walks again).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { retireLedgersLeft } from '../../../core/transfer/ledgers-left.js';
import { ledgerKey } from '../../../core/transfer/transfer-keys.js';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server.js';

let source: RedisServerHandle;
let target: RedisServerHandle;
let sourceRedis: Redis;
let targetRedis: Redis;
beforeAll(async () => {
  source = await startRedisServer([]);
  target = await startRedisServer(['--maxmemory-policy', 'noeviction']);
  sourceRedis = new Redis(source.url, { protocol: 2 });
  targetRedis = new Redis(target.url, { protocol: 2 });
});
afterAll(async () => {
  sourceRedis?.disconnect();
  targetRedis?.disconnect();
  await source?.stop();
  await target?.stop();
});

describe('the ledgers left on a full target', () => {
  it('are retired (their TTL given) though the index mark is refused, and the look does not fail', async () => {
    // This run's ledger of a queue it finished, without a TTL (its item's retire was cut off).
    const ledger = ledgerKey('', 'run', 'queue:default');
    await targetRedis.hset(ledger, 'batch', '3');
    await targetRedis.config('SET', 'maxmemory', '1'); // over it from now on
    try {
      await retireLedgersLeft({ source: sourceRedis, target: targetRedis, sourceKeys: new SidekiqKeys(''), targetKeys: new SidekiqKeys(''), runId: 'run' }, {});

      expect(await targetRedis.ttl(ledger)).toBeGreaterThan(0);
    } finally {
      await targetRedis.config('SET', 'maxmemory', '0');
    }
  });
});
