// A Redis that hides its shards behind a proxy (a Redis Enterprise database with several shards,
// whose proxy reports `cluster_enabled:0`): single-key commands work, but a call on keys in
// different hash slots is refused (CROSSSLOT) — every Lua move of ours, and Sidekiq's own MULTI.
// Simulated by a real Redis in cluster mode holding every slot, behind a proxy that reports
// `cluster_enabled:0` as Enterprise's does. It used to fail at its first multi-key look with
// `Looking for Sidekiq data under "": CROSSSLOT Keys in request don't hash to the same slot`,
// exit 1 ("run it again to resume"); each command now refuses it before anything is touched,
// saying what it is and what to use instead, exit 2.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { runCli } from '../support/run-cli.js';
import { shardedBehindProxy } from '../support/sharded-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

let sharded: Awaited<ReturnType<typeof shardedBehindProxy>>;
let plain: RedisServerHandle;
let shardedAdmin: Redis;
let plainAdmin: Redis;
beforeAll(async () => {
  sharded = await shardedBehindProxy();
  shardedAdmin = sharded.admin;
  plain = await startRedisServer();
  plainAdmin = new Redis(plain.url, { protocol: 2 });
});
afterAll(async () => {
  plainAdmin.disconnect();
  await sharded.stop();
  await plain.stop();
});

const seed = async (redis: Redis) => {
  await redis.sadd('queues', 'old');
  await redis.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
  await redis.zadd('schedule', '1795459303.5', sidekiqPayload({ className: 'A', queue: 'old', args: '[2]' }));
};
const refusal = (role: string, url: string) =>
  `${role} ${url}: the server refuses a call on keys in different hash slots (CROSSSLOT Keys in request don't hash to the same slot): it is sharded (a Redis Enterprise database with several shards behind its proxy, or a cluster proxy), which Sidekiq does not support, and each of our moves is one call on several keys. Use a single-shard database. Nothing was touched.\n`;

describe('a sharded Redis behind a proxy that reports cluster_enabled:0', { timeout: 60_000 }, () => {
  it('is refused by run, move (either end) and drain-check: exit 2, nothing touched', async () => {
    await seed(shardedAdmin);
    await seed(plainAdmin);
    const before = { sharded: await keyValueSnapshot(shardedAdmin), plain: await keyValueSnapshot(plainAdmin) };

    const cases: [string[], string][] = [
      [['run', '--redis', sharded.url, '--rename', 'old=new'], refusal('source', sharded.url)],
      [['run', '--redis', sharded.url, '--rename', 'old=new', '--dry-run'], refusal('source', sharded.url)],
      [['move', '--from', sharded.url, '--to', plain.url], refusal('source', sharded.url)],
      [['move', '--from', plain.url, '--to', sharded.url], refusal('target', sharded.url)],
      [['drain-check', '--redis', sharded.url, '--retired-queues', 'old'], refusal('Redis', sharded.url)],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(...args);
      expect({ args, code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ args, code: 2, stdout: '', stderr: message });
      expect({ sharded: await keyValueSnapshot(shardedAdmin), plain: await keyValueSnapshot(plainAdmin) }).toEqual(before);
    }
  });
});
