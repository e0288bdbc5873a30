import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LuaScript, type LuaCall } from '../../../core/redis/lua-script.js';
import { plainPart } from '../../../core/redis/encoded-command.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';

// The transfer's scripts send one variadic command where they sent one redis.call per job (issue
// #18). Each case below seeds the same random state on two servers, runs the script as it was
// (test/fixtures/lua-one-by-one, the guards in front) on one and the script as it is on the other
// with the same random call, and requires the same reply, byte for byte, and the same keys:
// members, scores, list order, sets, TTLs. The pools are small so that calls meet every edge: ids
// already in the ledger or twice in one call, members already on the target or twice in one call,
// pops past the end of a list, conflicts to step over, a batch that is someone else's.
const servers = privateSourceAndTarget();
const GUARDS = readFileSync(new URL('../../../core/redis/lua/lib/guards.lua', import.meta.url), 'utf8');
const ROUNDS = 150;

/** A seeded generator (mulberry32), so that a failure names a seed that repeats it. */
function random(seed: number): { int: (n: number) => number; pick: <T>(items: readonly T[]) => T } {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n) => Math.floor(next() * n), pick: (items) => items[Math.floor(next() * items.length)]! };
}

const payload = (i: number) => `{"class":"A","queue":"q","args":[${i}],"jid":"${String(i).padStart(24, '0')}"}`;
const PAYLOADS = [0, 1, 2, 3, 4, 5, 6, 7].map(payload);
const SCORES = ['1795459303.5', '1', '-3', '0.1', '1e10', 'inf', '1795459303.25'];
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
/**
 * What the run lock on the target may hold when a write runs: nothing, this run's, another run's
 * (live, or past its expiry), a later execution's of this run, or something unreadable. The
 * writes' calls name run `run`, planned at 1000.
 */
const LOCKS = [
  null,
  JSON.stringify({ runId: 'run', plannedAt: 1000, expiresAt: 9e15 }),
  JSON.stringify({ runId: 'run', plannedAt: 1000, expiresAt: 1 }),
  JSON.stringify({ runId: 'other', expiresAt: 9e15 }),
  JSON.stringify({ runId: 'other', expiresAt: 1 }),
  JSON.stringify({ runId: 'run', plannedAt: 2000, expiresAt: 9e15 }),
  'not json',
];

/** Every key's type, contents (list order, members with scores, set members sorted) and TTL in whole seconds. */
async function state(redis: Redis): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await redis.keys('*')).sort()) {
    const type = await redis.type(key);
    const ttl = Math.ceil((await redis.pttl(key)) / 1000);
    if (type === 'list') out[key] = { ttl, list: await redis.lrange(key, 0, -1) };
    else if (type === 'zset') out[key] = { ttl, zset: await redis.zrange(key, 0, '-1', 'WITHSCORES') };
    else if (type === 'set') out[key] = { ttl, set: (await redis.smembers(key)).sort() };
    else out[key] = { ttl, string: await redis.get(key) };
  }
  return out;
}

type Seed = (redis: Redis) => Promise<unknown>;

/**
 * Seeds both servers alike, runs the old script on one and the new one on the other, and compares.
 * `current`: the script as it is now and its call, when it has since been renamed for a key it
 * gained (the acknowledge's and the claim's seal: sealed-acknowledge.test.ts), called so that
 * it does what the old one did.
 */
/**
 * A claim's reply without the `full` flag its reference did not have (claimQueueJobs-14.lua: after
 * the first position; claimSetEntries-16.lua: after the batch id), which is 0 with no byte bound
 * (ARGV[11] / ARGV[10] absent, as in these calls). Refusals (count < 0) have no flag.
 */
function withoutFullFlag(at: number): (reply: unknown) => unknown {
  return (reply) => {
    if (!Array.isArray(reply) || (reply[0] as number) < 0) return reply;
    expect(reply[at]).toBe(0);
    return [...reply.slice(0, at), ...reply.slice(at + 1)];
  };
}

/** A queue claim's reply without the count of originals left (claimQueueJobs-14.lua: after the `full` flag), which its reference did not have. */
function withoutCount(reply: unknown): unknown {
  if (!Array.isArray(reply) || (reply[0] as number) < 0) return reply;
  return [...reply.slice(0, 4), ...reply.slice(5)];
}

/** A set claim's reply without its count of entries left (claimSetEntries-16.lua: after the `full` flag; -1 when not counted). */
function withoutSetCount(reply: unknown): unknown {
  if (!Array.isArray(reply) || (reply[0] as number) < 0) return reply;
  expect(reply[3]).toBe(-1);
  return [...reply.slice(0, 3), ...reply.slice(4)];
}

// The one-by-one reference of a script whose name changed since without changing what it writes
// (only its look at the caller's ACL first, guards.lua refusedCommand), but for the copies' name of
// their ledger in the target's index of ledgers (KEYS[4], core/transfer/ledger-index.ts): a key the
// reference never wrote, checked apart (`gained`, indexedWhenWritten).
const ONE_BY_ONE: Readonly<Record<string, string>> = { 'copyEntriesToSet-6': 'copyEntriesToSet-3', 'copyJobsToLists-n4': 'copyJobsToLists-n' };

/**
 * The index of ledgers after a copy call (state()'s entry, or none): named the ledger whenever the
 * call left one without a TTL (a write), and holds nothing else.
 */
function indexedWhenWritten(gained: unknown): void {
  if (gained !== undefined) expect(gained).toEqual({ ttl: Math.ceil(-1 / 1000), set: ['ledger'] });
}

/**
 * The one thing the copies do unlike their reference: a call that writes nothing to the ledger
 * while the lock is not the writing run's (`run`: gone, another run's, unreadable) leaves the
 * ledger's TTL as it was, where the reference took it off (a page task's attempt still copying
 * after its run ended, overlapping-page-attempts.test.ts).
 */
function lockIsTheRuns(lock: string | null): boolean {
  try {
    return (JSON.parse(lock ?? 'null') as { runId?: unknown } | null)?.runId === 'run';
  } catch {
    return false;
  }
}

async function same(
  name: string,
  seed: Seed,
  call: LuaCall,
  current: { readonly name: string; readonly call: LuaCall; readonly adapt?: (reply: unknown) => unknown; readonly gained?: string; readonly indexed?: string; readonly reference?: (old: Redis, now: Redis) => Promise<void> } = { name, call },
): Promise<unknown> {
  const [old, now] = [servers.source(), servers.target()];
  await Promise.all([old.flushall(), now.flushall()]);
  await seed(old);
  await seed(now);
  const reference = `${GUARDS}\n${readFileSync(new URL(`../../fixtures/lua-one-by-one/${ONE_BY_ONE[name] ?? name}.lua`, import.meta.url), 'utf8')}`;
  const settle = (p: Promise<unknown>) => p.then((reply) => ({ reply }), (error: Error) => ({ error: error.message }));
  const before = await settle(old.callBuffer('EVAL', reference, call.keys.length, ...call.keys, ...call.args.map(plainPart)));
  const after = await settle(new LuaScript(current.name).run(now, current.call).then(current.adapt ?? ((reply: unknown) => reply)));
  expect(after).toEqual(before);
  // What the reference left, as the current script is meant to differ from it (lockIsTheRuns).
  await current.reference?.(old, now);
  // A key the reference never wrote (`gained`) is returned for the caller to check.
  const { [current.gained ?? '']: gainedKey, ...all } = await state(now);
  // A claim names its in-flight key in the source's index of in-flight keys (`indexed`,
  // core/transfer/inflight-index.ts), a key the reference never wrote: that key alone, whenever
  // the call left it holding anything; nothing in flight, no index.
  const { [current.indexed ?? '']: index, ...rest } = all;
  if (current.indexed !== undefined) expect(index).toEqual(rest['inflight'] === undefined ? undefined : { ttl: Math.ceil(-1 / 1000), set: ['inflight'] });
  expect(rest).toEqual(await state(old));
  return gainedKey;
}

describe('the variadic transfer scripts do exactly what one call per job did', () => {
  it(`copyEntriesToSet-6: written, duplicates, conflicts (on the target, or twice in one call) — ${ROUNDS} random calls`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const r = random(round);
      const present = PAYLOADS.filter(() => r.int(3) === 0).map((m) => [r.pick(SCORES), m] as const);
      const ledgered = [0, 1, 2, 3, 4, 5].filter(() => r.int(3) === 0).map((i) => `b:${i}`);
      const lock = r.pick(LOCKS);
      const args: string[] = ['run', '1000'];
      for (let n = r.int(9); n > 0; n--) args.push(`b:${r.int(6)}`, r.pick(PAYLOADS), r.pick(SCORES));
      const expires = round % 2 === 0;
      await same(
        'copyEntriesToSet-6',
        async (redis) => {
          for (const [score, m] of present) await redis.zadd('target:retry', score, m);
          if (ledgered.length > 0) await redis.sadd('ledger', ...ledgered);
          if (expires && ledgered.length > 0) await redis.expire('ledger', 100);
          if (lock !== null) await redis.set('lock', lock);
        },
        { keys: ['ledger', 'target:retry', 'lock'], args },
        {
          name: 'copyEntriesToSet-6',
          call: { keys: ['ledger', 'target:retry', 'lock', 'ledgers'], args },
          gained: 'ledgers',
          // Nothing written to the ledger and the lock not the run's: its TTL stays.
          reference: async (old, now) => {
            const unchanged = JSON.stringify((await now.smembers('ledger')).sort()) === JSON.stringify([...new Set(ledgered)].sort());
            if (expires && ledgered.length > 0 && unchanged && !lockIsTheRuns(lock)) await old.expire('ledger', 100);
          },
        },
      ).then((gained) => indexedWhenWritten(gained));
    }
  });

  // copyJobsToLists-n4 now takes a batch, the position of its first job and pairs (payload, index);
  // the reference took one id per job (`<batch>:<position>`): the same jobs at the same positions.
  const copyCall = (r: ReturnType<typeof random>, first: number, chained: boolean) => {
    const destinations = 1 + r.int(3);
    const names = ['a', 'b', 'c'].slice(0, destinations);
    const push = r.pick(['RPUSH', 'LPUSH']);
    const jobs: [string, number][] = [];
    for (let n = r.int(10); n > 0; n--) jobs.push([r.pick(PAYLOADS), 1 + r.int(destinations)]);
    const keys = ['ledger', 'queues', 'lock', ...names.map((q) => `queue:${q}`)];
    const old: LuaCall = { keys, args: [push, destinations, ...names, chained ? `b:${first - 1}` : '', 'run', 1000, ...jobs.flatMap(([p, d], i) => [`b:${first + i}`, p, d])] };
    const now: LuaCall = { keys: ['ledger', 'queues', 'lock', 'ledgers', ...names.map((q) => `queue:${q}`)], args: [push, destinations, ...names, 'b', first, chained ? 'after' : '', 'run', 1000, ...jobs.flatMap(([p, d]) => [p, d])] };
    return { names, old, now };
  };

  it(`copyJobsToLists-n4 on an older version's ledger of ids: RPUSH and LPUSH to several queues, ids in the ledger or not, in order or not — ${ROUNDS} random calls`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const r = random(1000 + round);
      // Any ids (a set ledger can hold any), and always one: its type is what keeps it by id.
      const ledgered = ['z:0', ...[0, 1, 2, 3, 4, 5, 6, 7].filter(() => r.int(3) === 0).map((i) => `b:${i}`)];
      const lock = r.pick(LOCKS);
      const { names, old, now } = copyCall(r, r.int(9), r.int(2) === 0);
      const already = names.filter(() => r.int(2) === 0);
      const named = r.int(2) === 0;
      await same(
        'copyJobsToLists-n4',
        async (redis) => {
          for (const q of already) await redis.rpush(`queue:${q}`, 'there before', 'and this');
          await redis.sadd('ledger', ...ledgered);
          if (named) await redis.sadd('queues', 'a');
          if (lock !== null) await redis.set('lock', lock);
        },
        old,
        { name: 'copyJobsToLists-n4', call: now, gained: 'ledgers' },
      ).then((gained) => indexedWhenWritten(gained));
    }
  });

  it(`copyJobsToLists-n4 by position: what the reference did with the ids of the batch's first jobs, from a write's first position (at most the count) or after the call before — ${ROUNDS} random calls`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const r = random(5000 + round);
      // The batch's first `done` jobs written (by whichever calls), and another batch's.
      const done = r.int(9);
      const chained = r.int(2) === 0;
      // A write's first call starts where the claim's acknowledged jobs end (never past the count);
      // a later call, right after the one before it (refused when that one was not written).
      const first = chained ? 1 + r.int(10) : r.int(done + 1);
      const lock = r.pick(LOCKS);
      const { names, old, now } = copyCall(r, first, chained);
      const already = names.filter(() => r.int(2) === 0);
      const expires = r.int(2) === 0;
      const seedRest = async (redis: Redis) => {
        for (const q of already) await redis.rpush(`queue:${q}`, 'there before');
        if (lock !== null) await redis.set('lock', lock);
      };
      const [ref, sut] = [servers.source(), servers.target()];
      await Promise.all([ref.flushall(), sut.flushall()]);
      await seedRest(ref);
      await seedRest(sut);
      await ref.sadd('ledger', 'z:0', 'z:1', ...Array.from({ length: done }, (_, i) => `b:${i}`));
      await sut.hset('ledger', 'z', 2, ...(done > 0 || r.int(2) === 0 ? ['b', done] : []));
      if (expires) await Promise.all([ref.expire('ledger', 100), sut.expire('ledger', 100)]);
      // A ledger without a TTL was written by a copy, which named it in the index.
      else await sut.sadd('ledgers', 'ledger');
      const ledgerBefore = await sut.hgetall('ledger');
      const reference = `${GUARDS}\n${readFileSync(new URL('../../fixtures/lua-one-by-one/copyJobsToLists-n.lua', import.meta.url), 'utf8')}`;
      const settle = (p: Promise<unknown>) => p.then((reply) => ({ reply }), (error: Error) => ({ error: error.message }));
      const before = await settle(ref.callBuffer('EVAL', reference, old.keys.length, ...old.keys, ...old.args.map(plainPart)));
      const after = await settle(new LuaScript('copyJobsToLists-n4').run(sut, now));
      expect(after, `round ${round}`).toEqual(before);
      // The ledgers say the same: the hash's counts are the set's ids, each batch a run from 0.
      const ids = (await ref.smembers('ledger')).sort();
      const counted = Object.entries(await sut.hgetall('ledger')).flatMap(([batch, n]) => Array.from({ length: Number(n) }, (_, i) => `${batch}:${i}`));
      expect(counted.sort(), `round ${round}`).toEqual(ids);
      // Its TTL the reference's, but kept by a call that wrote nothing to it with the lock not the run's (lockIsTheRuns).
      const kept = expires && !lockIsTheRuns(lock) && JSON.stringify(await sut.hgetall('ledger')) === JSON.stringify(ledgerBefore);
      expect(Math.ceil((await sut.pttl('ledger')) / 1000), `round ${round}`).toBe(kept ? 100 : Math.ceil((await ref.pttl('ledger')) / 1000));
      // A ledger left without a TTL is named in the index, by the same call.
      if ((await sut.pttl('ledger')) === -1) expect(await sut.sismember('ledgers', 'ledger'), `round ${round}`).toBe(1);
      await Promise.all([ref.del('ledger'), sut.del('ledger')]);
      const { ledgers: gained, ...rest } = await state(sut);
      indexedWhenWritten(gained);
      expect(rest, `round ${round}`).toEqual(await state(ref));
    }
  });

  it(`acknowledgeSetBatch-10 (unsealed) as acknowledgeSetBatch-4: written members (in flight or not, twice), conflicts given back or kept, another batch — ${ROUNDS} random calls`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const r = random(2000 + round);
      const inflight = PAYLOADS.filter(() => r.int(3) !== 0).map((m) => [r.pick(SCORES), m] as const);
      const onSource = PAYLOADS.filter(() => r.int(4) === 0).map((m) => [r.pick(SCORES), m] as const);
      const batched = inflight.length > 0 || r.int(2) === 0;
      const written: string[] = [];
      const conflicts: string[] = [];
      for (let n = r.int(8); n > 0; n--) written.push(r.pick(PAYLOADS));
      for (let n = r.int(3); n > 0; n--) conflicts.push(r.pick(PAYLOADS));
      const batch = r.int(5) === 0 ? 'b2' : 'b1';
      const gained = await same(
        'acknowledgeSetBatch-4',
        async (redis) => {
          for (const [score, m] of inflight) await redis.zadd('inflight', score, m);
          for (const [score, m] of onSource) await redis.zadd('schedule', score, m);
          if (batched) await redis.set('batch', 'b1');
        },
        { keys: ['inflight', 'batch', 'schedule', 'conflicts'], args: [batch, 60, written.length, ...written, ...conflicts] },
        {
          name: 'acknowledgeSetBatch-10',
          call: { keys: ['inflight', 'batch', 'schedule', 'conflicts', 'seal', 'acknowledged', 'inflight-keys'], args: [batch, 60, written.length, '', ...written, ...conflicts] },
          gained: 'acknowledged',
        },
      );
      // The record of written entries removed while the batch stays in flight: their ledger ids, else none.
      const held = new Set(inflight.map(([, m]) => m));
      const removed = batched && batch === 'b1' ? [...new Set(written)].filter((m) => held.has(m)) : [];
      const givenBack = batched && batch === 'b1' ? [...new Set(conflicts)].filter((m) => held.has(m) && !written.includes(m) && !onSource.some(([, o]) => o === m)) : [];
      const stays = held.size - removed.length - givenBack.length;
      const ids = removed.map((m) => `b1:${createHash('sha1').update(m).digest('hex')}`).sort();
      expect(gained === undefined ? [] : ((gained as { set: string[] }).set ?? [])).toEqual(stays > 0 ? ids : []);
    }
  });

  it(`claimSetEntries-16 (no token: seals nothing) as claimSetEntries-7: claims with and without conflicts to step over, onto a batch in flight or a new one — ${ROUNDS} random calls`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const r = random(3000 + round);
      const onSource = PAYLOADS.filter(() => r.int(4) !== 0);
      const inflight = PAYLOADS.filter((p) => !onSource.includes(p) && r.int(2) === 0);
      const givenBack = r.int(2) === 0 ? onSource.filter(() => r.int(3) === 0) : [];
      const scores = PAYLOADS.map(() => r.pick(SCORES));
      const score = (m: string) => scores[PAYLOADS.indexOf(m)]!;
      const n = r.int(7);
      await same(
        'claimSetEntries-7',
        async (redis) => {
          for (const m of onSource) await redis.zadd('schedule', score(m), m);
          for (const m of inflight) await redis.zadd('inflight', score(m), m);
          if (inflight.length > 0) await redis.set('batch', 'b1');
          if (givenBack.length > 0) await redis.sadd('conflicts', ...givenBack.map(sha1));
        },
        { keys: ['schedule', 'inflight', 'batch', 'conflicts', 'chain', 'stopped', 'lock'], args: [n, 'b9', '', 1, '', 60000, 'run', ''] },
        // No count kept and no ARGV[11]: bounded by N alone, as the reference; its reply's count of entries left (-1) dropped.
        { name: 'claimSetEntries-16', call: { keys: ['schedule', 'inflight', 'batch', 'conflicts', 'chain', 'stopped', 'lock', 'seal', 'acknowledged', 'originals', 'inflight-keys'], args: [n, 'b9', '', 1, '', 60000, 'run', '', 600000] }, indexed: 'inflight-keys', adapt: (reply) => withoutFullFlag(2)(withoutSetCount(reply)) },
      );
    }
  });

  it(`claimQueueJobs-6 as claimQueueJobs-14: oldest and newest, past the end of the queue, with arrivals above the window — ${ROUNDS} random calls`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const r = random(4000 + round);
      const queued = PAYLOADS.filter(() => r.int(4) !== 0);
      const inflight = PAYLOADS.filter(() => r.int(4) === 0);
      const newest = r.int(2) === 0;
      // 'newest': how many originals are left; fewer than the queue holds means arrivals above them.
      const remaining = r.int(queued.length + 2);
      const batch = r.int(2) === 0 ? 'b1' : 'b1+3';
      const call = { keys: ['queue:q', 'inflight', 'batch', 'chain', 'stopped', 'lock'], args: [r.int(7), newest ? 'newest' : 'oldest', 'b9', remaining, '', 1, '', 60000, 'run', ''] };
      await same(
        'claimQueueJobs-6',
        async (redis) => {
          if (queued.length > 0) await redis.rpush('queue:q', ...queued);
          if (inflight.length > 0) await redis.rpush('inflight', ...inflight);
          if (inflight.length > 0) await redis.set('batch', batch);
        },
        call,
        // With no count kept and not a pass's start (ARGV[13]), the claim counts by ARGV[4] as the
        // reference did, and keeps the count it leaves (KEYS[7], gained), in its reply after the flag.
        { name: 'claimQueueJobs-14', call: { keys: [...call.keys, 'originals', 'inflight-keys'], args: call.args }, adapt: (reply) => withoutFullFlag(3)(withoutCount(reply)), gained: 'originals', indexed: 'inflight-keys' },
      );
    }
  });
});
