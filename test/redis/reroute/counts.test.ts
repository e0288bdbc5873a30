// What a run reports for the cases the other tests do not reach — jobs kept on a live queue,
// unique-locked jobs, jobs taken by Sidekiq between our read and our move, a rewrite that
// already exists — each checked against the exact jobs left in Redis, not the counts alone.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { drivePages } from '../../../core/reroute/drive-pages.js';
import { rerouteQueueSlice, type QueueCursor } from '../../../core/reroute/queue-slice.js';
import { rerouteSet, rerouteSetPage, type SetCursor } from '../../../core/reroute/set-page.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan, type RoutingPlan } from '../../../core/routing/routing-plan.js';
import { expectExactJobs, jobEntry, withQueue } from '../../support/exact-jobs.js';
import { interferingRedis, type RedisCall } from '../../support/interfering-redis.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();
const LOCKED = '"lock_digest":"uniquejobs:0123abcd"';

function drainQueue(keys: SidekiqKeys, plan: RoutingPlan, o: { unmapped?: 'quarantine'; client?: typeof redis } = {}) {
  return drivePages(
    (cursor) => rerouteQueueSlice({ redis: o.client ?? redis, keys, plan, queue: 'old', cursor, sliceSize: 100, unmapped: o.unmapped, dryRun: false }),
    null as QueueCursor | null,
  );
}

function rerouteRetry(keys: SidekiqKeys, plan: RoutingPlan, client: typeof redis = redis) {
  return drivePages((cursor) => rerouteSetPage({ redis: client, keys, plan, set: 'retry', cursor, count: 100, dryRun: false }), { scan: '0' } as SetCursor);
}

/** A client that runs `act` once, just before the first pipeline of Lua moves reaches Redis. */
function beforeTheMoves(act: () => Promise<unknown>) {
  let done = false;
  return interferingRedis(redis, async (call: RedisCall) => {
    if (done || call.command !== 'pipeline' || call.scripts.length === 0) return;
    done = true;
    await act();
  });
}

describe('re-route counts, against the jobs left in Redis', () => {
  it('with --unmapped leave, jobs left on a live queue are not counted as kept there (only a quarantine would have taken them)', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const mapped = sidekiqPayload({ className: 'A', queue: 'old' });
    const unmapped = sidekiqPayload({ className: 'Gone', queue: 'old' });
    for (const p of [mapped, unmapped, 'not json']) await redis.lpush(keys.queue('old'), p);

    const run = await drainQueue(keys, classRoutingPlan(new Map([['A', 'new']]), ['old']));

    expect(run.counters).toMatchObject({ scanned: 3, moved: 1, unmapped: 1, unparsable: 1, quarantined: 0, keptOnLiveQueues: 0 });
    await expectExactJobs(redis, keys.prefix, [
      jobEntry(String(keys.queue('old')), unmapped),
      jobEntry(String(keys.queue('old')), 'not json'),
      jobEntry(String(keys.queue('new')), withQueue(mapped, 'old', 'new')),
    ]);
  });

  it('--unmapped quarantine keeps unmapped and unparsable jobs on a live queue, counted as kept there', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const mapped = sidekiqPayload({ className: 'A', queue: 'old' });
    const unmapped = sidekiqPayload({ className: 'Gone', queue: 'old' });
    for (const p of [mapped, unmapped, 'not json']) await redis.lpush(keys.queue('old'), p);

    const run = await drainQueue(keys, classRoutingPlan(new Map([['A', 'new']]), ['old']), { unmapped: 'quarantine' });

    expect(run.counters).toMatchObject({ scanned: 3, moved: 1, unmapped: 1, unparsable: 1, quarantined: 0, keptOnLiveQueues: 2 });
    expect(run.counters.unmappedClasses).toEqual({ Gone: 1 });
    expect(run.counters.quarantinedClasses).toEqual({});
    await expectExactJobs(redis, keys.prefix, [
      jobEntry(String(keys.queue('old')), unmapped),
      jobEntry(String(keys.queue('old')), 'not json'),
      jobEntry(String(keys.queue('new')), withQueue(mapped, 'old', 'new')),
    ]);
  });

  it('--unmapped quarantine on a queue nothing routes to tallies the quarantined classes, not the unmapped ones', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const unmapped = sidekiqPayload({ className: 'Gone', queue: 'old' });
    for (const p of [unmapped, 'not json']) await redis.lpush(keys.queue('old'), p);

    const run = await drainQueue(keys, classRoutingPlan(new Map([['A', 'new']])), { unmapped: 'quarantine' });

    expect(run.counters).toMatchObject({ scanned: 2, moved: 0, unmapped: 1, unparsable: 1, quarantined: 2, keptOnLiveQueues: 0 });
    expect(run.counters.quarantinedClasses).toEqual({ Gone: 1 });
    expect(run.counters.unmappedClasses).toEqual({});
    expect(run.counters.movedTo).toEqual({});
    // The quarantine list is outside queue:* (and outside what jobsIn reads): read it by name.
    expect((await redis.lrange(keys.quarantine('old'), 0, -1)).reverse()).toEqual([unmapped, 'not json']);
    await expectExactJobs(redis, keys.prefix, []);
  });

  it('counts moved jobs that carry a unique-jobs digest, in queues and in sets, and not the ones left in place', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const queued = [sidekiqPayload({ className: 'A', queue: 'old', extra: LOCKED }), sidekiqPayload({ className: 'A', queue: 'old' })];
    const stays = sidekiqPayload({ className: 'Gone', queue: 'old', extra: LOCKED });
    for (const p of [...queued, stays]) await redis.lpush(keys.queue('old'), p);
    const retried = [sidekiqPayload({ className: 'A', queue: 'old', extra: LOCKED }), sidekiqPayload({ className: 'A', queue: 'old', extra: LOCKED })];
    for (const [i, p] of retried.entries()) await redis.zadd(keys.sortedSet('retry'), String(1000 + i), p);
    const plan = classRoutingPlan(new Map([['A', 'new']]));

    const queueRun = await drainQueue(keys, plan);
    const setRun = await rerouteRetry(keys, plan);

    expect(queueRun.counters).toMatchObject({ moved: 2, unmapped: 1, uniqueLocked: 1 });
    expect(setRun.counters).toMatchObject({ moved: 2, uniqueLocked: 2 });
    await expectExactJobs(redis, keys.prefix, [
      ...queued.map((p) => jobEntry(String(keys.queue('new')), withQueue(p, 'old', 'new'))),
      jobEntry(String(keys.queue('old')), stays),
      ...retried.map((p, i) => jobEntry(String(keys.sortedSet('retry')), withQueue(p, 'old', 'new'), 1000 + i)),
    ]);
  });

  it('a queued job a worker takes between our read and our move is counted as vanished, and the rest move', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = [1, 2, 3].map((n) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${n}]` }));
    for (const p of seeded) await redis.lpush(keys.queue('old'), p);
    let taken: string | null = null;
    const client = beforeTheMoves(async () => (taken = await redis.rpop(keys.queue('old'))));

    const run = await drainQueue(keys, classRoutingPlan(new Map([['A', 'new']])), { client });

    expect(taken).toBe(seeded[0]);
    expect(run.counters).toMatchObject({ scanned: 3, moved: 2, vanished: 1, movedTo: { new: 2 } });
    await expectExactJobs(redis, keys.prefix, seeded.slice(1).map((p) => jobEntry(String(keys.queue('new')), withQueue(p, 'old', 'new'))));
  });

  it('a set entry the poller takes between our read and our move is counted as vanished, and the rest move with their scores', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = [1, 2, 3].map((n) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${n}]` }));
    for (const [i, p] of seeded.entries()) await redis.zadd(keys.sortedSet('retry'), String(1000 + i), p);
    const client = beforeTheMoves(() => redis.zrem(keys.sortedSet('retry'), seeded[1]!));

    const run = await rerouteRetry(keys, classRoutingPlan(new Map([['A', 'new']])), client);

    expect(run.counters).toMatchObject({ scanned: 3, moved: 2, vanished: 1, conflicts: 0, movedTo: { new: 2 } });
    await expectExactJobs(redis, keys.prefix, [0, 2].map((i) => jobEntry(String(keys.sortedSet('retry')), withQueue(seeded[i]!, 'old', 'new'), 1000 + i)));
  });

  it('a destination whose every entry the poller took between our read and our move is not named in movedTo', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const toNew = [1, 2].map((n) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${n}]` }));
    const toOther = [3, 4].map((n) => sidekiqPayload({ className: 'B', queue: 'old', args: `[${n}]` }));
    for (const [i, p] of [...toNew, ...toOther].entries()) await redis.zadd(keys.sortedSet('retry'), String(1000 + i), p);
    const client = beforeTheMoves(() => redis.zrem(keys.sortedSet('retry'), ...toOther));

    const run = await rerouteRetry(keys, classRoutingPlan(new Map([['A', 'new'], ['B', 'other']])), client);

    expect(run.counters).toMatchObject({ scanned: 4, moved: 2, vanished: 2 });
    expect(run.counters.movedTo).toEqual({ new: 2 });
    await expectExactJobs(redis, keys.prefix, toNew.map((p, i) => jobEntry(String(keys.sortedSet('retry')), withQueue(p, 'old', 'new'), 1000 + i)));
  });

  it('reading ahead reads each page of a set once and nothing past its last page', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = Array.from({ length: 300 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    for (const [i, p] of seeded.entries()) await redis.zadd(keys.sortedSet('retry'), String(1000 + i), p);
    const bounds: string[] = [];
    const client = interferingRedis(redis, () => {});
    const scanning = new Proxy(client, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'pipeline') return value;
        // A read's calls are sent at once, in one pipeline (score-walk-read.ts), its first from offset 0.
        return (...args: unknown[]) => {
          const pipeline = (value as (...a: unknown[]) => ReturnType<Redis['pipeline']>).apply(target, args);
          const exec = pipeline.exec.bind(pipeline);
          pipeline.exec = (...execArgs: Parameters<typeof exec>) => {
            for (const c of (pipeline as unknown as { _queue: { name: string; args: unknown[] }[] })._queue) {
              const a = c.args.map(String);
              if (c.name === 'zrange' && a.includes('BYSCORE') && a[a.indexOf('LIMIT') + 1] === '0') bounds.push(a[1]!); // not the size probe's ZRANGE 0 4
            }
            return exec(...execArgs);
          };
          return pipeline;
        };
      },
    });

    const run = await rerouteSet({ redis: scanning, keys, plan: classRoutingPlan(new Map([['A', 'new']])), set: 'retry', count: 100, dryRun: false, recordMovesAs: { runId: 'reads-1' } });

    expect(run.done).toBe(true);
    expect(run.counters).toMatchObject({ scanned: 300, moved: 300 });
    // One read per page (a walk by score, pages of 100 in one call each), the first from the
    // lowest score, and none after the page that found the end (a read being the calls sent at once).
    expect(bounds.length).toBe(run.pages);
    expect(bounds[0]).toBe('-inf');
    expect(new Set(bounds).size).toBe(bounds.length);
    await expectExactJobs(redis, keys.prefix, seeded.map((p, i) => jobEntry(String(keys.sortedSet('retry')), withQueue(p, 'old', 'new'), 1000 + i)));
  });

  it('a set entry whose rewrite is already in the set is left as it was and counted as a conflict', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const original = sidekiqPayload({ className: 'A', queue: 'old' });
    const rewrite = withQueue(original, 'old', 'new');
    await redis.zadd(keys.sortedSet('retry'), '1000', original, '2000', rewrite);

    const run = await rerouteRetry(keys, classRoutingPlan(new Map([['A', 'new']])));

    expect(run.counters).toMatchObject({ scanned: 2, moved: 0, alreadyRouted: 1, conflicts: 1, vanished: 0 });
    expect(run.counters.movedTo).toEqual({});
    await expectExactJobs(redis, keys.prefix, [jobEntry(String(keys.sortedSet('retry')), original, 1000), jobEntry(String(keys.sortedSet('retry')), rewrite, 2000)]);
  });
});
