import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classifyRedisError } from '../../core/redis/redis-errors.js';
import { KeyTypeError } from '../../core/redis/key-type-error.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { cases, job, rewritten, seed as seedKeys } from '../support/lua-step-calls.js';

// Redis does not roll a script back when a command in it fails. Every script checks the type of
// each key it writes before its first write: a call that meets a key of another type changes
// nothing at all. Each case below puts a wrong type on one key of a call that would otherwise
// write, and compares every key before and after.
let server: RedisServerHandle;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { protocol: 2 });
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

const seed = () => seedKeys(redis);

describe('every Lua step refuses a key of the wrong type before writing anything', () => {
  for (const [name, call, breakable] of cases) {
    it.each(breakable)(`${name}: %s of another type → KeyTypeError naming it, nothing changed`, async (key) => {
      await seed();
      // A type none of our keys ever has, and a string where a string is what the step needs.
      if ((await redis.type(key)) === 'string' || key.startsWith('batch') || key.startsWith('chain') || key.startsWith('seal') || key.startsWith('originals') || key === 'lock') {
        await redis.del(key);
        await redis.hset(key, 'f', 'v');
      } else {
        await redis.del(key);
        await redis.set(key, 'x');
      }
      const before = await keyValueSnapshot(redis, '');

      const error = await new LuaScript(name).run(redis, call).then(
        () => null,
        (e: unknown) => classifyRedisError(e, 'Doing it'),
      );

      expect(error).toBeInstanceOf(KeyTypeError);
      expect(error).toMatchObject({ key, retryable: false });
      expect(error!.message).toMatch(new RegExp(`^Doing it: ${key} holds a (string|hash), not a \\w+; this step was refused before it wrote anything`));
      expect(await keyValueSnapshot(redis, '')).toEqual(before);
    });
  }

  // A key given in two roles of different types, absent, passes a check by type in each: the run id
  // `quarantine` made a retired queue `moves` quarantine into the run's record of moves (a set). The
  // call wrote the record, removed both jobs, and failed at the quarantine push: one job lost.
  it('rerouteQueueJobs-n4: one key as a destination list and as the record (a set) is refused before anything is written', async () => {
    const [moved, quarantined] = [job(1), job(2)];
    await redis.rpush('queue:old', moved, quarantined);
    const before = await keyValueSnapshot(redis, '');
    const call = { keys: ['queue:old', 'queues', 'queue:new', 'same', 'same'], args: ['RPUSH', '~0:2', '2', 'new', '', '1', '60', '["A","old","new"]', moved, moved.replace('"queue":"old"', '"queue":"new"'), '1', '1', quarantined, quarantined, '2', '0'] };
    const error = await new LuaScript('rerouteQueueJobs-n4').run(redis, call).then(
      (reply) => new Error(`no error: ${JSON.stringify(reply)}`),
      (e: unknown) => e as Error,
    );
    expect(error.message).toBe('ERR sidekiq-migrate same is needed as a list and as a set by this call; it was refused before it wrote anything');
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it('retireLedger-4 gives no TTL to a ledger of another type, and looks at it without writing', async () => {
    await seed();
    await redis.set('ledger:x', 'not a set');
    await redis.hset('ledger:h', 'b0:9', '5');
    const before = await keyValueSnapshot(redis, '');
    const script = new LuaScript('retireLedger-4');
    expect(await script.run(redis, { keys: ['ledger:x', 'ledgers'], args: ['look'] })).toEqual([-1, 0, Buffer.from('string')]);
    expect(await script.run(redis, { keys: ['ledger:x', 'ledgers'], args: ['retire', 600, 0, 'x', 'string'] })).toBe(0);
    // A queue's ledger (a hash) re-created as a set of the same size and member, or the other way: not the ledger seen.
    expect(await script.run(redis, { keys: ['ledger:ids', 'ledgers'], args: ['retire', 600, 1, 'b0:9', 'hash'] })).toBe(0);
    expect(await script.run(redis, { keys: ['ledger:h', 'ledgers'], args: ['retire', 600, 1, 'b0:9', 'set'] })).toBe(0);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it('a score ZADD would refuse is refused before the entry is removed', async () => {
    await seed();
    const before = await keyValueSnapshot(redis, '');
    await expect(new LuaScript('copyEntriesToSet-6').run(redis, { keys: ['ledger:s', 'schedule', 'lock', 'ledgers'], args: ['run', '', 'b:1', job(9), ' 1'] })).rejects.toThrow(/invalid score/);
    await expect(new LuaScript('claimSelectedSetEntries-11').run(redis, { keys: ['schedule', 'inflight:n', 'batch:n', 'conflicts:n', 'seal:n', 'stopped', 'lock', 'acknowledged:n', 'inflight-keys'], args: ['b9', 'run', '', job(3), 'nan'] })).rejects.toThrow(/invalid score nan/);
    // Malformed offsets are refused before the marker overwrites anything.
    await expect(new LuaScript('claimSelectedQueueJobs-11').run(redis, { keys: ['queue:old', 'inflight:n', 'batch:n', 'stopped', 'lock', 'originals:n', 'inflight-keys'], args: ['b9', 8, 'marker', 'run', '', 3, 0, '', 0, job(2), 0, job(2)] })).rejects.toThrow(/distinct integers/);
    await expect(new LuaScript('claimSelectedQueueJobs-11').run(redis, { keys: ['queue:old', 'inflight:n', 'batch:n', 'stopped', 'lock', 'originals:n', 'inflight-keys'], args: ['b9', 8, 'marker', 'run', '', 3, 0, '', -1, job(2)] })).rejects.toThrow(/distinct integers/);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  // Lua's tonumber reads these, ZADD does not (strtod's ERANGE; bytes after a NUL): before the
  // guard refused them, rerouteSetEntries-n removed the entry and then failed to add its rewrite
  // (rerouteSetEntries-n6 is given no score: it writes the one ZMSCORE read from the set).
  it.each(['1e400', '-1e400', '1e-400', '0x1p-5000', '1\u0000x'])('a score strtod cannot hold (%j) is refused before any entry moves', async (score) => {
    const [first, second] = [job(7), job(8)];
    await redis.zadd('schedule', '1795459303.5', first, '1795459304', second);
    await expect(redis.zadd('probe', score, 'x')).rejects.toThrow(/not a valid float/);
    const before = await keyValueSnapshot(redis, '');
    // The first entry has a good score: without the guard it is moved before the second fails.
    await expect(new LuaScript('copyEntriesToSet-6').run(redis, { keys: ['ledger:s', 'retry', 'lock', 'ledgers'], args: ['run', '', 'b:1', first, '1', 'b:2', second, score] })).rejects.toThrow(/invalid score/);
    await expect(
      new LuaScript('claimSelectedSetEntries-11').run(redis, { keys: ['schedule', 'inflight:n', 'batch:n', 'conflicts:n', 'seal:n', 'stopped', 'lock', 'acknowledged:n', 'inflight-keys'], args: ['b9', 'run', '', first, '1795459303.5', second, score] }),
    ).rejects.toThrow(/invalid score/);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it.each(['4e-320', '0x10', 'inf', '-inf', '+Infinity', '0e-400', '1e308'])('an entry whose score is %s moves with it, to the last digit (rerouteSetEntries-n6 reads it from the set)', async (score) => {
    const [entry, rewrite] = [job(7), rewritten(7)];
    await redis.zadd('schedule', score, entry);
    expect(await new LuaScript('rerouteSetEntries-n6').run(redis, { keys: ['schedule'], args: ['0', '', entry, rewrite, '', '0'] })).toEqual([1, 0, 0]);
    expect(await redis.zrange('schedule', 0, '-1')).toEqual([rewrite]);
    await redis.zadd('expected', score, rewrite);
    expect(await redis.zscore('schedule', rewrite)).toBe(await redis.zscore('expected', rewrite));
  });

  it('a write call naming a destination index it does not have is refused before the ledger records any job', async () => {
    await seed();
    const before = await keyValueSnapshot(redis, '');
    for (const index of ['2', '0', '1.5', 'x']) {
      for (const ledger of ['ledger:q', 'ledger:ids']) {
        const call = { keys: [ledger, 'queues', 'lock', 'ledgers', 'queue:q'], args: ['RPUSH', '1', 'q', 'b1', 0, '', 'run', '', job(1), '1', job(2), index] };
        await expect(new LuaScript('copyJobsToLists-n4').run(redis, call)).rejects.toThrow(`destination index ${index} is not one of 1..1; nothing written`);
      }
    }
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it('a write call with a first position that is not an integer >= 0, or a payload without its index, is refused before the ledger records any job', async () => {
    await seed();
    const before = await keyValueSnapshot(redis, '');
    for (const ledger of ['ledger:q', 'ledger:ids']) {
      for (const first of ['-1', '1.5', 'x', '']) {
        const call = { keys: [ledger, 'queues', 'lock', 'ledgers', 'queue:q'], args: ['RPUSH', '1', 'q', 'b1', first, '', 'run', '', job(1), '1'] };
        await expect(new LuaScript('copyJobsToLists-n4').run(redis, call)).rejects.toThrow(`the first position ${first} is not an integer >= 0; nothing written`);
      }
      const unpaired = { keys: [ledger, 'queues', 'lock', 'ledgers', 'queue:q'], args: ['RPUSH', '1', 'q', 'b1', 0, '', 'run', '', job(1), '1', job(2)] };
      await expect(new LuaScript('copyJobsToLists-n4').run(redis, unpaired)).rejects.toThrow('expected payload and destination index pairs; nothing written');
    }
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it.each(['0', '-1', '1.5', 'x', ''])('a set claim with a seal or chain time to live SET … PX refuses (%j) is refused before anything is claimed', async (ttl) => {
    await seed();
    const before = await keyValueSnapshot(redis, '');
    const keys = ['schedule', 'inflight:new', 'batch:new', 'conflicts:new', 'chain:new', 'stopped', 'lock', 'seal:new', 'acknowledged:new', 'originals:new', 'inflight-keys'];
    for (const args of [
      [2, 'b9', 't', 1, '', 60000, 'run', '', ttl],
      [2, 'b9', 't', 1, '', ttl, 'run', '', 600000],
    ]) {
      await expect(new LuaScript('claimSetEntries-16').run(redis, { keys, args })).rejects.toThrow(/invalid time to live/);
    }
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  // As the set claim's: SET … PX (the chain) and EXPIRE (the receipts) came after the call's first
  // write, so a time to live they refuse failed the call with its claims made, or the pass's end in
  // the receipts with its record still under its own key.
  it.each(['0', '-1', '1.5', 'x', ''])('a queue claim with a chain time to live SET … PX refuses (%j) is refused before anything is claimed', async (ttl) => {
    await seed();
    const before = await keyValueSnapshot(redis, '');
    const keys = ['queue:old', 'inflight:new', 'batch:new', 'chain:new', 'stopped', 'lock', 'originals:new', 'inflight-keys'];
    for (const mode of ['oldest', 'newest']) {
      await expect(new LuaScript('claimQueueJobs-14').run(redis, { keys, args: [1, mode, 'b9', 2, 't', 1, '', ttl, 'run', '', '', '', 'start'] })).rejects.toThrow(/invalid time to live/);
    }
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it.each(['0', '-1', '1.5', 'x', ''])("a queue pass's end with a receipts' time to live EXPIRE refuses (%j) is refused before anything is written", async (ttl) => {
    await seed();
    await redis.set('originals:end', 't 1 2 1000 arn\n0 2\n{}');
    const before = await keyValueSnapshot(redis, '');
    await expect(new LuaScript('endQueuePass-5').run(redis, { keys: ['originals:end', 'receipts', 'queue:old'], args: ['pass-end:queue:old', ttl, '1000 arn'] })).rejects.toThrow(/invalid time to live/);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it.each(['0', '-1', '1.5', 'x', ''])("a page attempt's count with a receipts' time to live EXPIRE refuses (%j) is refused before anything is written", async (ttl) => {
    await redis.set('lock', JSON.stringify({ runId: 'run', plannedAt: 1000, expiresAt: Date.now() + 60_000 }));
    const before = await keyValueSnapshot(redis, '');
    await expect(new LuaScript('openPageAttempt-7').run(redis, { keys: ['receipts', 'lock', 'stopped'], args: ['item', 'item:digest', ttl, 'run', '1000', ''] })).rejects.toThrow(/invalid time to live/);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it.each(['0', '-1', '1.5', 'x', ''])("a set acknowledge with a conflicts' time to live EXPIRE refuses (%j) is refused before anything is written", async (ttl) => {
    await redis.set('batch:s', 'b2');
    await redis.zadd('inflight:s', 1, job(1), 2, job(2));
    const before = await keyValueSnapshot(redis, '');
    // One written entry, then one conflict: the EXPIRE came after the written one's ZREM.
    await expect(new LuaScript('acknowledgeSetBatch-10').run(redis, { keys: ['inflight:s', 'batch:s', 'schedule', 'conflicts:s', 'seal:s', 'acknowledged:s', 'inflight-keys'], args: ['b2', ttl, 1, '', job(1), job(2)] })).rejects.toThrow(/invalid time to live/);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it.each([
    ['another slice sealed it', 'u:1'],
    ['the seal names another size', 't:2'],
    ['no number in the seal', 't:'],
  ])('a sealed acknowledge whose seal does not hold (%s) writes nothing and says so (-1)', async (_, sealed) => {
    await seed();
    const before = await keyValueSnapshot(redis, '');
    const reply = await new LuaScript('acknowledgeSetBatch-10').run(redis, { keys: ['inflight:s', 'batch:s', 'schedule', 'conflicts:s', 'seal:s', 'acknowledged:s', 'inflight-keys'], args: ['b2', 60, 0, sealed] });
    expect(reply).toEqual([-1, 0, 1]);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it('a sealed acknowledge that carries members too is refused as not holding: nothing written', async () => {
    await seed();
    const before = await keyValueSnapshot(redis, '');
    const reply = await new LuaScript('acknowledgeSetBatch-10').run(redis, { keys: ['inflight:s', 'batch:s', 'schedule', 'conflicts:s', 'seal:s', 'acknowledged:s', 'inflight-keys'], args: ['b2', 60, 1, 't:1', job(5)] });
    expect(reply).toEqual([-1, 0, 1]);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it.each([
    ['by position (a hash: the batch counts 1 written)', 'ledger:q', async () => redis.hset('ledger:q', 'b1', 1), async () => redis.hset('ledger:q', 'b1', 2)],
    ["by id (an older version's set)", 'ledger:ids', async () => redis.sadd('ledger:ids', 'b1:0'), async () => redis.sadd('ledger:ids', 'b1:1')],
  ])('a write call whose previous job was not written is refused before writing (TRYAGAIN: retryable), so no job passes an earlier one: %s', async (_, ledger, one, two) => {
    await seed();
    await one();
    const before = await keyValueSnapshot(redis, '');
    const payload = job(2);
    const call = { keys: [ledger, 'queues', 'lock', 'ledgers', 'queue:q'], args: ['RPUSH', '1', 'q', 'b1', 2, 'after', 'run', '', payload, '1'] };

    const error = await new LuaScript('copyJobsToLists-n4').run(redis, call).then(
      () => null,
      (e: unknown) => classifyRedisError(e, 'Doing it'),
    );

    expect(error).toMatchObject({ retryable: true });
    expect(error!.message).toMatch(/^Doing it: TRYAGAIN copyJobsToLists: the job before this call's \(b1:1\) was not written; nothing written$/);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
    // Once it is written, the same call writes.
    await two();
    expect(await new LuaScript('copyJobsToLists-n4').run(redis, call)).toEqual([0, 1]);
    expect(await redis.lrange('queue:q', 0, -1)).toEqual([payload]);
  });
});

describe('out of memory under noeviction', () => {
  it('a script is refused at its first write, before it changed anything; once it has written, it runs to its end', async () => {
    await seed();
    const used = Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))![1]);
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', String(used - 1024 * 1024));
    try {
      const before = await keyValueSnapshot(redis, '');
      // The copy's first write is the ledger's HSET (an older version's ledger: SADD), which may
      // grow memory: refused, nothing written.
      for (const ledger of ['ledger:q', 'ledger:ids']) {
        await expect(new LuaScript('copyJobsToLists-n4').run(redis, { keys: [ledger, 'queues', 'lock', 'ledgers', 'queue:q'], args: ['RPUSH', '1', 'q', 'b1', 0, '', 'run', '', job(1), '1'] })).rejects.toThrow(/OOM/);
        expect(await keyValueSnapshot(redis, '')).toEqual(before);
      }
      // The set copy reads first (SMISMEMBER, ZMSCORE); its first write is the ZADD: refused, nothing written.
      await expect(new LuaScript('copyEntriesToSet-6').run(redis, { keys: ['ledger:s', 'retry', 'lock', 'ledgers'], args: ['run', '', 'b2:x', job(5), '1795459303.5', 'b2:y', job(6), '1'] })).rejects.toThrow(/OOM/);
      expect(await keyValueSnapshot(redis, '')).toEqual(before);
      // With a job pushed above the window ('newest', 1 original of 2), the claim's first write
      // marks the window (LSET, which may grow memory): refused, nothing claimed, nothing marked.
      await expect(new LuaScript('claimQueueJobs-14').run(redis, { keys: ['queue:old', 'inflight:new', 'batch:new', 'chain:new', 'stopped', 'lock', 'originals:new', 'inflight-keys'], args: [1, 'newest', 'b8', 1, '', 1, 'last', 60000, 'run', ''] })).rejects.toThrow(/OOM/);
      expect(await keyValueSnapshot(redis, '')).toEqual(before);
      // The claim's first write is a pop (frees memory): then its push is not refused half-way.
      const reply = (await new LuaScript('claimQueueJobs-14').run(redis, { keys: ['queue:old', 'inflight:new', 'batch:new', 'chain:new', 'stopped', 'lock', 'originals:new', 'inflight-keys'], args: [2, 'newest', 'b9', 2, '', 1, 'last', 60000, 'run', ''] })) as unknown[];
      expect(reply[0]).toBe(2);
      expect(await redis.llen('queue:old')).toBe(0);
      expect(await redis.llen('inflight:new')).toBe(2);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
  });
});
