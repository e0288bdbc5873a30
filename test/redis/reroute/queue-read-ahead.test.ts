// What a queue pass must keep whether or not it reads its next slice while this slice's Lua calls
// run (issue #18; the read ahead was tried in audit-readahead and not kept, not measured faster:
// bench/README.md): every job exactly once while producers push and fetchers pop during the pass,
// and no read sent for a slice past the task's page limit.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { rerouteQueue } from '../../../core/reroute/queue-slice.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { recording, loadScripts } from '../../support/recording-redis.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { connectShared, sharedRedisUrl, uniquePrefix } from '../../support/redis.js';
import { expectEveryJobOnce, jobsIn, type SeededJob } from '../../support/exact-jobs.js';
import { SidekiqSimulator } from '../../support/sidekiq-simulator.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();
// A moves to `new`; B stays (unmapped), so that the pass leaves jobs in place between those it moves.
const plan = classRoutingPlan(new Map([['A', 'new']]));

async function seed(keys: SidekiqKeys, n: number): Promise<SeededJob[]> {
  const seeded: SeededJob[] = [];
  const pipeline = redis.pipeline();
  for (let i = 0; i < n; i++) {
    const payload = sidekiqPayload({ className: i % 5 === 0 ? 'B' : 'A', queue: 'old', jid: newJid() });
    pipeline.lpush(keys.queue('old'), payload);
    seeded.push({ payload });
  }
  pipeline.sadd(keys.queues, 'old');
  await pipeline.exec();
  return seeded;
}

const unrouted = (payload: Buffer) => Buffer.from(payload.toString('latin1').replace('"queue":"new"', '"queue":"old"'), 'latin1');

/** `recording` (pipelines: '> reroute', '< reroute') with each single LRANGE too ('> lrange'). */
function recordingReads(client: Redis): Redis & { events: string[] } {
  const recorded = recording(client);
  return new Proxy(recorded, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'lrangeBuffer' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        target.events.push('> lrange');
        return (value as (...a: unknown[]) => Promise<unknown>)(...args);
      };
    },
  });
}

describe('a queue pass reads its next slice ahead', () => {
  it('every job exactly once while a producer pushes and a fetcher pops between every two calls (front)', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = await seed(keys, 90);
    const sim = new SidekiqSimulator(sharedRedisUrl(), keys, ['old', 'new']);
    const meddling = interferingRedis(redis, async () => {
      await sim.fetchOnce();
      await sim.produceOnce('old', 'A');
    });

    const run = await rerouteQueue({ redis: meddling, keys, plan, dryRun: false, queue: 'old', cursor: null, sliceSize: 7, luaBatch: 3 });

    expect(run.done).toBe(true);
    expect(run.counters.moved).toBeGreaterThan(0);
    expect(sim.consumed.length).toBeGreaterThan(0);
    expectEveryJobOnce({ seeded, produced: sim.producedPayloads, stored: await jobsIn(redis, keys.prefix), consumed: sim.consumedPayloads, normalize: unrouted });
    sim.close();
  });

  it('every job exactly once with producers and fetchers looping in other connections during passes (front and append)', async () => {
    for (const placement of ['front', 'append'] as const) {
      const keys = new SidekiqKeys(uniquePrefix());
      const seeded = await seed(keys, 600);
      const sims = [0, 1].map(() => new SidekiqSimulator(sharedRedisUrl(), keys, ['old', 'new']));
      let running = true;
      const actors = sims.map(async (sim) => {
        while (running) {
          await sim.fetchOnce();
          await sim.produceOnce('old', 'A');
        }
      });
      for (let pass = 0; pass < 3; pass++) {
        await rerouteQueue({ redis, keys, plan, dryRun: false, queue: 'old', cursor: null, sliceSize: 13, luaBatch: 5, placement });
      }
      running = false;
      await Promise.all(actors);
      expect(sims.reduce((n, s) => n + s.consumed.length, 0), placement).toBeGreaterThan(0);
      expectEveryJobOnce({ seeded, produced: sims.flatMap((s) => s.producedPayloads), stored: await jobsIn(redis, keys.prefix), consumed: sims.flatMap((s) => s.consumedPayloads), normalize: unrouted });
      for (const sim of sims) sim.close();
    }
  });

  it('reads no slice ahead past the page limit: a task of 2 slices sends no third read', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await seed(keys, 60);
    await loadScripts(redis);
    const client = recordingReads(redis);

    const run = await rerouteQueue({ redis: client, keys, plan, dryRun: false, queue: 'old', cursor: null, sliceSize: 10, luaBatch: 4, maxPages: 2 });

    expect(run.pages).toBe(2);
    expect(run.done).toBe(false);
    // Slice 1 reads by count (a pipeline of LLEN and LRANGE), slice 2 below its mark: one LRANGE; none for a third.
    expect(client.events.filter((e) => e === '> lrange')).toHaveLength(1);
  });
});
