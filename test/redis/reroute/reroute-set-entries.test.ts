import type { Redis } from 'ioredis';
import { beforeEach, describe, expect, it } from 'vitest';
import { entryDigest } from '../../../core/reroute/rewritten-entries.js';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { privateRedis } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

// rerouteSetEntries-n6.lua records the digests of the entries it rewrote in one SADD per few
// hundred entries, after the moves: these show that the record is exactly the moved entries'
// digests however many a call moves, and that a call that cannot complete changes nothing.
const script = new LuaScript('rerouteSetEntries-n6');
/** A call's record of moves when it records none (move-record.ts recordArgs). */
const NO_RECORD = ['0', ''];
const NOW = 1795459303;
const server = privateRedis(); // its own redis-server, flushed before each test
let redis: Redis;
beforeEach(() => {
  redis = server.client();
});

const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, jid: i.toString(16).padStart(24, '0') });
const moved = (i: number) => job(i).replace('"queue":"old"', '"queue":"new"');

/** `size` entries in `schedule`, and the call's quads that move them all (no move recorded: '0'). */
async function seed(size: number): Promise<string[]> {
  const pipeline = redis.pipeline();
  const args: string[] = [];
  for (let i = 0; i < size; i++) {
    pipeline.zadd('schedule', String(NOW + i), job(i));
    args.push(job(i), moved(i), entryDigest(Buffer.from(moved(i))), '0');
  }
  await pipeline.exec();
  return args;
}

describe('rerouteSetEntries-n6: the record of rewrites', () => {
  it('holds the digest of every entry moved and of nothing else, in a call of 9,000 (more than one SADD, more than Lua can unpack at once)', async () => {
    const args = await seed(9_000);
    // Entry 0 vanished (the poller took it); entry 1's rewrite is there already (a conflict).
    await redis.zrem('schedule', job(0));
    await redis.zadd('schedule', String(NOW + 1), moved(1));

    const reply = await script.run(redis, { keys: ['schedule', 'rewritten'], args: [...NO_RECORD, ...args] });

    // The conflict's place among the call's entries (1-based) follows the counts.
    expect(reply).toEqual([8_998, 1, 1, 2]);
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
    expect(await script.run(redis, { keys: ['schedule'], args: [...NO_RECORD, ...args] })).toEqual([3, 0, 0]);
    expect(await script.run(redis, { keys: ['schedule', 'rewritten'], args: [...NO_RECORD, ...args] })).toEqual([0, 3, 0]);
    expect(await redis.exists('rewritten')).toBe(0);
  });
});

describe('rerouteSetEntries-n6 under noeviction with memory full', () => {
  it('either changes nothing or runs to its end: here its first write (a ZREM, which frees memory) is not refused, so every entry moves and is recorded', async () => {
    const args = await seed(600);
    const used = Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))![1]);
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', String(used - 1024 * 1024));
    try {
      // A plain write is refused: memory is full.
      await expect(redis.sadd('other', 'x')).rejects.toThrow(/OOM/);

      expect(await script.run(redis, { keys: ['schedule', 'rewritten'], args: [...NO_RECORD, ...args] })).toEqual([600, 0, 0]);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    expect(await redis.zcard('schedule')).toBe(600);
    expect(await redis.zrangebyscore('schedule', '-inf', '+inf')).toEqual(Array.from({ length: 600 }, (_, i) => moved(i)));
    expect(await redis.scard('rewritten')).toBe(600);
  });

  it("with the run's record of moves: its first write (a ZREM) is not refused, so every entry moves and the record names their move", async () => {
    const args = (await seed(600)).map((arg, i) => (i % 4 === 3 ? '1' : arg));
    const used = Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))![1]);
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', String(used - 1024 * 1024));
    try {
      await expect(redis.sadd('other', 'x')).rejects.toThrow(/OOM/);
      expect(await script.run(redis, { keys: ['schedule', 'rewritten', 'moves'], args: ['1', '60', '["A","old","new"]', ...args] })).toEqual([600, 0, 0]);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    expect(await redis.zrangebyscore('schedule', '-inf', '+inf')).toEqual(Array.from({ length: 600 }, (_, i) => moved(i)));
    expect(await redis.smembers('moves')).toEqual(['["A","old","new"]']);
  });
});

describe("rerouteSetEntries-n6 records the moves of the entries it moved, and only those", () => {
  const MEMBERS = ['3', '60', '["A","old","new"]', '["A","other","new"]', '["B","old","new"]'];
  const entry = (cls: string, queue: string, i: number) => sidekiqPayload({ className: cls, queue, args: `[${i}]`, jid: i.toString(16).padStart(24, '0') });
  const quad = (cls: string, queue: string, i: number, move: string) => [entry(cls, queue, i), entry(cls, queue, i).replace(`"queue":"${queue}"`, '"queue":"new"'), '', move];

  it("an entry the poller took and an entry whose rewrite was there (a conflict) add nothing; the moved entries' moves are recorded once each, with the record's expiry", async () => {
    await redis.zadd('schedule', String(NOW + 1), entry('A', 'old', 1), String(NOW + 2), entry('A', 'old', 2), String(NOW + 4), entry('B', 'old', 4));
    // B's entry conflicts: its rewrite is in the set already. A's `other` entry is gone (polled).
    await redis.zadd('schedule', String(NOW + 9), entry('B', 'new', 4));
    const args = [...quad('A', 'old', 1, '1'), ...quad('A', 'other', 3, '2'), ...quad('A', 'old', 2, '1'), ...quad('B', 'old', 4, '3')];

    expect(await script.run(redis, { keys: ['schedule', 'moves'], args: [...MEMBERS, ...args] })).toEqual([2, 1, 1, 4]);

    expect(await redis.smembers('moves')).toEqual(['["A","old","new"]']);
    expect(await redis.ttl('moves')).toBeGreaterThan(55);
    expect(await redis.zscore('schedule', entry('B', 'old', 4))).toBe(String(NOW + 4));
  });

  it('a call that moved nothing writes no record, and renews no expiry of one there', async () => {
    await redis.sadd('moves', '["A","old","new"]');
    await redis.expire('moves', 1000);
    expect(await script.run(redis, { keys: ['schedule', 'moves'], args: [...MEMBERS, ...quad('A', 'other', 3, '2')] })).toEqual([0, 1, 0]);
    expect(await redis.smembers('moves')).toEqual(['["A","old","new"]']);
    expect(await redis.ttl('moves')).toBeGreaterThan(990);
  });

  it.each(['4', '-1', 'x', '1.5', ''])('a move index that names no record member (%j, of 3) is refused before the first entry moves', async (move) => {
    await redis.zadd('schedule', String(NOW + 1), entry('A', 'old', 1), String(NOW + 2), entry('A', 'old', 2));
    const before = await redis.zrange('schedule', 0, '-1', 'WITHSCORES');
    const args = [...quad('A', 'old', 1, '1'), ...quad('A', 'old', 2, move)];
    await expect(script.run(redis, { keys: ['schedule', 'moves'], args: [...MEMBERS, ...args] })).rejects.toThrow(/move index/);
    expect(await redis.zrange('schedule', 0, '-1', 'WITHSCORES')).toEqual(before);
    expect(await redis.exists('moves')).toBe(0);
  });

  // The record's EXPIRE runs after the moves. A whole number of seconds EXPIRE refuses (above ~9.2e15
  // s: `invalid expire time`; from 1e17: `value is not an integer`) passed n5's guard and failed the
  // call there: every entry moved, none recorded, so a rollback would not bring them back
  // (audit-luasweep; no caller sends one: MOVES_TTL_SECONDS is 30 days).
  it.each(['9300000000000000', '1e17', '99999999999999999999'])("a record's time to live EXPIRE refuses (%s) is refused before the first entry moves", async (ttl) => {
    await redis.zadd('schedule', String(NOW + 1), entry('A', 'old', 1), String(NOW + 2), entry('A', 'old', 2));
    const before = await redis.zrange('schedule', 0, '-1', 'WITHSCORES');
    const args = [...quad('A', 'old', 1, '1'), ...quad('A', 'old', 2, '1')];
    await expect(script.run(redis, { keys: ['schedule', 'moves'], args: ['3', ttl, ...MEMBERS.slice(2), ...args] })).rejects.toThrow(/ARGV\[1\] must be the number of record members/);
    expect(await redis.zrange('schedule', 0, '-1', 'WITHSCORES')).toEqual(before);
    expect(await redis.exists('moves')).toBe(0);
  });

  it('entries that do not come as whole quads are refused before the first entry moves', async () => {
    await redis.zadd('schedule', String(NOW + 1), entry('A', 'old', 1));
    const args = [...quad('A', 'old', 1, '1'), entry('A', 'old', 1)];
    await expect(script.run(redis, { keys: ['schedule', 'moves'], args: [...MEMBERS, ...args] })).rejects.toThrow(/quads/);
    expect(await redis.zscore('schedule', entry('A', 'old', 1))).toBe(String(NOW + 1));
  });
});

/**
 * What one ZREM and one ZADD NX per entry, in the call's order, leave (a conflict puts the
 * original back with the entry's score): the set as member → score, and the record of rewrites;
 * returns the counts, then the conflicts' places among the entries (1-based), as the script does.
 */
function sequential(set: Map<string, number>, record: Set<string>, args: string[]): number[] {
  let [moved, vanished, conflicts] = [0, 0, 0];
  const conflicted: number[] = [];
  for (let i = 0; i < args.length; i += 4) {
    const [original, rewritten, digest] = [args[i]!, args[i + 1]!, args[i + 2]!];
    // The score the set holds when the entry's turn comes: the call is given none.
    const score = set.get(original)!;
    if (!set.delete(original)) vanished++;
    else if (!set.has(rewritten)) {
      set.set(rewritten, score);
      record.add(digest);
      moved++;
    } else {
      set.set(original, score);
      conflicts++;
      conflicted.push(i / 4 + 1);
    }
  }
  return [moved, vanished, conflicts, ...conflicted];
}

/** A small seeded generator (the cases are the same on every run). */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
}

async function expectAsSequential(seeded: Map<string, number>, args: string[]): Promise<void> {
  const pipeline = redis.pipeline();
  for (const [member, score] of seeded) pipeline.zadd('schedule', String(score), member);
  await pipeline.exec();
  const set = new Map(seeded);
  const record = new Set<string>();
  const reply = sequential(set, record, args);

  expect(await script.run(redis, { keys: ['schedule', 'rewritten'], args: [...NO_RECORD, ...args] })).toEqual(reply);
  const flat = await redis.zrange('schedule', 0, '-1', 'WITHSCORES');
  const actual = new Map<string, number>();
  for (let i = 0; i < flat.length; i += 2) actual.set(flat[i]!, Number(flat[i + 1]));
  expect([...actual].sort()).toEqual([...set].sort());
  expect((await redis.smembers('rewritten')).sort()).toEqual([...record].sort());
}

describe('rerouteSetEntries-n6 leaves the set as one ZREM and one ZADD NX per entry would', () => {
  it('entries decided in order: the same rewrite twice, a rewrite that is another entry\'s original, an original named twice, vanished entries interleaved', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      await redis.flushall();
      const pick = random(seed);
      // Members from a small alphabet, so that rewrites and originals meet; each with one score.
      const names = Array.from({ length: 10 }, (_, i) => job(i));
      const score = (m: string) => NOW + names.indexOf(m);
      const seeded = new Map(names.filter(() => pick(3) !== 0).map((m) => [m, score(m)] as const));
      const args: string[] = [];
      for (let k = 0; k < 16; k++) {
        const original = names[pick(names.length)]!;
        const rewritten = names[pick(names.length)]!;
        if (rewritten === original) continue; // a move always changes the bytes
        args.push(original, rewritten, entryDigest(Buffer.from(rewritten)), '0');
      }
      await expectAsSequential(seeded, args);
    }
  });

  it('a call of 1,203 entries (more than one ZMSCORE, ZREM, ZADD or SADD takes) with conflicts and vanished entries among them, scores to the last digit', async () => {
    const seeded = new Map<string, number>();
    const args: string[] = [];
    for (let i = 0; i < 1_203; i++) {
      // Scores the call is not given: each entry's is read from the set, to the last digit.
      const score = NOW + i / 7;
      if (i % 97 !== 5) seeded.set(job(i), score);
      if (i % 101 === 3) seeded.set(moved(i), NOW);
      args.push(job(i), moved(i), entryDigest(Buffer.from(moved(i))), '0');
    }
    await expectAsSequential(seeded, args);
    expect(await redis.zscore('schedule', moved(1_202))).toBe(String(NOW + 1_202 / 7));
  });
});

