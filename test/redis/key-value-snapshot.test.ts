import { describe, expect, it } from 'vitest';
import { keyValueSnapshot, withoutExpiryInstants } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { waitUntil } from '../support/wait-until.js';

// The "nothing was written" check many tests rely on: it must see every kind of write, and must
// not take a TTL counting down for one.
const server = privateRedis();
const redis = () => server.client();

/** A keyspace of every type, one key expiring in an hour. */
async function seed(): Promise<void> {
  await redis().rpush('list', 'job-a', 'job-b');
  await redis().zadd('zset', '1700000000.5', 'job-c', '1700000001', 'job-d');
  await redis().sadd('set', 'x', 'y');
  await redis().hset('hash', Buffer.from([0xff]), 'v1', 'f2', 'v2');
  await redis().set('string', 'value', 'PX', 3_600_000);
  await redis().xadd('stream', '1-1', 'f', 'v');
}

/** A snapshot taken once the expiring key's TTL has observably gone down since `after` was read. */
async function laterSnapshot(ttlBefore: number): Promise<Record<string, string>> {
  await waitUntil('the TTL counted down', async () => (await redis().pttl('string')) < ttlBefore);
  return keyValueSnapshot(redis());
}

describe('keyValueSnapshot', () => {
  it('is the same when nothing was written, while a TTL counts down', async () => {
    await seed();
    const ttl = await redis().pttl('string');
    const before = await keyValueSnapshot(redis());
    expect(Object.keys(before).sort()).toEqual(['hash', 'list', 'set', 'stream', 'string', 'zset']);
    expect(withoutExpiryInstants(before).string).toBe(`string expiring ${Buffer.from('value').toString('hex')}`);
    expect(await laterSnapshot(ttl)).toEqual(before);
  });

  const changes: [string, () => Promise<unknown>][] = [
    ['one byte of a list member', () => redis().lset('list', 1, 'job-c')],
    ["a list's order", () => redis().eval("local a = redis.call('LPOP', KEYS[1]); return redis.call('RPUSH', KEYS[1], a)", 1, 'list')],
    ['a score', () => redis().zadd('zset', '1700000000.25', 'job-c')],
    ['a set member', () => redis().eval("redis.call('SREM', KEYS[1], 'y'); return redis.call('SADD', KEYS[1], 'z')", 1, 'set')],
    ['a hash field name that is not UTF-8', () => redis().eval("redis.call('HDEL', KEYS[1], ARGV[1]); return redis.call('HSET', KEYS[1], ARGV[2], 'v1')", 1, 'hash', Buffer.from([0xff]), Buffer.from([0xfe]))],
    ['a stream entry', () => redis().xadd('stream', '1-2', 'f', 'v')],
    ['an expiry added', () => redis().pexpire('list', 3_600_000)],
    ['an expiry removed', () => redis().persist('string')],
    ['an expiry set again to the same TTL', () => redis().pexpire('string', 3_600_000)],
    ['an expiry shortened', () => redis().pexpire('string', 1_800_000)],
    ['a key removed', () => redis().del('set')],
    ['a key added', () => redis().set('new', '')],
    ['a key renamed', () => redis().rename('set', 'set2')],
    ['a type with the same members', () => redis().eval("redis.call('DEL', KEYS[1]); return redis.call('RPUSH', KEYS[1], 'x', 'y')", 1, 'set')],
  ];
  it.each(changes)('shows %s', async (_what, change) => {
    await seed();
    const ttl = await redis().pttl('string');
    const before = await keyValueSnapshot(redis());
    await waitUntil('the TTL counted down', async () => (await redis().pttl('string')) < ttl);
    await change();
    expect(await keyValueSnapshot(redis())).not.toEqual(before);
  });

  it('reads key names as bytes', async () => {
    await redis().set(Buffer.from([0x71, 0xff]), 'a');
    await redis().set(Buffer.from([0x71, 0xfe]), 'b');
    expect(await keyValueSnapshot(redis(), 'q')).toEqual({ 'hex:71fe': 'string persistent 62', 'hex:71ff': 'string persistent 61' });
  });
});
