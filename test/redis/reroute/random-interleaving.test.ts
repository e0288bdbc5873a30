import { describe, expect, it } from 'vitest';
import { runReroute } from '../../../core/reroute/run-reroute.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { interferingRedis, SimulatedCrash, type RedisCall } from '../../support/interfering-redis.js';
import { privateRedis } from '../../support/private-redis.js';
import { SidekiqSimulator } from '../../support/sidekiq-simulator.js';
import { faultsOverSeeds, prng } from '../../support/seeded-random.js';
import { expectEachJobOnce, seedRerouteTrial, sidekiqStepAtRandom } from '../../support/random-reroute-trial.js';

// A re-route whose runs are cut at random Redis calls (stopped before a call, or a call run and
// its reply lost) and run again, while Sidekiq acts between our calls at random: the poller moves
// due entries to the queue their payload names, fetchers pop the old and the new queue, a stale
// producer pushes to the old one, and the API reschedules set entries in place (ZINCRBY, as
// Sidekiq's SortedEntry#reschedule). Seeded PRNG, fixed seeds. Every job seeded or produced ends
// exactly once, stored or consumed, byte for byte but for its queue; a set entry in its set with
// its score as seeded plus what the rescheduling added.
const server = privateRedis();
const plan = classRoutingPlan(new Map([['A', 'new']]));
const NOW = 1_000_000;
const keys = new SidekiqKeys('');

async function trial(seedNumber: number): Promise<number> {
  const random = prng(seedNumber);
  const redis = server.client();
  await redis.flushall();
  const jobs = await seedRerouteTrial(redis, keys, NOW, { queued: 20, perSet: 15 });
  const sim = new SidekiqSimulator(server.url(), keys, ['old', 'new']);
  let faults = 0;
  try {
    const meddle = () => sidekiqStepAtRandom(random, { poll: 0.1, fetch: 0.18, produce: 0.23, reschedule: 0.35 }, sim, redis, keys, NOW, jobs);
    for (let attempt = 0; attempt < 8; attempt++) {
      const fault = attempt < 7 ? { at: Math.floor(random() * 40), lost: random() < 0.5 } : null;
      let index = 0;
      let fired = false;
      const before = async (call: RedisCall) => {
        void call;
        await meddle();
        if (fault && !fault.lost && index === fault.at) {
          fired = true;
          throw new SimulatedCrash(`crash before call ${fault.at}`);
        }
        if (!(fault && fault.lost && index === fault.at)) index++;
      };
      const after = () => {
        if (fault && fault.lost && index === fault.at && !fired) {
          fired = true;
          index++;
          throw new SimulatedCrash(`reply of call ${fault.at} lost`);
        }
      };
      const outcome = await runReroute({
        redis: interferingRedis(redis, before, after),
        keys,
        plan,
        dryRun: false,
        sets: ['schedule', 'retry', 'dead'],
        queues: true,
        pageSize: 2 + Math.floor(random() * 8),
        luaBatch: 1 + Math.floor(random() * 4),
        placement: random() < 0.5 ? 'front' : 'append',
      }).then(
        () => null,
        (error: Error) => error,
      );
      if (outcome === null && !fired) break;
      if (outcome !== null) {
        expect(outcome.message, `seed ${seedNumber}`).toMatch(/crash before call|reply of call/);
        faults++;
      }
    }
    // Exactly once, stored or consumed; a set entry in its set, at its seeded score plus its rescheduling.
    await expectEachJobOnce(redis, sim, jobs, seedNumber);
    // Nothing of class A left on the old queue's sets: each set's entries all name the new queue.
    for (const set of ['schedule', 'retry', 'dead'] as const) {
      const members = await redis.zrange(keys.sortedSet(set), '0', '-1');
      expect(members.filter((m) => m.includes('"queue":"old"')), `seed ${seedNumber} ${set}`).toEqual([]);
    }
  } finally {
    sim.close();
  }
  return faults;
}

describe('a re-route cut at random calls and lost replies, run again, Sidekiq acting at random between our calls', () => {
  it('every job exactly once, each set entry at the score it was given last, for each of the fixed seeds', { timeout: 600_000 }, async () => {
    const faults = await faultsOverSeeds(trial, 40, 25_000);
    expect(faults).toBeGreaterThan(5);
  });
});
