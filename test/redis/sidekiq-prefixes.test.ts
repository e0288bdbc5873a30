import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors/input-error.js';
import { assertTransferSafe, readEvictionPolicy } from '../../core/redis/eviction-policy.js';
import { assertDistinctEnds, serverIdentity } from '../../core/redis/same-server.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { checkSidekiqPrefix, describePrefix, findSidekiqPrefixes, hasSidekiqData, otherSidekiqPrefixes } from '../../core/redis/sidekiq-prefixes.js';
import { RedisUnavailableError } from '../../core/redis/redis-errors.js';
import { privateSourceAndTarget } from '../support/private-redis.js';

// Private servers: these functions SCAN the whole database.
const redis = privateSourceAndTarget();
const closed: Redis[] = [];
afterAll(() => closed.forEach((c) => c.disconnect()));

/** A client whose commands fail at once, as on a Redis that went away. */
function unreachable(): Redis {
  const client = new Redis(redis.urls().source, { protocol: 2, lazyConnect: true, enableOfflineQueue: false });
  closed.push(client);
  return client;
}

/** Keys that are not Sidekiq's, many enough that a SCAN takes several pages. */
async function filler(client: Redis, n: number): Promise<void> {
  const pipeline = client.pipeline();
  for (let i = 0; i < n; i++) pipeline.set(`filler:${i}`, 'x');
  await pipeline.exec();
}

describe('whether Sidekiq data lives under a prefix', () => {
  it("finds any of Sidekiq's own keys, a queue, a quarantine list or an in-flight key, and nothing else", async () => {
    const client = redis.source();
    const keys = new SidekiqKeys('p');
    expect(await hasSidekiqData(client, keys)).toBe(false);
    await client.set('p:other', 'x');
    await client.rpush('q:queue:a', 'x');
    await client.rpush('pqueue:a', 'x');
    expect(await hasSidekiqData(client, keys)).toBe(false);

    for (const [key, write] of [
      ['p:queues', () => client.sadd('p:queues', 'a')],
      ['p:schedule', () => client.zadd('p:schedule', 1, 'x')],
      ['p:retry', () => client.zadd('p:retry', 1, 'x')],
      ['p:dead', () => client.zadd('p:dead', 1, 'x')],
      ['p:processes', () => client.sadd('p:processes', 'x')],
      ['p:stat:processed', () => client.set('p:stat:processed', '1')],
      ['p:queue:a', () => client.rpush('p:queue:a', 'x')],
      ['p:sidekiq-migrate:quarantine:a', () => client.rpush('p:sidekiq-migrate:quarantine:a', 'x')],
      ['p:sidekiq-migrate:run-1:inflight:queue:a', () => client.rpush('p:sidekiq-migrate:run-1:inflight:queue:a', 'x')],
    ] as const) {
      await write();
      expect(await hasSidekiqData(client, keys), key).toBe(true);
      await client.del(key);
    }
    expect(await hasSidekiqData(client, new SidekiqKeys(''))).toBe(false);
  });

  it('looks past the first SCAN page', async () => {
    const client = redis.source();
    await filler(client, 5_000);
    // A queue key that the first page of the search does not return, so that only the next pages find it.
    let queue = '';
    for (let i = 0; queue === ''; i++) {
      await client.rpush(`p:queue:q${i}`, 'x');
      const [, first] = await client.scan('0', 'MATCH', 'p:queue:*', 'COUNT', 1000);
      if (first.length === 0) queue = `p:queue:q${i}`;
      else await client.del(`p:queue:q${i}`);
    }
    expect(await hasSidekiqData(client, new SidekiqKeys('p'))).toBe(true);
    expect(await findSidekiqPrefixes(client)).toEqual([{ prefix: 'p:', keys: 1 }]);
  });

  it('matches the prefix literally, glob characters included', async () => {
    const client = redis.source();
    await client.rpush('ab:queue:x', 'x');
    expect(await hasSidekiqData(client, new SidekiqKeys('a*'))).toBe(false);
    await client.rpush('a*:queue:x', 'x');
    expect(await hasSidekiqData(client, new SidekiqKeys('a*'))).toBe(true);
  });

  it('fails as retryable, saying what it was doing, when Redis is gone', async () => {
    await expect(hasSidekiqData(unreachable(), new SidekiqKeys('p'))).rejects.toThrow(/^Looking for Sidekiq data under "p:": Redis is unreachable/);
    await expect(findSidekiqPrefixes(unreachable())).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(findSidekiqPrefixes(unreachable())).rejects.toThrow(/^Looking for Sidekiq keys under other prefixes: Redis is unreachable/);
  });
});

describe('the prefixes Sidekiq keys live under', () => {
  it("counts keys of Sidekiq's shape and type per prefix, most first", async () => {
    const client = redis.source();
    await client.rpush('queue:a', 'x'); // no prefix
    await client.sadd('queues', 'a');
    await client.set('stat:processed', '5');
    for (const p of ['resque:gitlab:', 'b:', 'ü:']) await client.rpush(`${p}queue:x`, 'x');
    await client.zadd('resque:gitlab:retry', 1, 'x');
    await client.sadd('resque:gitlab:processes', 'x');
    await client.zadd('resque:gitlab:dead', 1, 'x');
    await client.zadd('b:schedule', 1, 'x');
    // Not Sidekiq's: the wrong type, no name after queue:, a word merely ending in a key name,
    // GitLab's reliable-fetch working lists, our keys that hold no jobs (a ledger, a lock).
    await client.set('c:queue:x', 'a string');
    await client.set('c:retry', 'a string');
    await client.rpush('d:queue:', 'x');
    await client.zadd('xretry', 1, 'x');
    await client.rpush('myqueue:x', 'x');
    await client.rpush('working:queue:x', 'x');
    await client.rpush('e:working:queue:x', 'x');
    await client.sadd('h:sidekiq-migrate:run-1:ledger', 'x');
    await client.set('h:sidekiq-migrate:lock', 'x');
    await client.zadd('h:sidekiq-migrate:run-1:inflight:queue:x', 1, 'x'); // an in-flight queue is a list
    await client.rpush('h:sidekiq-migrate:quarantine:', 'x'); // no queue name
    // Jobs of ours, counted under the prefix they were taken from (never as a prefix of their own:
    // `sidekiq-migrate:run-1:inflight:` is no Sidekiq layout): an interrupted transfer's in-flight
    // lists and sorted sets, quarantine lists.
    await client.rpush('f:sidekiq-migrate:run-1:inflight:queue:x', 'x');
    await client.zadd('sidekiq-migrate:run-1:inflight:schedule', 1, 'x');
    await client.zadd('g:sidekiq-migrate:run-1:inflight:retry', 1, 'x');
    await client.rpush('g:sidekiq-migrate:quarantine:old', 'x');

    expect(await findSidekiqPrefixes(client)).toEqual([
      { prefix: '', keys: 4 },
      { prefix: 'resque:gitlab:', keys: 4 },
      { prefix: 'b:', keys: 2 },
      { prefix: 'g:', keys: 2 },
      { prefix: 'f:', keys: 1 },
      { prefix: 'ü:', keys: 1 },
    ]);
  });

  it('orders prefixes with as many keys by name', async () => {
    const client = redis.source();
    for (const p of ['c:', 'a:', 'b:']) await client.rpush(`${p}queue:x`, 'x');
    expect(await findSidekiqPrefixes(client)).toEqual([
      { prefix: 'a:', keys: 1 },
      { prefix: 'b:', keys: 1 },
      { prefix: 'c:', keys: 1 },
    ]);
    expect(await findSidekiqPrefixes(redis.target())).toEqual([]);
  });

  it('looks at a bounded number of keys, and types at most 1,000 of them', async () => {
    const client = redis.source();
    const pipeline = client.pipeline();
    for (let i = 0; i < 1_200; i++) pipeline.rpush(`p:queue:q${i}`, 'x');
    await pipeline.exec();
    await client.config('RESETSTAT');
    expect(await findSidekiqPrefixes(client)).toEqual([{ prefix: 'p:', keys: 1_000 }]);
    // The bound is on the work too: 1,000 TYPE commands, not one per candidate.
    expect(await client.info('commandstats')).toMatch(/^cmdstat_type:calls=1000,/m);

    await client.flushall();
    const few = client.pipeline();
    for (let i = 0; i < 500; i++) few.rpush(`p:queue:q${i}`, 'x');
    await few.exec();
    await filler(client, 3_000);
    expect(await findSidekiqPrefixes(client)).toEqual([{ prefix: 'p:', keys: 500 }]);
    // One SCAN page (about 1,000 of the 3,500 keys) when the limit is reached at once.
    const bounded = await findSidekiqPrefixes(client, 1);
    expect(bounded.reduce((n, p) => n + p.keys, 0)).toBeLessThan(500);
  });
});

describe('refusing a prefix with nothing under it when Sidekiq data is elsewhere', () => {
  const check = { name: 'source redis://x', option: '--namespace' };

  it('names the prefixes found and the option to use', async () => {
    const client = redis.source();
    for (let i = 0; i < 3; i++) await client.rpush(`resque:gitlab:queue:q${i}`, 'x');
    await client.rpush('queue:a', 'x');

    const refusal = checkSidekiqPrefix(client, new SidekiqKeys('p'), check);
    await expect(refusal).rejects.toBeInstanceOf(InputError);
    await expect(refusal).rejects.toThrow(
      'No Sidekiq data under the prefix "p:" on source redis://x, but Sidekiq keys are there under "resque:gitlab:" (3 keys), no prefix (1 key): use --namespace resque:gitlab:. Nothing was touched.',
    );
    await client.del('resque:gitlab:queue:q0', 'resque:gitlab:queue:q1', 'resque:gitlab:queue:q2', 'queue:a');
    await client.rpush('queue:a', 'x');
    await expect(checkSidekiqPrefix(client, new SidekiqKeys('p'), check)).rejects.toThrow(/under no prefix \(1 key\): leave out --namespace\. Nothing was touched\.$/);
    await client.del('queue:a');
    await client.rpush('p:queue:a', 'x');
    await expect(checkSidekiqPrefix(client, new SidekiqKeys(''), check)).rejects.toThrow(/^No Sidekiq data without a prefix on source redis:\/\/x, but Sidekiq keys are there under "p:" \(1 key\): use --namespace p:\./);
  });

  it('says whether there is data: under the prefix, or none anywhere', async () => {
    const client = redis.source();
    expect(await checkSidekiqPrefix(client, new SidekiqKeys('p'), check)).toBe(false);
    await client.set('p:other', 'x');
    expect(await checkSidekiqPrefix(client, new SidekiqKeys('p'), check)).toBe(false);
    await client.rpush('p:queue:a', 'x');
    await client.rpush('q:queue:a', 'x');
    expect(await checkSidekiqPrefix(client, new SidekiqKeys('p'), check)).toBe(true);
  });

  it('names a prefix for people', () => {
    expect(describePrefix('')).toBe('no prefix');
    expect(describePrefix('p:')).toBe('the prefix "p:"');
  });
});

describe('jobs under other prefixes', () => {
  it("counts each one's set sizes and queue lengths, of the right type only, at most 5 prefixes", async () => {
    const client = redis.source();
    await client.rpush('queue:mine', 'x'); // our own prefix: not listed
    await client.rpush('o:queue:a', '1', '2', '3');
    await client.rpush('o:queue:b', '1');
    await client.zadd('o:schedule', 1, 'a', 2, 'b');
    await client.zadd('o:retry', 1, 'a');
    await client.zadd('o:dead', 1, 'a');
    await client.zadd('o:interrupted', 1, 'a', 2, 'b');
    await client.rpush('e:queue:a', 'x');
    await client.lpop('e:queue:a'); // gone: an empty list is no key
    await client.sadd('e:queues', 'a');
    await client.set('e:retry', 'not a set'); // the wrong type: not counted, no error
    await client.sadd('e:processes', 'x');

    expect(await otherSidekiqPrefixes(client, new SidekiqKeys(''))).toEqual([
      // `dormant`: those in dead and interrupted, which never run by themselves.
      { prefix: 'o:', keys: 6, jobs: 10, dormant: 3 },
      { prefix: 'e:', keys: 2, jobs: 0 },
    ]);

    // An interrupted transfer's in-flight keys and quarantine lists hold jobs too, even where they
    // are all a prefix still holds; our other keys hold none.
    await client.rpush('r:sidekiq-migrate:run-1:inflight:queue:a', '1', '2');
    await client.zadd('r:sidekiq-migrate:run-1:inflight:schedule', 1, 'a', 2, 'b', 3, 'c');
    await client.rpush('r:sidekiq-migrate:quarantine:a', '1');
    await client.sadd('r:sidekiq-migrate:run-1:ledger', 'x', 'y');
    await client.rpush('o:sidekiq-migrate:run-2:inflight:queue:b', '1');
    await client.set('o:sidekiq-migrate:run-3:inflight:retry', 'not a set'); // the wrong type: not counted
    expect(await otherSidekiqPrefixes(client, new SidekiqKeys(''))).toEqual([
      // `held`: the jobs of ours among them, which no Sidekiq runs.
      { prefix: 'o:', keys: 7, jobs: 11, held: 1, dormant: 3 },
      { prefix: 'r:', keys: 3, jobs: 6, held: 6 },
      { prefix: 'e:', keys: 2, jobs: 0 },
    ]);
    for (const key of await client.keys('r:*')) await client.del(key);
    await client.del('o:sidekiq-migrate:run-2:inflight:queue:b', 'o:sidekiq-migrate:run-3:inflight:retry');

    for (const p of ['p1:', 'p2:', 'p3:', 'p4:', 'p5:']) await client.rpush(`${p}queue:a`, 'x');
    const six = await otherSidekiqPrefixes(client, new SidekiqKeys(''));
    expect(six.map((p) => p.prefix)).toEqual(['o:', 'e:', 'p1:', 'p2:', 'p3:']);
  });

  it('counts the lengths of 1,000 queues of a prefix', async () => {
    const client = redis.source();
    const pipeline = client.pipeline();
    for (let i = 0; i < 1_200; i++) pipeline.rpush(`o:queue:q${i}`, 'x');
    await pipeline.exec();
    expect(await otherSidekiqPrefixes(client, new SidekiqKeys('p'))).toEqual([{ prefix: 'o:', keys: 1_000, jobs: 1_000 }]);
  });

  it('goes on past SCAN pages with few queues until it has 1,000, and counts no more', async () => {
    const client = redis.source();
    const pipeline = client.pipeline();
    for (let i = 0; i < 1_200; i++) pipeline.rpush(`o:queue:q${i}`, 'x');
    await pipeline.exec();
    // Most keys are not queues: each SCAN page of about 1,000 keys holds about 300 queues.
    await filler(client, 3_000);

    expect(await otherSidekiqPrefixes(client, new SidekiqKeys('p'))).toEqual([{ prefix: 'o:', keys: 1_000, jobs: 1_000 }]);
  });

  it('one walk of the keyspace for every prefix found, not three a prefix (each a SCAN call per 1,000 keys)', async () => {
    const client = redis.source();
    for (const p of ['p1:', 'p2:', 'p3:', 'p4:', 'p5:']) await client.rpush(`${p}queue:a`, 'x', 'y');
    await filler(client, 10_000);
    const keys = await client.dbsize();
    await client.config('RESETSTAT');

    expect(await otherSidekiqPrefixes(client, new SidekiqKeys(''))).toEqual(['p1:', 'p2:', 'p3:', 'p4:', 'p5:'].map((prefix) => ({ prefix, keys: 1, jobs: 2 })));

    // The search for prefixes (up to PREFIX_SEARCH_KEYS keys: here all), then one walk: about
    // twice keys / 1,000 calls (a page may hold a few more than its COUNT), not sixteen times.
    const scans = Number(/^cmdstat_scan:calls=(\d+),/m.exec(await client.info('commandstats'))![1]);
    expect(scans).toBeLessThanOrEqual(2 * (Math.ceil(keys / 1_000) + 1));
  });

  it('fails as retryable when Redis is gone', async () => {
    await expect(otherSidekiqPrefixes(unreachable(), new SidekiqKeys(''))).rejects.toThrow(/^Looking for Sidekiq keys under other prefixes: Redis is unreachable/);
  });

  it("counts keys an ACL user may not read apart, never as absent: SCAN lists them, TYPE is refused (NOPERM)", async () => {
    const admin = redis.source();
    // A user for one application of a shared Redis: its own keys only.
    await admin.acl('SETUSER', 'gitlab-only', 'on', '>pw', '~gitlab:*', '&*', '+@all');
    await admin.rpush('gitlab:queue:a', 'x');
    await admin.rpush('queue:left', '1', '2');
    await admin.zadd('schedule', 1, 'a');
    await admin.rpush('resque:gitlab:queue:b', '1');
    const url = new URL(redis.urls().source);
    url.username = 'gitlab-only';
    url.password = 'pw';
    const scoped = new Redis(url.toString(), { protocol: 2 });
    closed.push(scoped);
    try {
      expect(await findSidekiqPrefixes(scoped)).toEqual([
        { prefix: 'gitlab:', keys: 1 },
        { prefix: '', keys: 0, unreadable: 2 },
        { prefix: 'resque:gitlab:', keys: 0, unreadable: 1 },
      ]);
      expect(await otherSidekiqPrefixes(scoped, new SidekiqKeys('gitlab:'))).toEqual([
        { prefix: '', keys: 0, jobs: 0, unreadable: 2 },
        { prefix: 'resque:gitlab:', keys: 0, jobs: 0, unreadable: 1 },
      ]);
      // The administrator sees what they hold.
      expect(await otherSidekiqPrefixes(admin, new SidekiqKeys('gitlab:'))).toEqual([
        { prefix: '', keys: 2, jobs: 3 },
        { prefix: 'resque:gitlab:', keys: 1, jobs: 1 },
      ]);
      // A wrong prefix is still refused for the data this user may read, naming only that.
      const check = { name: 'source redis://x', option: '--namespace' };
      await expect(checkSidekiqPrefix(scoped, new SidekiqKeys('gitlab:x:'), check)).rejects.toThrow('but Sidekiq keys are there under "gitlab:" (1 key): use --namespace gitlab:.');
      // Keys it may not read prove no wrong prefix (it could not use theirs): nothing here, as far as it sees.
      await admin.del('gitlab:queue:a');
      expect(await checkSidekiqPrefix(scoped, new SidekiqKeys('gitlab:'), check)).toBe(false);
    } finally {
      await admin.acl('DELUSER', 'gitlab-only');
    }
  });
});

describe('the eviction policy and the identity of a server', () => {
  it("reads maxmemory-policy from INFO, as it is set", async () => {
    const client = redis.source();
    expect(await readEvictionPolicy(client)).toBe('noeviction');
    await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const policy = await readEvictionPolicy(client);
      expect(policy).toBe('allkeys-lru');
      expect(() => assertTransferSafe('source', policy)).toThrow(InputError);
    } finally {
      await client.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });

  it('tells two servers apart, and two databases of one', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const runId = /^run_id:(\w+)/m.exec(await source.info('server'))![1];
    expect(await serverIdentity(source)).toBe(`${runId}/0`);
    expect(await serverIdentity(target)).not.toBe(`${runId}/0`);
    const db3 = new Redis(`${redis.urls().source}/3`, { protocol: 2 });
    closed.push(db3);
    expect(await serverIdentity(db3)).toBe(`${runId}/3`);
  });

  it('refuses a transfer whose source and target are the same keys, and only that', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const conn = (client: Redis, prefix: string, name: string) => ({ redis: client, keys: new SidekiqKeys(prefix), name });
    const other = new Redis(redis.urls().source, { protocol: 2 }); // the same server by another connection
    closed.push(other);
    const runId = /^run_id:(\w+)/m.exec(await source.info('server'))![1];

    const same = assertDistinctEnds(conn(source, 'p', 'redis://a'), conn(other, 'p:', 'redis://b'));
    await expect(same).rejects.toBeInstanceOf(InputError);
    await expect(same).rejects.toThrow(
      `source redis://a and target redis://b are the same Redis (server run_id ${runId}, database 0, the prefix "p:"): a transfer needs two different places. To re-route inside one Redis, use run. Nothing was touched.`,
    );
    await expect(assertDistinctEnds(conn(source, '', 'redis://a'), conn(other, '', 'redis://b'))).rejects.toThrow(/database 0, no prefix\)/);

    await expect(assertDistinctEnds(conn(source, 'p', 'a'), conn(other, 'q', 'b'))).resolves.toBeUndefined();
    await expect(assertDistinctEnds(conn(source, '', 'a'), conn(target, '', 'b'))).resolves.toBeUndefined();
    const db3 = new Redis(`${redis.urls().source}/3`, { protocol: 2 });
    closed.push(db3);
    await expect(assertDistinctEnds(conn(source, '', 'a'), conn(db3, '', 'b'))).resolves.toBeUndefined();
  });
});
