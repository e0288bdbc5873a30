import { describe, expect, it } from 'vitest';
import { runReroute } from '../../../core/reroute/run-reroute.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { connectShared, sharedRedisUrl, uniquePrefix } from '../../support/redis.js';
import { expectEveryJobOnce, jobsIn, type SeededJob } from '../../support/exact-jobs.js';
import { SidekiqSimulator } from '../../support/sidekiq-simulator.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();
const plan = classRoutingPlan(new Map([['A', 'new']]));
const NOW = 1_000_000;

/** Jobs in `old` and in both sets, half of the set entries due (score ≤ NOW), half in the future. */
async function seed(keys: SidekiqKeys, n: number): Promise<SeededJob[]> {
  const seeded: SeededJob[] = [];
  const pipeline = redis.pipeline();
  for (let i = 0; i < n; i++) {
    for (const where of ['queue', 'schedule', 'retry'] as const) {
      const payload = sidekiqPayload({ className: 'A', queue: 'old', jid: newJid() });
      if (where === 'queue') {
        pipeline.lpush(keys.queue('old'), payload);
        seeded.push({ payload });
      } else {
        const score = String(i % 2 ? NOW - i : NOW + i);
        pipeline.zadd(keys.sortedSet(where), score, payload);
        seeded.push({ payload, set: keys.sortedSet(where), score });
      }
    }
  }
  await pipeline.exec();
  return seeded;
}

/** A job as seeded or produced: the only bytes a re-route may change are its queue's, old to new. */
const unrouted = (payload: Buffer) => Buffer.from(payload.toString('latin1').replace('"queue":"new"', '"queue":"old"'), 'latin1');

/** Every job seeded or produced is consumed or stored exactly once, byte for byte but for its queue. */
async function expectEveryJobExactlyOnce(keys: SidekiqKeys, seeded: SeededJob[], sims: SidekiqSimulator[]): Promise<void> {
  expectEveryJobOnce({
    seeded,
    produced: sims.flatMap((s) => s.producedPayloads),
    stored: await jobsIn(redis, keys.prefix),
    consumed: sims.flatMap((s) => s.consumedPayloads),
    normalize: unrouted,
  });
}

describe('re-routing while Sidekiq runs', () => {
  it('a poller, a fetcher and a stale producer act between every two of our Redis calls', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = await seed(keys, 60);
    const sim = new SidekiqSimulator(sharedRedisUrl(), keys, ['old', 'new']);
    const meddling = interferingRedis(redis, () => sim.stepAll(NOW, 'old', 'A'));

    const summary = await runReroute({ redis: meddling, keys, plan, dryRun: false, sets: ['schedule', 'retry'], queues: true, pageSize: 7, luaBatch: 3 });

    expect(sim.consumed.length).toBeGreaterThan(0);
    expect(sim.produced.length).toBeGreaterThan(0);
    expect(summary.totals.moved).toBeGreaterThan(0);
    await expectEveryJobExactlyOnce(keys, seeded, [sim]);
    sim.close();
  });

  it('the same actors looping concurrently, in other connections, during repeated runs', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const seeded = await seed(keys, 400);
    const sims = [0, 1, 2].map(() => new SidekiqSimulator(sharedRedisUrl(), keys, ['new', 'old']));
    let running = true;
    const actors = sims.map(async (sim) => {
      while (running) await sim.stepAll(NOW, 'old', 'A');
    });

    for (let run = 0; run < 3; run++) {
      await runReroute({ redis, keys, plan, dryRun: false, sets: ['schedule', 'retry'], queues: true, pageSize: 25, luaBatch: 10 });
    }
    running = false;
    await Promise.all(actors);

    await expectEveryJobExactlyOnce(keys, seeded, sims);
    // The future entries were re-routed: none still names the old queue.
    const future = (await redis.zrangebyscore(keys.sortedSet('schedule'), NOW + 1, '+inf')).concat(await redis.zrangebyscore(keys.sortedSet('retry'), NOW + 1, '+inf'));
    expect(future.length).toBeGreaterThan(0);
    expect(future.every((p) => p.includes('"queue":"new"'))).toBe(true);
    sims.forEach((s) => s.close());
  });

  // Each Lua call of a slice looks for its jobs from the end nearer its own (call-windows.ts): with
  // both placements, fetchers and producers acting between the calls of one pipeline leave every
  // job once, the calls' hints stale or not.
  for (const placement of ['front', 'append'] as const) {
    it(`${placement}: a slice's calls, their hints made stale by concurrent fetchers and producers, move every job once`, async () => {
      const keys = new SidekiqKeys(uniquePrefix());
      const seeded = await seed(keys, 300);
      const sims = [0, 1].map(() => new SidekiqSimulator(sharedRedisUrl(), keys, ['new', 'old']));
      let running = true;
      const actors = sims.map(async (sim) => {
        while (running) await sim.stepAll(NOW, 'old', 'A');
      });

      for (let run = 0; run < 2; run++) {
        await runReroute({ redis, keys, plan, dryRun: false, sets: [], queues: true, pageSize: 60, luaBatch: 4, placement });
      }
      running = false;
      await Promise.all(actors);

      expect(sims.some((s) => s.consumed.length > 0)).toBe(true);
      await expectEveryJobExactlyOnce(keys, seeded, sims);
      sims.forEach((s) => s.close());
    });
  }
});
