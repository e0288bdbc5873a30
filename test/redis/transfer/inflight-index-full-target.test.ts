// A transfer's last summary looks for in-flight keys on its target (core/transfer/inflight-index.ts
// lookForInflightKeys): the first time, a walk of the target's keyspace, after which it names what
// it found in the target's index and marks it `walked` (SADD), so that the next look reads the
// index instead. Those are writes a full target (noeviction, at its maxmemory: where a move that
// filled it ends) refuses; the look itself, all reads, has its answer by then. Before the index the
// summary only read the target; a refused mark must not fail it (the next look walks again).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { inflightIndexKey, lookForInflightKeys } from '../../../core/transfer/inflight-index.js';
import { inflightKey } from '../../../core/transfer/transfer-keys.js';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server.js';

let server: RedisServerHandle;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer(['--maxmemory-policy', 'noeviction']);
  redis = new Redis(server.url, { protocol: 2 });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe("the target's in-flight look on a full Redis", () => {
  it('finds the in-flight keys, and a refused mark fails nothing (nothing written; the next look walks again)', async () => {
    // Another run's slice in flight out of this Redis (it was, or is, the source of a transfer).
    const key = inflightKey('', 'other', 'queue:default');
    await redis.rpush(key, '{"class":"A"}', '{"class":"B"}');
    await redis.config('SET', 'maxmemory', '1'); // over it from now on
    try {
      const look = await lookForInflightKeys(redis, new SidekiqKeys(''), {}, { mark: true });

      expect([look.walked, look.cutShort, look.inflight.map((l) => [l.key, l.size])]).toEqual([true, undefined, [[String(key), 2]]]);
      expect(await redis.exists(inflightIndexKey(''))).toBe(0);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
  });
});
