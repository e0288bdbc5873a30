import { describe, expect, it } from 'vitest';
import { runReroute } from '../../../core/reroute/run-reroute.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { connectShared, sharedRedisUrl, uniquePrefix } from '../../support/redis.js';
import { jobsIn } from '../../support/exact-jobs.js';
import { SidekiqSimulator } from '../../support/sidekiq-simulator.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();
const plan = classRoutingPlan(new Map([['A', 'new']]));
const NOW = 1_000_000;

interface Seeded {
  readonly payload: string;
  /** The sorted set it was seeded in, with its score; absent for a queued job. */
  readonly set?: string;
  readonly score?: string;
}

/** Jobs in `old` and in both sets, half of the set entries due (score ≤ NOW), half in the future. */
async function seed(keys: SidekiqKeys, n: number): Promise<Seeded[]> {
  const seeded: Seeded[] = [];
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

/** A job as seeded or produced: the only byte a re-route may change is its queue, old to new. */
const unrouted = (payload: Buffer | string) => Buffer.from(Buffer.from(payload).toString('latin1').replace('"queue":"new"', '"queue":"old"'), 'latin1').toString('hex');

/**
 * Every job seeded or produced is either consumed once or stored once, never both, never twice,
 * byte for byte but for its queue; one still in a sorted set is in the set it was seeded in, with
 * its exact score.
 */
async function expectEveryJobExactlyOnce(keys: SidekiqKeys, seeded: Seeded[], sims: SidekiqSimulator[]): Promise<void> {
  const bySeed = new Map(seeded.map((s) => [unrouted(s.payload), s]));
  const stored = (await jobsIn(redis, keys.prefix)).map((e) => e.split('\t') as [string, string, string]);
  for (const [key, hex, score] of stored) {
    if (score === '') continue;
    const origin = bySeed.get(unrouted(Buffer.from(hex, 'hex')));
    expect({ key, score }, 'a sorted-set entry stays in its set with its score').toEqual({ key: origin?.set, score: origin?.score });
  }
  const seen = [...stored.map(([, hex]) => unrouted(Buffer.from(hex, 'hex'))), ...sims.flatMap((s) => s.consumedPayloads.map(unrouted))].sort();
  expect(seen).toEqual([...seeded.map((s) => s.payload), ...sims.flatMap((s) => s.producedPayloads)].map(unrouted).sort());
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
});
