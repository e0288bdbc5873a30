import type { Redis } from 'ioredis';
import { beforeEach, describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { privateRedis } from '../../support/private-redis.js';
import { keyValueSnapshot } from '../../support/exact-jobs.js';

// rerouteQueueJobs-n4.lua removes each job from the source with its own LREM and pushes what it
// removed variadically, per destination list, after the removals (issue #18). These compare
// every list it touches, byte for byte and in order, with what one LREM and one push per job in
// the call's order (the script before) leaves, on calls that mix vanished jobs, duplicates, both
// push directions, the quarantine, more than one push's worth of values, and a destination that
// is the source itself.
const script = new LuaScript('rerouteQueueJobs-n4');
const server = privateRedis(); // its own redis-server, flushed before each test
let redis: Redis;
beforeEach(() => {
  redis = server.client();
});

/** A job's bytes: not valid UTF-8, so that a decode anywhere would show. */
const payload = (name: string) => Buffer.concat([Buffer.from(`{"jid":"${name}","x":"`), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('"}')]);

interface Op {
  readonly original: Buffer;
  readonly rewritten: Buffer;
  /** 1-based index among the call's destinations. */
  readonly dest: number;
}

interface Call {
  readonly push: 'RPUSH' | 'LPUSH';
  readonly direction: 1 | -1;
  /** Destination keys and their queue names ('' for the quarantine). */
  readonly destinations: readonly { key: string; name: string }[];
  readonly ops: readonly Op[];
}

/** What one LREM and one push per job, in the call's order, leave: lists left to right. */
function sequential(lists: Map<string, Buffer[]>, queues: Set<string>, call: Call): number[] {
  const reply = [0, ...call.destinations.map(() => 0)];
  const source = lists.get('queue:old') ?? [];
  lists.set('queue:old', source);
  for (const { original, rewritten, dest } of call.ops) {
    const at = call.direction === 1 ? source.findIndex((j) => j.equals(original)) : findLastIndex(source, original);
    if (at < 0) {
      reply[0]!++;
      continue;
    }
    source.splice(at, 1);
    const key = call.destinations[dest - 1]!.key;
    const list = lists.get(key) ?? [];
    lists.set(key, list);
    if (call.push === 'RPUSH') list.push(rewritten);
    else list.unshift(rewritten);
    reply[dest]!++;
  }
  call.destinations.forEach((d, i) => {
    if (reply[i + 1]! > 0 && d.name !== '') queues.add(d.name);
  });
  return reply;
}

function findLastIndex(list: Buffer[], job: Buffer): number {
  for (let i = list.length - 1; i >= 0; i--) if (list[i]!.equals(job)) return i;
  return -1;
}

async function run(call: Call): Promise<unknown> {
  const args: (string | Buffer)[] = [call.push, String(call.direction), String(call.destinations.length), ...call.destinations.map((d) => d.name), '0', ''];
  for (const op of call.ops) args.push(op.original, op.rewritten, String(op.dest), '0');
  return script.run(redis, { keys: ['queue:old', 'queues', ...call.destinations.map((d) => d.key)], args });
}

/** Seeds the lists (left to right) and `queues`, runs the call, and compares with the model. */
async function expectAsSequential(lists: Map<string, Buffer[]>, call: Call): Promise<void> {
  for (const [key, jobs] of lists) if (jobs.length > 0) await redis.rpush(key, ...jobs);
  await redis.sadd('queues', 'old');
  const queues = new Set(['old']);
  const expected = new Map([...lists].map(([k, v]) => [k, [...v]]));
  const reply = sequential(expected, queues, call);

  expect(await run(call)).toEqual(reply);
  for (const key of new Set([...expected.keys(), ...call.destinations.map((d) => d.key)])) {
    expect({ key, jobs: (await redis.lrangeBuffer(key, 0, -1)).map(String) }).toEqual({ key, jobs: (expected.get(key) ?? []).map(String) });
    expect(Buffer.concat(await redis.lrangeBuffer(key, 0, -1)).equals(Buffer.concat(expected.get(key) ?? []))).toBe(true);
  }
  expect((await redis.smembers('queues')).sort()).toEqual([...queues].sort());
}

/** A small seeded generator (the cases are the same on every run). */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
}

const destinations = [
  { key: 'queue:a', name: 'a' },
  { key: 'queue:b', name: 'b' },
  { key: 'quarantine:old', name: '' },
];

describe('rerouteQueueJobs-n4 leaves every list as one LREM and one push per job would', () => {
  for (const push of ['RPUSH', 'LPUSH'] as const) {
    for (const direction of [1, -1] as const) {
      it(`${push}, LREM from the ${direction === 1 ? 'head' : 'tail'}: three destinations (one the quarantine), vanished jobs interleaved, the same bytes twice in the source and in the call`, async () => {
        for (let seed = 1; seed <= 5; seed++) {
          await redis.flushall();
          const pick = random(seed * 31 + (push === 'RPUSH' ? 0 : 7) + direction);
          // 12 distinct jobs, some twice in the source; the destinations already hold a backlog.
          const jobs = Array.from({ length: 12 }, (_, i) => payload(`j${i}`));
          const source = Array.from({ length: 40 }, () => jobs[pick(jobs.length)]!);
          const lists = new Map([
            ['queue:old', source],
            ['queue:a', [payload('backlog-a1'), payload('backlog-a2')]],
            ['queue:b', [payload('backlog-b1')]],
          ]);
          // Jobs the call names: mostly from the source, some that are not there (vanished),
          // some named twice (a duplicate in the source moves twice, else vanishes the 2nd time).
          const ops = Array.from({ length: 30 }, (_, k) => {
            const original = pick(5) === 0 ? payload(`gone${k}`) : jobs[pick(jobs.length)]!;
            return { original, rewritten: Buffer.concat([original, Buffer.from(`→${k}`)]), dest: 1 + pick(3) };
          });
          await expectAsSequential(lists, { push, direction, destinations, ops });
        }
      });
    }
  }

  it('more jobs for one destination than one push takes (1,203 to `a`, 5 to the quarantine): in order across the push boundaries', async () => {
    for (const push of ['RPUSH', 'LPUSH'] as const) {
      await redis.flushall();
      const source = Array.from({ length: 1_210 }, (_, i) => payload(`j${i}`));
      const ops = source.map((original, i) => ({ original, rewritten: Buffer.concat([original, Buffer.from('!')]), dest: i % 242 === 0 ? 3 : 1 }));
      // Two that vanished, among them.
      await expectAsSequential(new Map([['queue:old', source.filter((_, i) => i !== 7 && i !== 700)]]), { push, direction: 1, destinations, ops });
    }
  });

  it('a destination that is the source itself: each job pushed at once, so a later LREM meets it as before', async () => {
    for (const push of ['RPUSH', 'LPUSH'] as const) {
      await redis.flushall();
      const [x, y] = [payload('x'), payload('y')];
      // x is rewritten into y on the source itself, then y is looked for: with LPUSH the pushed y
      // is the first from the head, with RPUSH the original y is.
      const lists = new Map([['queue:old', [payload('w'), y, x, payload('z')]]]);
      const ops = [
        { original: x, rewritten: y, dest: 1 },
        { original: y, rewritten: payload('y2'), dest: 2 },
        { original: y, rewritten: payload('y3'), dest: 1 },
      ];
      await expectAsSequential(lists, { push, direction: 1, destinations: [{ key: 'queue:old', name: 'old' }, destinations[0]!], ops });
    }
  });
});

describe('rerouteQueueJobs-n4: no write before a command that can fail', () => {
  it('a call of 9,000 jobs to one destination (more values than Lua can unpack at once) moves all of them, in order', async () => {
    const source = Array.from({ length: 9_000 }, (_, i) => payload(`j${i}`));
    const ops = source.map((original) => ({ original, rewritten: Buffer.concat([original, Buffer.from('!')]), dest: 1 }));
    await expectAsSequential(new Map([['queue:old', source]]), { push: 'RPUSH', direction: 1, destinations, ops });
  });

  it.each(['0', '4', 'x', '1.5', ''])('a destination index that names no key (%j, of 3) is refused before the first job is removed', async (dest) => {
    const source = [payload('a'), payload('b')];
    await redis.rpush('queue:old', ...source);
    const before = await keyValueSnapshot(redis, '');
    const ops = [
      { original: source[0]!, rewritten: payload('a2'), dest: 1 },
      { original: source[1]!, rewritten: payload('b2'), dest: dest as unknown as number },
    ];
    await expect(run({ push: 'RPUSH', direction: 1, destinations, ops })).rejects.toThrow(/destination index/);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it('jobs that do not come as whole quads are refused before the first job is removed', async () => {
    await redis.rpush('queue:old', payload('a'));
    const before = await keyValueSnapshot(redis, '');
    const call = { keys: ['queue:old', 'queues', 'queue:a'], args: ['RPUSH', '1', '1', 'a', '0', '', payload('a'), payload('a2'), '1', '0', payload('a')] };
    await expect(script.run(redis, call)).rejects.toThrow(/quads/);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });

  it('under noeviction with memory full: its first write (an LREM, which frees memory) is not refused, so its pushes are not either: every job moves', async () => {
    const source = Array.from({ length: 600 }, (_, i) => payload(`j${i}`));
    await redis.rpush('queue:old', ...source);
    const used = Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))![1]);
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', String(used - 1024 * 1024));
    try {
      await expect(redis.sadd('other', 'x')).rejects.toThrow(/OOM/);
      const ops = source.map((original) => ({ original, rewritten: Buffer.concat([original, Buffer.from('!')]), dest: 1 }));
      expect(await run({ push: 'LPUSH', direction: -1, destinations, ops })).toEqual([0, 600, 0, 0]);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    expect(await redis.llen('queue:old')).toBe(0);
    expect((await redis.lrangeBuffer('queue:a', 0, -1)).map(String)).toEqual(source.map((j) => `${String(j)}!`).reverse());
    expect(await redis.smembers('queues')).toEqual(['a']);
  });

  it("under noeviction with memory full, with the run's record of moves: its first write (an LREM) is not refused, so every job moves and the record names their move", async () => {
    const source = Array.from({ length: 600 }, (_, i) => payload(`j${i}`));
    await redis.rpush('queue:old', ...source);
    const used = Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))![1]);
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', String(used - 1024 * 1024));
    try {
      await expect(redis.sadd('other', 'x')).rejects.toThrow(/OOM/);
      const args: (string | Buffer)[] = ['LPUSH', '-1', '1', 'a', '1', '60', '["A","old","a"]'];
      for (const original of source) args.push(original, Buffer.concat([original, Buffer.from('!')]), '1', '1');
      expect(await script.run(redis, { keys: ['queue:old', 'queues', 'queue:a', 'moves'], args })).toEqual([0, 600]);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    expect(await redis.llen('queue:old')).toBe(0);
    expect(await redis.llen('queue:a')).toBe(600);
    expect(await redis.smembers('moves')).toEqual(['["A","old","a"]']);
  });

  it.each(['2', '-1', 'x', '1.5', ''])('a move index that names no record member (%j, of 1) is refused before the first job is removed', async (move) => {
    const source = [payload('a'), payload('b')];
    await redis.rpush('queue:old', ...source);
    const before = await keyValueSnapshot(redis, '');
    const args = ['RPUSH', '1', '1', 'a', '1', '60', '["A","old","a"]', source[0]!, payload('a2'), '1', '1', source[1]!, payload('b2'), '1', move];
    await expect(script.run(redis, { keys: ['queue:old', 'queues', 'queue:a', 'moves'], args })).rejects.toThrow(/move index/);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });
  // The record's EXPIRE runs after the LREMs and before the pushes. A whole number of seconds EXPIRE
  // refuses (its expiry in ms overflows above ~9.2e15 s: `invalid expire time`; from 1e17 Lua hands
  // it over with an exponent: `value is not an integer`) passed n3's guard (a whole number >= 1) and
  // failed the call there: both jobs gone from the source, neither pushed (audit-luasweep; no caller
  // sends one: MOVES_TTL_SECONDS is 30 days).
  it.each(['9300000000000000', '1e17', '99999999999999999999'])("a record's time to live EXPIRE refuses (%s) is refused before the first job is removed", async (ttl) => {
    const source = [payload('a'), payload('b')];
    await redis.rpush('queue:old', ...source);
    const before = await keyValueSnapshot(redis, '');
    const args = ['RPUSH', '1', '1', 'a', '1', ttl, '["A","old","a"]', source[0]!, payload('a2'), '1', '1', source[1]!, payload('b2'), '1', '1'];
    await expect(script.run(redis, { keys: ['queue:old', 'queues', 'queue:a', 'moves'], args })).rejects.toThrow(/ARGV\[4\+D\] must be the number of record members/);
    expect(await keyValueSnapshot(redis, '')).toEqual(before);
  });
});

describe("rerouteQueueJobs-n4 records the moves of the jobs it moved, and only those", () => {
  const call = (ops: [Buffer, number, string][]) => {
    const args: (string | Buffer)[] = ['RPUSH', '1', '2', 'a', '', '3', '60', '["A","old","a"]', '["B","old","a"]', '["C","old","a"]'];
    for (const [job, dest, move] of ops) args.push(job, Buffer.concat([job, Buffer.from('!')]), String(dest), move);
    return script.run(redis, { keys: ['queue:old', 'queues', 'queue:a', 'quarantine:old', 'moves'], args });
  };

  it("a job a consumer popped first adds its move to nothing; a quarantined job ('0') adds none; the others' moves are recorded once each, with the record's expiry", async () => {
    await redis.rpush('queue:old', payload('a1'), payload('a2'), payload('c1'), payload('q1'));
    // B's only job was popped before the call; A's second job too.
    expect(await call([[payload('a1'), 1, '1'], [payload('b1'), 1, '2'], [payload('a3'), 1, '1'], [payload('a2'), 1, '1'], [payload('c1'), 1, '3'], [payload('q1'), 2, '0']])).toEqual([2, 3, 1]);
    expect((await redis.smembers('moves')).sort()).toEqual(['["A","old","a"]', '["C","old","a"]']);
    expect(await redis.ttl('moves')).toBeGreaterThan(55);
  });

  it('a call whose every job vanished writes no record, and renews no expiry of one there', async () => {
    await redis.sadd('moves', '["A","old","a"]');
    await redis.expire('moves', 1000);
    expect(await call([[payload('a1'), 1, '1'], [payload('b1'), 1, '2']])).toEqual([2, 0, 0]);
    expect(await redis.smembers('moves')).toEqual(['["A","old","a"]']);
    expect(await redis.ttl('moves')).toBeGreaterThan(990);
  });
});

describe('rerouteQueueJobs-n4 looks for each job from the end of the list nearer the window the caller read', () => {
  // '~BELOW:SPAN': the window of SPAN jobs lies BELOW jobs above the tail. A copy of the job at
  // each end shows which end LREM looked from: the one nearer the window is the one taken.
  const job = payload('same');
  const filler = (n: number, tag: string) => Array.from({ length: n }, (_, i) => payload(`${tag}${i}`));
  const run = (hint: string) =>
    script.run(redis, { keys: ['queue:old', 'queues', 'queue:new'], args: ['RPUSH', hint, '1', 'new', '0', '', job, payload('rewritten'), '1', '0'] });

  it('from the tail when fewer jobs lie below the window than above it (a front pass with jobs left at the head)', async () => {
    // Head to tail: the copy, 10 jobs left in place, the window (the other copy), 2 older originals.
    await redis.rpush('queue:old', job, ...filler(10, 'kept'), job, ...filler(2, 'older'));
    expect(await run('~2:1')).toEqual([0, 1]);
    expect((await redis.lrangeBuffer('queue:old', 0, 0))[0]).toEqual(job);
    expect(await redis.llen('queue:old')).toBe(13);
    expect((await redis.lrangeBuffer('queue:old', -3, -3))[0]).toEqual(payload('kept9'));
  });

  it('from the head when fewer jobs lie above the window than below it (an append pass with jobs left at the tail)', async () => {
    // Head to tail: 2 newer originals, the window (a copy), 10 jobs left in place, the other copy.
    await redis.rpush('queue:old', ...filler(2, 'newer'), job, ...filler(10, 'kept'), job);
    expect(await run('~11:1')).toEqual([0, 1]);
    expect((await redis.lrangeBuffer('queue:old', -1, -1))[0]).toEqual(job);
    expect((await redis.lrangeBuffer('queue:old', 2, 2))[0]).toEqual(payload('kept0'));
  });
});
