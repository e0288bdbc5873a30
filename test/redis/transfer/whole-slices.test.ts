// Whole-queue and whole-set transfers slice by slice (queue-transfer.ts, set-transfer.ts): what
// each slice moved (every key on both servers), what it counted (claimed, resumed, where it would
// write in a dry run, what it left), when it says it is done, and the words of a failure.
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan, renameRoutingPlan } from '../../../core/routing/routing-plan.js';
import { transferQueueSlice, type QueueTransferCursor, type QueueTransferRequest } from '../../../core/transfer/queue-transfer.js';
import { transferSetSlice, type SetTransferCursor, type SetTransferRequest } from '../../../core/transfer/set-transfer.js';
import { jobEntry, jobsIn, keyValueSnapshot, ourKeys } from '../../support/exact-jobs.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const job = (name: string, className = 'A', queue = 'default') => sidekiqPayload({ className, queue, args: `["${name}"]`, jid: Buffer.from(name.padEnd(12, '.')).toString('hex') });
const activeJob = (name: string, queue = 'default') =>
  sidekiqPayload({ className: 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper', wrapped: 'SomeJob', queue, args: `[{"job_class":"SomeJob","queue_name":"${queue}","arguments":["${name}"]}]`, jid: Buffer.from(name.padEnd(12, '.')).toString('hex') });

const base = () => ({ source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'slices', dryRun: false, sliceSize: 2 });
const queueSlice = (request: Partial<QueueTransferRequest> & Pick<QueueTransferRequest, 'queue' | 'cursor'>) => transferQueueSlice({ ...base(), ...request });
const setSlice = (request: Partial<SetTransferRequest> & Pick<SetTransferRequest, 'set' | 'cursor'>) => transferSetSlice({ ...base(), ...request });

/** What the source and the target hold (every key, bookkeeping left out), and both servers' whole contents. */
const state = async () => ({ source: await jobsIn(redis.source()), target: await jobsIn(redis.target()) });
const snapshots = async () => ({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) });

describe('a whole-queue transfer, slice by slice', () => {
  it('dry run: each slice counts the next jobs by position and where each would go; nothing is written', async () => {
    const plan = classRoutingPlan(new Map([['A', 'x'], ['B', 'y']]));
    for (const [name, cls] of [['a0', 'A'], ['b1', 'B'], ['a2', 'A'], ['c3', 'C'], ['b4', 'B']] as const) await redis.source().lpush('queue:default', job(name, cls));
    const before = await snapshots();
    let cursor: QueueTransferCursor | null = null;
    const slices = [];
    for (let i = 0; i < 4; i++) {
      const r = await queueSlice({ dryRun: true, queue: 'default', cursor, plan });
      slices.push({ done: r.done, claimed: r.counters.claimed, written: r.counters.written, writtenTo: r.counters.writtenTo });
      cursor = r.cursor;
      if (r.done) break;
    }
    // Newest first (front placement reads from the head): b4 c3, then a2 b1, then a0.
    expect(slices).toEqual([
      { done: false, claimed: 2, written: 2, writtenTo: { y: 1, default: 1 } },
      { done: false, claimed: 2, written: 2, writtenTo: { x: 1, y: 1 } },
      { done: true, claimed: 1, written: 1, writtenTo: { x: 1 } },
    ]);
    expect(await snapshots()).toEqual(before);
  });

  it('dry run of a queue empty at its start: nothing counted, even when a producer pushes meanwhile', async () => {
    const source = interferingRedis(redis.source(), async (call) => {
      if (call.index === 1) await redis.source().lpush('queue:default', job('late'));
    });
    const r = await queueSlice({ source, dryRun: true, queue: 'default', cursor: null });
    expect(r).toMatchObject({ done: true, cursor: { limit: 0, claimed: 0 }, counters: { claimed: 0, written: 0 } });
    expect(r.counters.writtenTo).toEqual({});
  });

  it('front: a producer pushes between slices; each slice takes the newest of the jobs held at the start, the pushed ones stay and are reported at the end', async () => {
    const names = ['j0', 'j1', 'j2', 'j3', 'j4', 'j5'];
    for (const n of names) await redis.source().lpush('queue:default', job(n));
    let cursor: QueueTransferCursor | null = null;
    const results = [];
    for (const push of ['p1', 'p2', null]) {
      const r = await queueSlice({ queue: 'default', cursor });
      results.push({ done: r.done, claimed: r.counters.claimed, leftOnSource: r.counters.leftOnSource, target: (await redis.target().lrange('queue:default', 0, -1)).reverse() });
      cursor = r.cursor;
      if (push) await redis.source().lpush('queue:default', job(push));
    }
    expect(results).toEqual([
      { done: false, claimed: 2, leftOnSource: 0, target: [job('j4'), job('j5')] },
      { done: false, claimed: 2, leftOnSource: 0, target: [job('j2'), job('j3'), job('j4'), job('j5')] },
      { done: true, claimed: 2, leftOnSource: 2, target: names.map((n) => job(n)) },
    ]);
    expect((await redis.source().lrange('queue:default', 0, -1)).reverse()).toEqual([job('p1'), job('p2')]);
    expect(await ourKeys(redis.source())).toEqual([]);
  });

  it('a slice that died after its claim: the next one writes the jobs left in flight first, once, and counts them as resumed', async () => {
    for (const n of ['j0', 'j1', 'j2', 'j3', 'j4']) await redis.source().lpush('queue:default', job(n));
    const dying = interferingRedis(redis.target(), () => {
      throw new SimulatedCrash('died before writing');
    });
    await expect(queueSlice({ target: dying, queue: 'default', cursor: null, placement: 'append' })).rejects.toThrow();
    expect(await redis.source().lrange('sidekiq-migrate:slices:inflight:queue:default', 0, -1)).toEqual([job('j0'), job('j1')]);

    const r = await queueSlice({ queue: 'default', cursor: null, placement: 'append' });

    expect(r.counters).toMatchObject({ claimed: 2, resumed: 2, written: 4, duplicates: 0 });
    expect(r.done).toBe(false);
    expect(await state()).toEqual({ source: [jobEntry('queue:default', job('j4'))], target: ['j0', 'j1', 'j2', 'j3'].map((n) => jobEntry('queue:default', job(n))).sort() });
    // Nothing in flight; the pass (not done) keeps its count of originals: 5, less the 2 and 2
    // claimed, and its mark, the newest original (claimQueueJobs-14.lua KEYS[7]), as the first attempt took it.
    expect(await ourKeys(redis.source())).toEqual(['sidekiq-migrate:slices:originals:queue:default']);
    expect(await redis.source().get('sidekiq-migrate:slices:originals:queue:default')).toBe(`1 \n${job('j4')}`);
  });

  it('names the queue it failed on', async () => {
    await redis.source().set('queue:default', 'not a list');
    await expect(queueSlice({ queue: 'default', cursor: { limit: 3, claimed: 0 } })).rejects.toThrow(/^Transferring queue:default: /);
  });

  it("re-routes ActiveJob's queue_name too unless told not to", async () => {
    await redis.source().lpush('queue:default', activeJob('aj'));
    await queueSlice({ queue: 'default', cursor: null, plan: renameRoutingPlan(new Map([['default', 'new']])) });
    expect(await state()).toEqual({ source: [], target: [jobEntry('queue:new', activeJob('aj', 'new'))] });
  });
  it('append: the last slice takes only what is left of the jobs held at the start, not one a producer pushed since', async () => {
    for (const n of ['j0', 'j1', 'j2', 'j3', 'j4']) await redis.source().lpush('queue:default', job(n));
    let cursor: QueueTransferCursor | null = null;
    const claims = [];
    for (let i = 0; i < 4; i++) {
      const r = await queueSlice({ queue: 'default', cursor, placement: 'append' });
      claims.push([r.counters.claimed, r.done]);
      cursor = r.cursor;
      if (i === 0) await redis.source().lpush('queue:default', job('p'));
      if (r.done) break;
    }
    expect(claims).toEqual([[2, false], [2, false], [1, true]]);
    expect(await state()).toEqual({ source: [jobEntry('queue:default', job('p'))], target: ['j0', 'j1', 'j2', 'j3', 'j4'].map((n) => jobEntry('queue:default', job(n))).sort() });
  });

  it('dry run: fetchers took jobs meanwhile; a slice that reads fewer than it asked for ends the pass', async () => {
    for (const n of ['j0', 'j1', 'j2', 'j3', 'j4']) await redis.source().lpush('queue:default', job(n));
    const first = await queueSlice({ dryRun: true, queue: 'default', cursor: null });
    expect(first).toMatchObject({ done: false, counters: { claimed: 2 } });
    await redis.source().rpop('queue:default', 2);
    const second = await queueSlice({ dryRun: true, queue: 'default', cursor: first.cursor });
    expect(second).toMatchObject({ done: true, cursor: { limit: 5, claimed: 3 }, counters: { claimed: 1 } });
  });
});

describe("an append pass's mark, the newest original (claimQueueJobs-14.lua KEYS[7])", () => {
  const ORIGINALS = 'sidekiq-migrate:slices:originals:queue:default';
  /** Slices until done, `between(n)` run after slice n (1-based); the slices' claims and what each left. */
  async function pass(between: (n: number) => Promise<void>, cursor: QueueTransferCursor | null = null) {
    const slices = [];
    for (let n = 1; n <= 20; n++) {
      const r = await queueSlice({ queue: 'default', cursor, placement: 'append' });
      slices.push({ claimed: r.counters.claimed, done: r.done, leftOnSource: r.counters.leftOnSource });
      cursor = r.cursor;
      if (r.done) break;
      await between(n);
    }
    return slices;
  }

  it('jobs pushed back at the tail, more than a slice of them, when the count says one slice is left: every original moved, and every job pushed back', async () => {
    const originals = ['j0', 'j1', 'j2', 'j3', 'j4'];
    for (const n of originals) await redis.source().lpush('queue:default', job(n));
    const back = ['r0', 'r1', 'r2', 'r3', 'r4'];
    // After the second slice the count says 1 original is left; 5 are pushed back under it, and a producer pushes p0.
    const slices = await pass(async (n) => {
      if (n === 2) await redis.source().multi().rpush('queue:default', ...back.map((b) => job(b))).lpush('queue:default', job('p0')).exec();
    });
    expect(await state()).toEqual({ source: [jobEntry('queue:default', job('p0'))], target: [...originals, ...back].map((n) => jobEntry('queue:default', job(n))).sort() });
    // The third slice asks for the 1 its cursor counts, and the claim finds the mark 6 jobs up: the pass goes on.
    expect(slices.map((s) => s.claimed)).toEqual([2, 2, 1, 2, 2, 1]);
    expect(slices.at(-1)).toMatchObject({ done: true, leftOnSource: 1 });
    expect(await ourKeys(redis.source())).toEqual([]);
  });

  it('the mark fetched by a worker, with every original below it: the pass ends there and claims none of what a producer pushed', async () => {
    for (const n of ['j0', 'j1', 'j2', 'j3', 'j4', 'j5']) await redis.source().lpush('queue:default', job(n));
    const fetched: string[] = [];
    const slices = await pass(async (n) => {
      if (n !== 1) return;
      // A worker takes the 4 originals left (BRPOP), then a producer pushes 3: the count still says 4.
      for (let i = 0; i < 4; i++) fetched.push((await redis.source().rpop('queue:default'))!);
      await redis.source().lpush('queue:default', job('p0'), job('p1'), job('p2'));
    });
    expect(fetched).toEqual(['j2', 'j3', 'j4', 'j5'].map((n) => job(n)));
    expect(await state()).toEqual({ source: ['p0', 'p1', 'p2'].map((n) => jobEntry('queue:default', job(n))).sort(), target: ['j0', 'j1'].map((n) => jobEntry('queue:default', job(n))).sort() });
    // The count still says 4 originals are left; the claim finds its mark nowhere: the pass is done.
    expect(slices).toEqual([
      { claimed: 2, done: false, leftOnSource: 0 },
      { claimed: 0, done: true, leftOnSource: 3 },
    ]);
    expect(await ourKeys(redis.source())).toEqual([]);
  });

  it("a pass begun by the version before (its record holds a count and no mark) goes on by the count, as it did", async () => {
    for (const n of ['j0', 'j1', 'j2', 'j3']) await redis.source().lpush('queue:default', job(n));
    // The earlier version claimed j0 and j1 and kept '2 <generation>'; then 2 jobs were pushed back at the tail.
    await redis.source().rpop('queue:default', 2);
    await redis.source().set(ORIGINALS, '2 ');
    await redis.source().rpush('queue:default', job('r0'), job('r1'));
    const slices = await pass(async () => {}, { limit: 4, claimed: 2, kept: true });
    expect(slices.map((s) => s.claimed)).toEqual([2]);
    expect(await state()).toEqual({ source: ['j2', 'j3'].map((n) => jobEntry('queue:default', job(n))).sort(), target: ['r0', 'r1'].map((n) => jobEntry('queue:default', job(n))).sort() });
    expect(await ourKeys(redis.source())).toEqual([]);
  });
});

describe('a whole-set transfer, slice by slice', () => {
  // Before audit-counts the next slice read by rank (the entries counted so far) and so counted
  // nothing here: e2 and e3, there throughout, were skipped (set-dry-run-read.ts).
  it('dry run: each slice counts the entries after the last one it counted; the poller taking those counted meanwhile skips none', async () => {
    const entries = ['e0', 'e1', 'e2', 'e3'].map((n, i) => [`${1795462903 + i}.5`, job(n)] as const);
    for (const [score, p] of entries) await redis.source().zadd('schedule', score, p);
    let cursor: SetTransferCursor | null = null;
    const first = await setSlice({ dryRun: true, set: 'schedule', cursor });
    cursor = first.cursor;
    expect(first).toMatchObject({ done: false, counters: { claimed: 2, written: 2, writtenTo: { schedule: 2 } } });
    // The poller takes the two due soonest (those counted): the ranks of the others move down.
    await redis.source().zpopmin('schedule', 2);
    const before = await snapshots();
    const second = await setSlice({ dryRun: true, set: 'schedule', cursor });
    expect(second.done).toBe(true);
    expect(second.counters).toMatchObject({ claimed: 2, written: 2, writtenTo: { schedule: 2 } });
    expect(await snapshots()).toEqual(before);
  });

  it('dry run of a set empty at its start: nothing counted, even when Sidekiq adds an entry meanwhile', async () => {
    const source = interferingRedis(redis.source(), async (call) => {
      if (call.index === 1) await redis.source().zadd('retry', '5', job('late'));
    });
    const r = await setSlice({ source, dryRun: true, set: 'retry', cursor: null });
    expect(r).toMatchObject({ done: true, cursor: { limit: 0, claimed: 0 }, counters: { claimed: 0, written: 0 } });
    expect(r.counters.writtenTo).toEqual({});
  });

  it('a slice that died after its claim: the next one writes the entries left in flight first, once, with their scores, and counts them as resumed', async () => {
    const entries = ['e0', 'e1', 'e2', 'e3', 'e4'].map((n, i) => [`${1795462903 + i}.8474274`, job(n)] as const);
    for (const [score, p] of entries) await redis.source().zadd('retry', score, p);
    const dying = interferingRedis(redis.target(), () => {
      throw new SimulatedCrash('died before writing');
    });
    await expect(setSlice({ target: dying, set: 'retry', cursor: null })).rejects.toThrow();

    const r = await setSlice({ set: 'retry', cursor: null });

    expect(r.counters).toMatchObject({ claimed: 2, resumed: 2, written: 4, duplicates: 0 });
    expect(r.done).toBe(false);
    expect(await state()).toEqual({
      source: [jobEntry('retry', entries[4]![1], entries[4]![0])],
      target: entries.slice(0, 4).map(([score, p]) => jobEntry('retry', p, score)).sort(),
    });
    // Nothing in flight; the pass (not done) keeps its count: 5, less the 2 and 2 claimed.
    expect(await ourKeys(redis.source())).toEqual(['sidekiq-migrate:slices:originals:retry']);
    expect(await redis.source().get('sidekiq-migrate:slices:originals:retry')).toBe('1 ');
  });

  it('names the set it failed on', async () => {
    await redis.source().set('retry', 'not a sorted set');
    await expect(setSlice({ set: 'retry', cursor: { limit: 3, claimed: 0 } })).rejects.toThrow(/^Transferring retry: /);
  });

  it("re-routes ActiveJob's queue_name too unless told not to", async () => {
    await redis.source().zadd('schedule', '7.25', activeJob('aj'));
    await setSlice({ set: 'schedule', cursor: null, plan: renameRoutingPlan(new Map([['default', 'new']])) });
    expect(await state()).toEqual({ source: [], target: [jobEntry('schedule', activeJob('aj', 'new'), '7.25')] });
  });
  it('a set of four, slices of two: done after the second slice, every entry moved with its score', async () => {
    const entries = ['e0', 'e1', 'e2', 'e3'].map((n, i) => [`${1795462903 + i}.5`, job(n)] as const);
    for (const [score, p] of entries) await redis.source().zadd('schedule', score, p);
    const first = await setSlice({ set: 'schedule', cursor: null });
    const second = await setSlice({ set: 'schedule', cursor: first.cursor });
    expect([first.done, second.done]).toEqual([false, true]);
    expect(await state()).toEqual({ source: [], target: entries.map(([score, p]) => jobEntry('schedule', p, score)).sort() });
  });

  it('the last slice claims only what is left of the entries the set held at the start, not one added since', async () => {
    const entries = ['e0', 'e1', 'e2', 'e3', 'e4'].map((n, i) => [`${1795462903 + i}.5`, job(n)] as const);
    for (const [score, p] of entries) await redis.source().zadd('retry', score, p);
    const first = await setSlice({ set: 'retry', cursor: null });
    const second = await setSlice({ set: 'retry', cursor: first.cursor });
    // A job fails meanwhile and lands in retry, due after all the others.
    await redis.source().zadd('retry', '1895462903.5', job('late'));
    const third = await setSlice({ set: 'retry', cursor: second.cursor });
    expect([first, second, third].map((r) => [r.counters.claimed, r.done])).toEqual([[2, false], [2, false], [1, true]]);
    // The one added since is reported as still on the source when the pass ended.
    expect([first, second, third].map((r) => r.counters.leftOnSource)).toEqual([0, 0, 1]);
    expect(await state()).toEqual({ source: [jobEntry('retry', job('late'), '1895462903.5')], target: entries.map(([score, p]) => jobEntry('retry', p, score)).sort() });
  });

  it('what a pass leaves counts the entries added since, not the conflicts it gave back', async () => {
    const entries = ['e0', 'e1', 'e2'].map((n, i) => [`${1795462903 + i}.5`, job(n)] as const);
    for (const [score, p] of entries) await redis.source().zadd('retry', score, p);
    // e1's bytes are already in the target set: a conflict, given back to the source set.
    await redis.target().zadd('retry', '1', job('e1'));
    const first = await setSlice({ set: 'retry', cursor: null, sliceSize: 3 });
    await redis.source().zadd('retry', '1895462903.5', job('late'));
    const second = await setSlice({ set: 'retry', cursor: first.cursor, sliceSize: 3 });

    expect([first, second].map((r) => [r.counters.claimed, r.counters.conflicts, r.done, r.counters.leftOnSource])).toEqual([
      [3, 1, true, 0],
      [0, 0, true, 1],
    ]);
    expect(await state()).toEqual({
      source: [jobEntry('retry', job('e1'), entries[1]![0]), jobEntry('retry', job('late'), '1895462903.5')].sort(),
      target: [jobEntry('retry', job('e0'), entries[0]![0]), jobEntry('retry', job('e1'), '1'), jobEntry('retry', job('e2'), entries[2]![0])].sort(),
    });
  });
});

