import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LuaScript, type LuaCall } from '../../core/redis/lua-script.js';
import { inspectJobRoute } from '../../core/payload/inspect-job.js';
import { queueRewrite } from '../../core/payload/rewrite-queue.js';
import { entryDigest, RewriteDigest } from '../../core/reroute/rewritten-entries.js';
import { runLockKey, runStopMarkerKey } from '../../core/redis/run-lock.js';
import { rerouteSetPage } from '../../core/reroute/set-page.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../core/routing/routing-plan.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { interferingRedis } from '../support/interfering-redis.js';

// A private server: SCRIPT FLUSH must not disturb other tests.
const server = privateRedis();

describe('Lua scripts', () => {
  it('are loaded again when the server has forgotten them (restart, SCRIPT FLUSH, failover)', async () => {
    const redis = server.client();
    const keys = new SidekiqKeys('');
    const plan = classRoutingPlan(new Map([['A', 'new']]));
    await redis.zadd('schedule', '1', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
    await rerouteSetPage({ redis, keys, plan, set: 'schedule', cursor: '0', count: 10, dryRun: false });
    await redis.zadd('schedule', '2', sidekiqPayload({ className: 'A', queue: 'old', args: '[2]' }));

    await redis.script('FLUSH');
    const page = await rerouteSetPage({ redis, keys, plan, set: 'schedule', cursor: '0', count: 10, dryRun: false, luaBatch: 1 });

    expect(page.counters).toMatchObject({ moved: 1, alreadyRouted: 1 });
    expect((await redis.zrange('schedule', 0, '-1')).every((m) => m.includes('"queue":"new"'))).toBe(true);
  });

  it('writes encoded calls through ioredis when the client prefixes keys (ioredis must see the keys to prefix them)', async () => {
    const prefixed = new Redis(server.url(), { protocol: 2, keyPrefix: 'app:' });
    try {
      const acquire = new LuaScript('acquireRunLock-5', { encodeCalls: true });
      expect(await acquire.run(prefixed, { keys: ['lock', 'stopped'], args: ['run', '{}', 60_000, 'start'] })).toEqual([1]);
      expect(await server.client().exists('app:lock')).toBe(1);
      expect(await server.client().exists('lock')).toBe(0);
    } finally {
      prefixed.disconnect();
    }
  });

  it("an encoded call's script, key count and keys stay readable on its command (debug logs, test doubles)", async () => {
    const redis = server.client();
    const seen: string[][] = [];
    const watching = interferingRedis(redis, (call) => void seen.push([...call.scripts]));
    const acquire = new LuaScript('acquireRunLock-5', { encodeCalls: true });
    await acquire.runAll(watching, [{ keys: [runLockKey(''), runStopMarkerKey('', 'a')], args: ['a', '{}', 60_000, 'start'] }]);
    expect(seen).toEqual([[acquire.sha]]);
  });

  it('writes on the socket, encoded, the bytes ioredis writes for the same calls but the name (several in one buffer, and again after NOSCRIPT)', async () => {
    const redis = server.client();
    await redis.ping();
    /** What runAll writes on the connection, byte for byte. */
    const written = async (encodeCalls: boolean, flush: boolean): Promise<Buffer> => {
      const acquire = new LuaScript('acquireRunLock-5', { encodeCalls });
      if (flush) await redis.script('FLUSH');
      else await redis.script('LOAD', acquire.source);
      await redis.del(runLockKey(''));
      const socket = (redis as unknown as { stream: { write(chunk: unknown, ...rest: unknown[]): boolean } }).stream;
      const chunks: Buffer[] = [];
      const write = socket.write;
      socket.write = function (chunk: unknown, ...rest: unknown[]) {
        chunks.push(Buffer.isBuffer(chunk) ? Buffer.from(chunk) : Buffer.from(String(chunk), 'utf8'));
        return write.call(this, chunk, ...rest);
      };
      try {
        const calls = ['a', 'café 🚀', 'b'.repeat(300), 'x\u00ffy'].map((runId, i) => ({
          keys: [runLockKey(''), i % 2 === 0 ? runStopMarkerKey('', runId) : Buffer.from(runStopMarkerKey('', runId))],
          args: [runId, i === 2 ? Buffer.from(JSON.stringify({ runId, bytes: '\u0000\u00ff' })) : JSON.stringify({ runId }), 60_000 + i, 'start'],
        }));
        await acquire.runAll(redis, calls, [['RPUSH', 'log', Buffer.from([0xff, 0x0d, 0x0a]), 'é', 7]]);
      } finally {
        socket.write = write;
      }
      return Buffer.concat(chunks);
    };
    for (const flush of [false, true]) {
      const [byIoredis, encoded] = [await written(false, flush), await written(true, flush)];
      expect(encoded.length).toBeGreaterThan(1_000);
      // encoded-command.ts names the command EVALSHA where ioredis writes evalsha (as it always
      // has: Redis reads either): everything else is the same, byte for byte.
      const sameName = Buffer.from(byIoredis.toString('latin1').replaceAll('\r\n$7\r\nevalsha\r\n', '\r\n$7\r\nEVALSHA\r\n'), 'latin1');
      expect(sameName.length).toBe(byIoredis.length);
      expect(encoded.equals(sameName), `flush ${flush}`).toBe(true);
    }
  });

  it("writes a rewrite spliced straight into its encoded call, and its digest read back from there, as the bytes ioredis writes for the rewrite's own Buffer and digest (issue #18)", async () => {
    const redis = server.client();
    await redis.ping();
    const acquire = new LuaScript('acquireRunLock-5', { encodeCalls: true });
    await redis.script('LOAD', acquire.source);
    /** What runAll writes on the connection, byte for byte. */
    const written = async (script: LuaScript, calls: LuaCall[]): Promise<Buffer> => {
      await redis.del(runLockKey(''));
      const socket = (redis as unknown as { stream: { write(chunk: unknown, ...rest: unknown[]): boolean } }).stream;
      const chunks: Buffer[] = [];
      const write = socket.write;
      socket.write = function (chunk: unknown, ...rest: unknown[]) {
        chunks.push(Buffer.isBuffer(chunk) ? Buffer.from(chunk) : Buffer.from(String(chunk), 'utf8'));
        return write.call(this, chunk, ...rest);
      };
      try {
        await script.runAll(redis, calls);
      } finally {
        socket.write = write;
      }
      return Buffer.concat(chunks);
    };
    // A queue replaced, one inserted (no `queue`), an ActiveJob's queue_name too, a non-ASCII name.
    const payloads = [
      Buffer.from(sidekiqPayload({ className: 'A', queue: 'old', args: '[1, "\u00e9"]' })),
      Buffer.from('{"class":"A","args":[],"jid":"j2"}'),
      Buffer.from('{"class":"ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper","wrapped":"M","queue":"old","args":[{"job_class":"M","queue_name":"old"}],"jid":"j3"}'),
    ];
    const rewrites = payloads.map((p, i) => {
      const job = inspectJobRoute(p);
      if (job.kind === 'unparsable') throw new Error(job.reason);
      return queueRewrite(p, job, i === 1 ? 'nöw' : 'new');
    });
    const calls = (spliced: boolean): LuaCall[] =>
      rewrites.map((rewrite, i) => ({
        keys: [runLockKey(''), runStopMarkerKey('', `r${i}`)],
        // The rewrite for the holder record (which the script reads as JSON); its digest after it.
        args: [payloads[i]!.subarray(0, 12), spliced ? rewrite : rewrite.toBuffer(), 60_000 + i, 'start', spliced ? new RewriteDigest(rewrite) : entryDigest(rewrite.toBuffer())],
      }));
    const plain = new LuaScript('acquireRunLock-5');
    const byIoredis = await written(plain, calls(false));
    const sameName = Buffer.from(byIoredis.toString('latin1').replaceAll('\r\n$7\r\nevalsha\r\n', '\r\n$7\r\nEVALSHA\r\n'), 'latin1');
    expect(sameName.includes(Buffer.from('{"queue":"nöw","class":"A"'))).toBe(true);
    expect(sameName.toString('latin1')).toContain('"queue_name":"new"');
    expect((await written(acquire, calls(true))).equals(sameName)).toBe(true);
    // Written by ioredis (a client that prefixes keys, say), a spliced call sends the same bytes.
    expect((await written(plain, calls(true))).equals(byIoredis)).toBe(true);
  });

  it('writes each encoded call of a pipeline of nothing else to the socket as the buffer it was encoded in, in order, never copied into one (issue #18)', async () => {
    const redis = server.client();
    await redis.ping();
    const acquire = new LuaScript('acquireRunLock-5', { encodeCalls: true });
    await redis.script('LOAD', acquire.source);
    await redis.del(runLockKey(''));
    const socket = (redis as unknown as { stream: { write(chunk: unknown, ...rest: unknown[]): boolean } }).stream;
    const chunks: unknown[] = [];
    const write = socket.write;
    socket.write = function (chunk: unknown, ...rest: unknown[]) {
      chunks.push(chunk);
      return write.call(this, chunk, ...rest);
    };
    const call = (runId: string) => ({ keys: [runLockKey(''), runStopMarkerKey('', runId)], args: [runId, Buffer.from(JSON.stringify({ runId, pad: 'j'.repeat(200_000) })), 60_000, 'start'] });
    let replies: unknown[];
    try {
      replies = await acquire.runAll(redis, [call('a'), call('b'), call('a')]);
    } finally {
      socket.write = write;
    }
    // One write per call, each holding exactly that call (a copy of all three would be one write of all).
    const written = chunks.filter((c) => (Buffer.isBuffer(c) ? c.length : String(c).length) > 0) as Buffer[];
    expect(written.map((c) => c.toString('latin1').split('EVALSHA').length - 1)).toEqual([1, 1, 1]);
    expect(written.map((c) => c.toString('latin1').includes('\r\n$1\r\nb\r\n'))).toEqual([false, true, false]);
    expect(replies[0]).toEqual([1]);
    expect((replies[1] as unknown[])[0]).toBe(0);
    expect(JSON.parse(String((replies[1] as unknown[])[1]))).toMatchObject({ runId: 'a' });
    expect(replies[2]).toEqual([1]);
  });

  // Calls written by ioredis, and calls written by encoded-command.ts (the re-route's scripts).
  describe.each([false, true])('with encodeCalls %s', (encodeCalls) => {
    it('sends the commands that must come first once, ahead of the calls, also when the script is loaded again', async () => {
      const redis = server.client();
      const acquire = new LuaScript('acquireRunLock-5', { encodeCalls });
      const call = (runId: string) => ({ keys: [runLockKey(''), runStopMarkerKey('', runId)], args: [runId, JSON.stringify({ runId }), 60_000, 'start'] });
      await redis.script('FLUSH');

      const replies = await acquire.runAll(redis, [call('a'), call('b')], [['RPUSH', 'log', 'before']]);

      expect(await redis.lrange('log', 0, -1)).toEqual(['before']);
      // In order: a takes the lock; b is told who holds it, as bytes, with the time left.
      expect(replies[0]).toEqual([1]);
      const [taken, holder, left] = replies[1] as [number, Buffer, number];
      expect(taken).toBe(0);
      expect(Buffer.isBuffer(holder)).toBe(true);
      expect(JSON.parse(holder.toString())).toMatchObject({ runId: 'a' });
      expect(left).toBeGreaterThan(50_000);
      expect(await acquire.run(redis, call('a'))).toEqual([1]);
      expect(acquire.sha).toMatch(/^[0-9a-f]{40}$/);
      expect(await redis.script('EXISTS', acquire.sha)).toEqual([1]);
    });

    it("throws a failed command sent ahead, and a call's error", async () => {
      const redis = server.client();
      const acquire = new LuaScript('acquireRunLock-5', { encodeCalls });
      await redis.set('text', 'abc');
      const call = { keys: [runLockKey(''), runStopMarkerKey('', 'a')], args: ['a', '{}', 60_000, 'start'] };

      await expect(acquire.runAll(redis, [call], [['INCR', 'text']])).rejects.toThrow(/value is not an integer/);
      await expect(acquire.run(redis, { ...call, args: ['a', '{}', 60_000, 'neither'] })).rejects.toThrow('ERR acquireRunLock: ARGV[4] must be start, continue or hold');
    });

    it('loads the script only for calls that got NOSCRIPT, and never sends a failed call again', async () => {
      const redis = server.client();
      const acquire = new LuaScript('acquireRunLock-5', { encodeCalls });
      const call = (runId: string, mode = 'start') => ({ keys: [runLockKey(''), runStopMarkerKey('', runId)], args: [runId, JSON.stringify({ runId }), 60_000, mode] });
      await acquire.run(redis, call('known')); // loaded now
      /** How many times each command ran since the last CONFIG RESETSTAT (INFO commandstats). */
      const calls = async () => {
        const info = await redis.info('commandstats');
        return Object.fromEntries([...info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)].map(([, name, n]) => [name, Number(n)]));
      };

      await redis.config('RESETSTAT');
      await expect(acquire.run(redis, call('a', 'neither'))).rejects.toThrow('ERR acquireRunLock: ARGV[4] must be start, continue or hold');
      expect(await acquire.runAll(redis, [call('known'), call('known')])).toEqual([[1], [1]]);
      const counted = await calls();
      expect(counted['evalsha']).toBe(3);
      expect(counted['script|load'] ?? 0).toBe(0);
    });
  });
});
