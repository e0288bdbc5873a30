import { describe, expect, it } from 'vitest';
import { drivePages } from '../../../core/reroute/drive-pages.js';
import { rerouteSetPage, type SetCursor } from '../../../core/reroute/set-page.js';
import { rewrittenEntriesKey } from '../../../core/reroute/rewritten-entries.js';
import { SidekiqKeys, type SortedSetName } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan, renameRoutingPlan, type RoutingPlan } from '../../../core/routing/routing-plan.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { expectExactJobs, jobEntry, withQueue, keyValueSnapshot } from '../../support/exact-jobs.js';
import { jidOf, queueOf, sidekiqPayload } from '../../support/sidekiq-jobs.js';

const START: SetCursor = { scan: '0' };
const setCursorOf = (cursor: SetCursor | string): SetCursor => (typeof cursor === 'string' ? { scan: cursor } : cursor);

const redis = connectShared();
const HOUR = 3600;
const NOW = 1795459303;

/** GitLab's migrator spec fixture: TestWorker ×3 and PostReceive, all on `default`, due in 1–4 h. */
async function seedGitLabFixture(key: string): Promise<string[]> {
  const classes = ['TestWorker', 'TestWorker', 'PostReceive', 'TestWorker'];
  const members = classes.map((className, i) => sidekiqPayload({ className, queue: 'default', args: `[${i}]` }));
  for (const [i, m] of members.entries()) await redis.zadd(key, String(NOW + (i + 1) * HOUR), m);
  return members;
}

const mapping = (entries: Record<string, string>): RoutingPlan => classRoutingPlan(new Map(Object.entries(entries)));

async function rerouteWholeSet(keys: SidekiqKeys, set: SortedSetName, plan: RoutingPlan, options: { count?: number; dryRun?: boolean } = {}) {
  return drivePages((cursor) => rerouteSetPage({ redis, keys, set, plan, cursor, count: options.count ?? 500, dryRun: options.dryRun ?? false }), START);
}

async function members(key: string): Promise<{ member: string; score: string }[]> {
  const flat = await redis.zrange(key, 0, '-1', 'WITHSCORES');
  const out: { member: string; score: string }[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ member: flat[i]!, score: flat[i + 1]! });
  return out;
}

describe.each(['schedule', 'retry', 'dead'] as const)('re-routing the %s set', (set) => {
  it('S1: an empty set scans nothing', async () => {
    const keys = new SidekiqKeys(uniquePrefix());

    const run = await rerouteWholeSet(keys, set, mapping({ TestWorker: 'new_queue' }));

    expect(run.done).toBe(true);
    expect(run.counters).toMatchObject({ scanned: 0, moved: 0 });
  });

  it('S2: an empty mapping leaves every job where it is, counted as unmapped', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await seedGitLabFixture(keys.sortedSet(set));
    const before = await keyValueSnapshot(redis, keys.prefix);

    const run = await rerouteWholeSet(keys, set, mapping({}));

    expect(run.counters).toMatchObject({ scanned: 4, moved: 0, unmapped: 4 });
    expect(run.counters.unmappedClasses).toEqual({ TestWorker: 3, PostReceive: 1 });
    expect(await keyValueSnapshot(redis, keys.prefix)).toEqual(before);
  });

  it('S4: moves mapped jobs, changing only the queue value and keeping every score', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet(set);
    const original = await seedGitLabFixture(key);
    const scores = new Map((await members(key)).map((m) => [jidOf(m.member), m.score]));

    const run = await rerouteWholeSet(keys, set, mapping({ TestWorker: 'new_queue' }));

    expect(run.counters).toMatchObject({ scanned: 4, moved: 3, unmapped: 1, movedTo: { new_queue: 3 } });
    const after = await members(key);
    expect(after).toHaveLength(4);
    for (const { member, score } of after) {
      const before = original.find((m) => jidOf(m) === jidOf(member))!;
      expect(score).toBe(scores.get(jidOf(member)));
      const expectedQueue = before.includes('"PostReceive"') ? 'default' : 'new_queue';
      expect(member).toBe(before.replace('"queue":"default"', `"queue":"${expectedQueue}"`));
    }
  });

  it('S5/S6: several classes to several queues, then a re-run finds everything already routed', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet(set);
    await seedGitLabFixture(key);
    const plan = mapping({ TestWorker: 'new_queue', PostReceive: 'another_queue' });

    const first = await rerouteWholeSet(keys, set, plan);
    const second = await rerouteWholeSet(keys, set, plan);

    expect(first.counters).toMatchObject({ moved: 4, movedTo: { new_queue: 3, another_queue: 1 } });
    expect(second.counters).toMatchObject({ scanned: 4, moved: 0, alreadyRouted: 4 });
    expect((await members(key)).map((m) => queueOf(m.member)).sort()).toEqual(['another_queue', 'new_queue', 'new_queue', 'new_queue']);
  });

  it('S9: a cursor loop covers a 200-member set with small pages', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet(set);
    for (let i = 0; i < 200; i++) await redis.zadd(key, String(NOW + i), sidekiqPayload({ className: 'TestWorker', args: `[${i}]` }));

    const run = await rerouteWholeSet(keys, set, mapping({ TestWorker: 'new_queue' }), { count: 10 });

    expect(run.pages).toBeGreaterThan(1);
    expect(run.counters.moved).toBe(200);
    expect(new Set((await members(key)).map((m) => queueOf(m.member)))).toEqual(new Set(['new_queue']));
  });

  it('keeps the exact score text, also for Sidekiq 8 millisecond-era payloads and awkward doubles', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet(set);
    const scores = ['1700000000.1234567', '1795462903.8474274', '0.1', '1e+20', '-5'];
    for (const [i, score] of scores.entries()) {
      await redis.zadd(key, score, sidekiqPayload({ className: 'TestWorker', args: `[${i}]`, extra: '"enqueued_at":1795459303846' }));
    }
    // The score text as Redis prints it before the move is the text it must print after.
    const expected = (await members(key)).map((m) => jobEntry(key, withQueue(m.member, 'default', 'q2'), m.score));
    expect(expected).toHaveLength(scores.length);

    await rerouteWholeSet(keys, set, mapping({ TestWorker: 'q2' }));

    await expectExactJobs(redis, keys.prefix, expected);
  });
});

describe('set pages: sizes, namespaces and bad members', () => {
  it.each([0, 1, 128, 129, 50_000])('re-routes every member of a %i-member set exactly once', async (size) => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet('schedule');
    const pipeline = redis.pipeline();
    const expected: string[] = [];
    for (let i = 0; i < size; i++) {
      const payload = sidekiqPayload({ className: i % 2 ? 'A' : 'B', queue: 'old', args: `[${i}]` });
      pipeline.zadd(key, String(NOW + i), payload);
      expected.push(jobEntry(key, withQueue(payload, 'old', i % 2 ? 'a' : 'b'), NOW + i));
    }
    await pipeline.exec();

    const run = await rerouteWholeSet(keys, 'schedule', mapping({ A: 'a', B: 'b' }), { count: 1000 });

    expect(run.done).toBe(true);
    expect(run.counters.moved).toBe(size);
    expect(run.counters.vanished + run.counters.conflicts).toBe(0);
    await expectExactJobs(redis, keys.prefix, expected);
  });

  it('a set of 128 small members comes back whole in one ZSCAN page whatever COUNT says, 129 does not; a walk by score pages by count', async () => {
    // Redis keeps a zset of ≤ 128 members of ≤ 64 bytes as a listpack, which ZSCAN returns whole.
    // (Real payloads are longer, so real sets are skiplists and page normally; both must work.)
    // A set is read by ZSCAN after a walk by score gave way (`from`: entries of that score and up).
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet('retry');
    const tiny = (i: number) => `{"class":"A","queue":"q","jid":"${i}"}`;
    for (let i = 0; i < 128; i++) await redis.zadd(key, String(i), tiny(i));
    const scan = { scan: '0', from: '0' };

    const small = await rerouteSetPage({ redis, keys, set: 'retry', plan: mapping({ A: 'a' }), cursor: scan, count: 10, dryRun: true });
    const walked = await rerouteSetPage({ redis, keys, set: 'retry', plan: mapping({ A: 'a' }), cursor: '0', count: 10, dryRun: true });
    await redis.zadd(key, "999", tiny(999));
    const large = await rerouteSetPage({ redis, keys, set: 'retry', plan: mapping({ A: 'a' }), cursor: scan, count: 10, dryRun: true });

    expect(small).toMatchObject({ done: true, counters: { scanned: 128 } });
    expect(large.done).toBe(false);
    expect(large.counters.scanned).toBeLessThan(129);
    // A call of 10 that comes back full leaves its last score for the next call (its group may go on).
    expect(walked).toMatchObject({ done: false, counters: { scanned: 9 }, cursor: { scan: '0', after: '8' } });
  });

  it('works under a namespace and touches nothing outside it', async () => {
    const namespaced = new SidekiqKeys(`${uniquePrefix()}resque:gitlab:`);
    const bare = new SidekiqKeys(uniquePrefix());
    await seedGitLabFixture(namespaced.sortedSet('schedule'));
    await seedGitLabFixture(bare.sortedSet('schedule'));
    const bareBefore = await keyValueSnapshot(redis, bare.prefix);

    const run = await rerouteWholeSet(namespaced, 'schedule', mapping({ TestWorker: 'new_queue' }));

    expect(run.counters.moved).toBe(3);
    expect(await keyValueSnapshot(redis, bare.prefix)).toEqual(bareBefore);
  });

  it('leaves unparsable and unmapped members byte for byte, and reports them', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet('retry');
    const bad = [Buffer.from('{foo: 1}'), Buffer.from('"just a string"'), Buffer.from('{"queue":"default","args":[]}'), Buffer.from([0x7b, 0xff, 0x7d])];
    for (const [i, m] of bad.entries()) await redis.zadd(key, String(i), m);
    const gone = sidekiqPayload({ className: 'RemovedWorker', queue: 'default', jid: 'aaaaaaaaaaaaaaaaaaaaaaaa' });
    await redis.zadd(key, '10', gone);
    await redis.zadd(key, '11', sidekiqPayload({ className: 'TestWorker' }));
    const invalidUtf8 = Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]); // {"\xc3(":1}
    await redis.zadd(key, '12', invalidUtf8);

    const run = await rerouteWholeSet(keys, 'retry', mapping({ TestWorker: 'new_queue' }));

    expect(run.counters).toMatchObject({ scanned: 7, moved: 1, unmapped: 1, unparsable: 5 });
    expect(run.counters.samples.unmapped).toEqual([{ jid: 'aaaaaaaaaaaaaaaaaaaaaaaa', className: 'RemovedWorker', reason: expect.any(String) }]);
    expect(run.counters.samples.unparsable.map((s) => s.reason).sort()).toEqual(
      ['invalid-json', 'invalid-utf8', 'invalid-utf8', 'missing-class', 'not-an-object'].sort(),
    );
    const remaining = await redis.zrangeBuffer(key, 0, '-1');
    expect(remaining).toContainEqual(invalidUtf8);
    expect(remaining).toEqual(expect.arrayContaining([...bad, Buffer.from(gone)]));
  });

  it('a dry run counts what it would do and writes nothing', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await seedGitLabFixture(keys.sortedSet('schedule'));
    const before = await keyValueSnapshot(redis, keys.prefix);

    const run = await rerouteWholeSet(keys, 'schedule', mapping({ TestWorker: 'new_queue' }), { dryRun: true });

    expect(run.counters).toMatchObject({ moved: 3, movedTo: { new_queue: 3 }, unmapped: 1 });
    expect(await keyValueSnapshot(redis, keys.prefix)).toEqual(before);
  });

  it('renames move the entries of the renamed queue whatever their class', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet('schedule');
    await redis.zadd(key, '1', sidekiqPayload({ className: 'X', queue: 'old' }));
    await redis.zadd(key, '2', sidekiqPayload({ className: 'Y', queue: 'other' }));

    const run = await rerouteWholeSet(keys, 'schedule', renameRoutingPlan(new Map([['old', 'new']])));

    expect(run.counters).toMatchObject({ moved: 1, alreadyRouted: 1 });
    expect((await redis.zrange(key, 0, '-1')).map(queueOf).sort()).toEqual(['new', 'other']);
  });
});

describe("a run's record of its own rewrites, met again later in the same scan", () => {
  /** `size` entries of class A (to `a`) on `old`, the exact entries a complete re-route leaves. */
  async function seed(key: string, size: number): Promise<string[]> {
    const pipeline = redis.pipeline();
    const expected: string[] = [];
    for (let i = 0; i < size; i++) {
      const payload = sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` });
      pipeline.zadd(key, String(NOW + i), payload);
      expected.push(jobEntry(key, withQueue(payload, 'old', 'a'), NOW + i));
    }
    await pipeline.exec();
    return expected;
  }

  // A walk by score (the start) never meets a rewrite again; a ZSCAN (after a walk gave way) does.
  it.each([
    ['read by score', '0' as SetCursor | string],
    ['read by ZSCAN', { scan: '0', from: String(NOW) }],
  ])('counts every entry once: its rewrites seen again are neither scanned nor already routed, and the record goes at the end (%s)', async (how, start) => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet('schedule');
    const expected = await seed(key, 2_000);
    const record = rewrittenEntriesKey(keys.prefix, 'run-1', 'schedule');
    const request = { redis, keys, set: 'schedule' as const, plan: mapping({ A: 'a' }), count: 100, dryRun: false, luaBatch: 7, recordMovesAs: { runId: 'run-1' } };

    const first = await rerouteSetPage({ ...request, cursor: start });
    expect(first.done).toBe(false);
    // The record holds the digest of each rewrite of the page, until the scan is over.
    expect(await redis.scard(record)).toBe(first.counters.moved);
    expect(first.counters.moved).toBeGreaterThan(0);
    if (how === 'read by score') {
      // The page read again from its cursor (its answer lost, its task retried) meets only its
      // own rewrites: nothing counted twice, nothing called already routed.
      const again = await rerouteSetPage({ ...request, cursor: start });
      expect(again.counters).toMatchObject({ scanned: 0, moved: 0, alreadyRouted: 0, vanished: 0, conflicts: 0 });
    }
    const monitor = await redis.monitor();
    const removals: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      const command = args[0]!.toUpperCase();
      if (args[1] === record && (command === 'DEL' || command === 'UNLINK')) removals.push(command);
    });
    const rest = await drivePages((cursor) => rerouteSetPage({ ...request, cursor }), first.cursor);
    await redis.ping(); // MONITOR has seen every command sent before this one's reply
    monitor.disconnect();
    // Removed without blocking Redis: UNLINK frees its digests in the background; DEL would free
    // them all before replying, with every Sidekiq client waiting (set-page.ts says how long).
    expect(removals).toEqual(['UNLINK']);

    const total = (name: 'scanned' | 'moved' | 'alreadyRouted' | 'vanished' | 'conflicts' | 'uniqueLocked') => first.counters[name] + rest.counters[name];
    expect(rest.done).toBe(true);
    expect([total('scanned'), total('moved'), total('alreadyRouted'), total('vanished'), total('conflicts'), total('uniqueLocked')]).toEqual([2_000, 2_000, 0, 0, 0, 0]);
    expect({ ...first.counters.movedTo }).toEqual({ a: first.counters.moved });
    expect(await redis.exists(record)).toBe(0);
    await expectExactJobs(redis, keys.prefix, expected);

    // Without a run id (no record): a ZSCAN meets rewrites again (the interleaving this is about
    // happened), a walk by score none.
    const unrecorded = new SidekiqKeys(uniquePrefix());
    await seed(unrecorded.sortedSet('schedule'), 2_000);
    const plain = await drivePages((cursor) => rerouteSetPage({ ...request, keys: unrecorded, cursor, recordMovesAs: undefined }), setCursorOf(start));
    expect(plain.counters.moved).toBe(2_000);
    if (how === 'read by score') expect(plain.counters.alreadyRouted).toBe(0);
    else expect(plain.counters.alreadyRouted).toBeGreaterThan(0);
  });

  it('a record of another type fails the page before any of its entries moves (its lookup shares the round trip of the writes, whose guard refuses them)', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet('schedule');
    await seed(key, 300);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 300; i++) pipeline.zadd(key, String(NOW + i), sidekiqPayload({ className: 'A', queue: 'a', args: `["routed ${i}"]` }));
    await pipeline.exec();
    const record = rewrittenEntriesKey(keys.prefix, 'run-1', 'schedule');
    const request = { redis, keys, set: 'schedule' as const, plan: mapping({ A: 'a' }), count: 50, dryRun: false, recordMovesAs: { runId: 'run-1' } };
    const first = await rerouteSetPage({ ...request, cursor: '0' });
    expect(first.counters.moved).toBeGreaterThan(0);
    expect(first.counters.alreadyRouted).toBeGreaterThan(0);
    await redis.del(record);
    await redis.set(record, 'not a set');
    // The run's record of moves may be written ahead of the refused calls: a record of moves that
    // did not happen is harmless (move-record.ts). Everything else stays as it was.
    const unchanged = async () => Object.entries(await keyValueSnapshot(redis, keys.prefix)).filter(([k]) => !k.endsWith(':moves'));
    const before = await unchanged();

    await expect(rerouteSetPage({ ...request, cursor: first.cursor })).rejects.toThrow(/WRONGTYPE|holds a string/);

    expect(await unchanged()).toEqual(before);
    expect(before.map(([k]) => k)).toEqual([key, record]);
  });

  it("rewrites ActiveJob's queue_name with the queue unless told not to (the default)", async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet('schedule');
    const wrapper = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';
    const job = sidekiqPayload({ className: wrapper, wrapped: 'A', queue: 'old', args: '[{"job_class":"A","queue_name":"old","arguments":[]}]' });
    await redis.zadd(key, String(NOW), job);

    await rerouteSetPage({ redis, keys, set: 'schedule', plan: mapping({ A: 'new' }), cursor: '0', count: 10, dryRun: false });

    const moved = withQueue(job, 'old', 'new').replace('"queue_name":"old"', '"queue_name":"new"');
    await expectExactJobs(redis, keys.prefix, [jobEntry(key, moved, NOW)]);
  });

  it('counts entries already routed before the run as already routed, and keeps no record for a dry run or a one-page scan', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet('schedule');
    await seed(key, 300);
    const routed = sidekiqPayload({ className: 'A', queue: 'a', args: '["there already"]' });
    await redis.zadd(key, String(NOW), routed);
    const record = rewrittenEntriesKey(keys.prefix, 'run-1', 'schedule');
    const request = { redis, keys, set: 'schedule' as const, plan: mapping({ A: 'a' }), count: 50, recordMovesAs: { runId: 'run-1' } };

    const dry = await drivePages((cursor) => rerouteSetPage({ ...request, cursor, dryRun: true }), START);
    expect(dry.counters).toMatchObject({ scanned: 301, moved: 300, alreadyRouted: 1 });
    expect(await redis.exists(record)).toBe(0);

    const run = await drivePages((cursor) => rerouteSetPage({ ...request, cursor, dryRun: false }), START);
    expect(run.counters).toMatchObject({ scanned: 301, moved: 300, alreadyRouted: 1 });

    // A set of up to 128 entries comes back whole in its first page: nothing to record.
    const small = new SidekiqKeys(uniquePrefix());
    await seed(small.sortedSet('schedule'), 10);
    const once = await rerouteSetPage({ ...request, keys: small, cursor: '0', dryRun: false, luaBatch: 3 });
    expect(once).toMatchObject({ done: true, counters: { scanned: 10, moved: 10, alreadyRouted: 0, vanished: 0 } });
    expect(await redis.exists(rewrittenEntriesKey(small.prefix, 'run-1', 'schedule'))).toBe(0);
  });
});

describe('a set read by score: equal scores, and the poller taking due entries meanwhile', () => {
  // set-page.ts walks a set by score, whole groups of equal scores per call, and goes on by ZSCAN
  // (from that score up) when one group fills a call by itself: a rewrite keeps its score but
  // changes its place among equal scores, so no group may be split across calls.
  it('every entry moves exactly once with its score, none counted twice, while the poller takes the lowest between pages', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet('schedule');
    const entries: { payload: string; score: number }[] = [];
    // Groups of 3 equal scores (pages of 10 end inside them), 30 of one score (larger than a page),
    // then 40 distinct scores. Rewrites to `a` sort before their originals (`old`), to `zz` after:
    // both ways a group's order changes as the walk rewrites it.
    for (let i = 0; i < 60; i++) entries.push({ payload: sidekiqPayload({ className: i % 2 ? 'A' : 'Z', queue: 'old', args: `[${i}]` }), score: NOW + Math.floor(i / 3) });
    for (let i = 0; i < 30; i++) entries.push({ payload: sidekiqPayload({ className: i % 2 ? 'A' : 'Z', queue: 'old', args: `[${100 + i}]` }), score: NOW + 100 });
    for (let i = 0; i < 40; i++) entries.push({ payload: sidekiqPayload({ className: 'A', queue: 'old', args: `[${200 + i}]` }), score: NOW + 200 + i });
    for (const { payload, score } of entries) await redis.zadd(key, String(score), payload);
    const plan = mapping({ A: 'a', Z: 'zz' });
    const rewrite = (payload: string) => withQueue(payload, 'old', JSON.parse(payload).class === 'A' ? 'a' : 'zz');
    const taken: string[] = [];
    const reads: string[] = [];

    const run = await drivePages(async (cursor: SetCursor) => {
      // The poller: the lowest entry (ZRANGEBYSCORE … LIMIT 0 1, then ZREM), before every third page.
      if (reads.length % 3 === 0) {
        const [lowest] = await redis.zrange(key, '0', '0');
        if (lowest !== undefined && (await redis.zrem(key, lowest)) === 1) taken.push(lowest);
      }
      reads.push(cursor.from === undefined ? 'walk' : 'scan');
      return rerouteSetPage({ redis, keys, set: 'schedule', plan, cursor, count: 10, dryRun: false, recordMovesAs: { runId: 'ties-1' } });
    }, START);

    expect(run.done).toBe(true);
    expect(reads).toContain('scan'); // the group of 30 made the walk give way to a scan
    expect(reads[0]).toBe('walk');
    // Every entry once: taken by the poller (as it was, or as rewritten), or in the set rewritten with its score.
    const left = await members(key);
    expect(left.length + taken.length).toBe(entries.length);
    for (const { payload, score } of entries) {
      const here = left.filter((m) => m.member === payload || m.member === rewrite(payload));
      const gone = taken.filter((m) => m === payload || m === rewrite(payload));
      expect(here.length + gone.length, payload).toBe(1);
      if (here.length === 1) expect(here[0]).toEqual({ member: rewrite(payload), score: String(score) });
    }
    // Counted once each: the rewrites met again (by the scan) are neither scanned nor already routed.
    expect(run.counters.alreadyRouted).toBe(0);
    expect(run.counters.moved + run.counters.vanished).toBe(run.counters.scanned);
    expect(run.counters.scanned).toBeLessThanOrEqual(entries.length);
    expect(run.counters.scanned).toBeGreaterThanOrEqual(entries.length - taken.length);
    expect(await redis.exists(rewrittenEntriesKey(keys.prefix, 'ties-1', 'schedule'))).toBe(0);
  });

  it('infinite scores (Redis writes them `inf` and `-inf`): a group of them larger than a page is read by ZSCAN from `inf`, every entry moved once', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet('dead');
    const entries: { payload: string; score: string }[] = [];
    for (let i = 0; i < 5; i++) entries.push({ payload: sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }), score: '-inf' });
    for (let i = 0; i < 20; i++) entries.push({ payload: sidekiqPayload({ className: 'A', queue: 'old', args: `[${100 + i}]` }), score: String(NOW + i) });
    for (let i = 0; i < 150; i++) entries.push({ payload: sidekiqPayload({ className: 'A', queue: 'old', args: `[${200 + i}]` }), score: 'inf' });
    for (const { payload, score } of entries) await redis.zadd(key, score, payload);

    const run = await drivePages((cursor: SetCursor) => rerouteSetPage({ redis, keys, set: 'dead', plan: mapping({ A: 'a' }), cursor, count: 10, dryRun: false, recordMovesAs: { runId: 'inf-1' } }), START);

    expect(run.counters).toMatchObject({ scanned: 175, moved: 175, alreadyRouted: 0, vanished: 0, conflicts: 0 });
    expect((await members(key)).sort((x, y) => x.member.localeCompare(y.member))).toEqual(
      entries.map(({ payload, score }) => ({ member: withQueue(payload, 'old', 'a'), score })).sort((x, y) => x.member.localeCompare(y.member)),
    );
  });
});
