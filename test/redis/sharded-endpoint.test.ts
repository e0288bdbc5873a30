// The slot hash our sharding check picks its two keys with agrees with Redis's own
// (CLUSTER KEYSLOT, hash tags included), and a CROSSSLOT met after connecting (a server that
// became sharded, or one the check could not ask) is worded as what it is, never retried.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyRedisError, RedisCommandError } from '../../core/redis/redis-errors.js';
import { hashSlot, keysInTwoSlots } from '../../core/redis/sharded-endpoint.js';
import { shardedBehindProxy } from '../support/sharded-redis.js';

let sharded: Awaited<ReturnType<typeof shardedBehindProxy>>;
beforeAll(async () => {
  sharded = await shardedBehindProxy();
});
afterAll(async () => {
  await sharded.stop();
});

describe('the hash slot of a key', () => {
  it("is Redis's, hash tags included", async () => {
    const keys = ['', 'queue:default', 'resque:gitlab:queue:mailers', '{user1000}.following', 'foo{}{bar}', 'foo{{bar}}zap', 'foo{bar}{zap}', 'é{', '{}', 'sidekiq-migrate:slot-check:0'];
    for (const key of keys) expect({ key, slot: hashSlot(key) }).toEqual({ key, slot: Number(await sharded.admin.call('CLUSTER', 'KEYSLOT', key)) });
  });

  it('differs between the two keys the check uses, whatever the prefix; none with a hash tag in it (one slot for all)', () => {
    for (const prefix of ['', 'resque:gitlab:', 'a{b', 'a}{b', '{}:']) {
      const [a, b] = keysInTwoSlots(prefix)!;
      expect(a.startsWith(prefix) && b.startsWith(prefix)).toBe(true);
      expect(hashSlot(a)).not.toBe(hashSlot(b));
    }
    expect(keysInTwoSlots('{tag}:')).toBeNull();
  });
});

describe('a CROSSSLOT met after connecting', () => {
  it('is a fatal error saying the server is sharded and the call ran nothing', async () => {
    const error = await sharded.admin.call('EVAL', 'return 1', '2', 'a', 'b').catch((e: unknown) => e);
    const classified = classifyRedisError(error, 'Moving queue:old');

    expect(classified).toBeInstanceOf(RedisCommandError);
    expect(classified.retryable).toBe(false);
    expect(classified.message).toBe(
      "Moving queue:old: the server refused a call on keys in different hash slots (CROSSSLOT Keys in request don't hash to the same slot): it is sharded (a Redis Enterprise database with several shards behind its proxy, or a cluster proxy), which Sidekiq does not support, and each of our moves is one call on several keys. Use a single-shard database. The refused call ran nothing.",
    );
  });
});
