import type { Redis } from 'ioredis';
import { beforeEach, describe, expect, it } from 'vitest';
import { entryDigest } from '../../../core/reroute/rewritten-entries.js';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { privateRedis } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

// rerouteSetEntries-n.lua records the digests of the entries it rewrote in one SADD per few
// hundred entries, after the moves: these show that the record is exactly the moved entries'
// digests however many a call moves, and that a call that cannot complete changes nothing.
const script = new LuaScript('rerouteSetEntries-n');
const NOW = 1795459303;
const server = privateRedis(); // its own redis-server, flushed before each test
let redis: Redis;
beforeEach(() => {
  redis = server.client();
});

const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, jid: i.toString(16).padStart(24, '0') });
const moved = (i: number) => job(i).replace('"queue":"old"', '"queue":"new"');

/** `size` entries in `schedule`, and the call's quads that move them all. */
async function seed(size: number): Promise<string[]> {
  const pipeline = redis.pipeline();
  const args: string[] = [];
  for (let i = 0; i < size; i++) {
    pipeline.zadd('schedule', String(NOW + i), job(i));
    args.push(job(i), moved(i), String(NOW + i), entryDigest(Buffer.from(moved(i))));
  }
  await pipeline.exec();
  return args;
}

describe('rerouteSetEntries-n: the record of rewrites', () => {
  it('holds the digest of every entry moved and of nothing else, in a call of 9,000 (more than one SADD, more than Lua can unpack at once)', async () => {
    const args = await seed(9_000);
    // Entry 0 vanished (the poller took it); entry 1's rewrite is there already (a conflict).
    await redis.zrem('schedule', job(0));
    await redis.zadd('schedule', String(NOW + 1), moved(1));

    const reply = await script.run(redis, { keys: ['schedule', 'rewritten'], args });

    expect(reply).toEqual([8_998, 1, 1]);
    const expected = Array.from({ length: 9_000 }, (_, i) => i).filter((i) => i >= 2).map((i) => entryDigest(Buffer.from(moved(i))));
    expect((await redis.smembers('rewritten')).sort()).toEqual(expected.sort());
    expect(await redis.ttl('rewritten')).toBeGreaterThan(6 * 24 * 3600);
    // Every job once: the conflict's original is back, the rest rewritten, scores kept.
    expect(await redis.zcard('schedule')).toBe(9_000);
    expect(await redis.zscore('schedule', job(1))).toBe(String(NOW + 1));
    expect(await redis.zscore('schedule', moved(8_999))).toBe(String(NOW + 8_999));
    expect(await redis.zscore('schedule', job(8_999))).toBeNull();
  });

  it('keeps no record when not given one, and adds none when nothing moved', async () => {
    const args = await seed(3);
    expect(await script.run(redis, { keys: ['schedule'], args })).toEqual([3, 0, 0]);
    expect(await script.run(redis, { keys: ['schedule', 'rewritten'], args })).toEqual([0, 3, 0]);
    expect(await redis.exists('rewritten')).toBe(0);
  });
});

describe('rerouteSetEntries-n under noeviction with memory full', () => {
  it('either changes nothing or runs to its end: here its first write (a ZREM, which frees memory) is not refused, so every entry moves and is recorded', async () => {
    const args = await seed(600);
    const used = Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))![1]);
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', String(used - 1024 * 1024));
    try {
      // A plain write is refused: memory is full.
      await expect(redis.sadd('other', 'x')).rejects.toThrow(/OOM/);

      expect(await script.run(redis, { keys: ['schedule', 'rewritten'], args })).toEqual([600, 0, 0]);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    expect(await redis.zcard('schedule')).toBe(600);
    expect(await redis.zrangebyscore('schedule', '-inf', '+inf')).toEqual(Array.from({ length: 600 }, (_, i) => moved(i)));
    expect(await redis.scard('rewritten')).toBe(600);
  });

});
