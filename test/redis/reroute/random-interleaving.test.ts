import { describe, expect, it } from 'vitest';
import { runReroute } from '../../../core/reroute/run-reroute.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { jobsIn } from '../../support/exact-jobs.js';
import { interferingRedis, SimulatedCrash, type RedisCall } from '../../support/interfering-redis.js';
import { privateRedis } from '../../support/private-redis.js';
import { SidekiqSimulator } from '../../support/sidekiq-simulator.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { prng, RESCHEDULE_ONE } from '../../support/seeded-random.js';

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

/** The job as seeded: the re-route only changes its queue, old to new. */
const unrouted = (payload: Buffer) => payload.toString('utf8').replace('"queue":"new"', '"queue":"old"');

async function trial(seedNumber: number): Promise<number> {
  const random = prng(seedNumber);
  const redis = server.client();
  await redis.flushall();
  const seeded = new Map<string, { set?: string; score?: number }>();
  const payloads: string[] = [];
  for (let i = 0; i < 20; i++) {
    const payload = sidekiqPayload({ className: i % 5 ? 'A' : 'Other', queue: 'old', jid: newJid(), args: `[${i}]` });
    await redis.lpush(keys.queue('old'), payload);
    seeded.set(payload, {});
    payloads.push(payload);
  }
  for (const set of ['schedule', 'retry', 'dead'] as const) {
    for (let i = 0; i < 15; i++) {
      const payload = sidekiqPayload({ className: 'A', queue: 'old', jid: newJid(), args: `[${i},"${set}"]` });
      const score = i % 2 ? NOW - i : NOW + i + 0.5;
      await redis.zadd(keys.sortedSet(set), String(score), payload);
      seeded.set(payload, { set: keys.sortedSet(set), score });
      payloads.push(payload);
    }
  }
  await redis.sadd(keys.queues, 'old');
  const sim = new SidekiqSimulator(server.url(), keys, ['old', 'new']);
  const shifted = new Map<string, number>();
  let faults = 0;
  try {
    const meddle = async () => {
      const r = random();
      if (r < 0.1) await sim.pollOnce(NOW);
      else if (r < 0.18) await sim.fetchOnce();
      else if (r < 0.23) await sim.produceOnce('old', 'A');
      else if (r < 0.35) {
        const set = keys.sortedSet(random() < 0.5 ? 'schedule' : 'retry');
        const by = 1 + Math.floor(random() * 1000);
        const member = (await redis.eval(RESCHEDULE_ONE, 1, set, String(by))) as string | null;
        if (member) shifted.set(unrouted(Buffer.from(member)), (shifted.get(unrouted(Buffer.from(member))) ?? 0) + by);
      }
    };
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
    const stored = (await jobsIn(redis)).map((e) => e.split('\t') as [string, string, string]);
    const seen: string[] = [];
    for (const [key, hex, score] of stored) {
      const payload = unrouted(Buffer.from(hex, 'hex'));
      seen.push(payload);
      if (score === '') continue;
      const origin = seeded.get(payload);
      expect({ key, score: Number(score) }, `seed ${seedNumber}: ${payload.slice(0, 120)}`).toEqual({ key: origin?.set, score: (origin?.score ?? NaN) + (shifted.get(payload) ?? 0) });
    }
    for (const consumed of sim.consumedPayloads) seen.push(unrouted(consumed));
    expect(seen.sort(), `seed ${seedNumber}: every job once`).toEqual([...payloads, ...sim.producedPayloads].sort());
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
    const first = Number(process.env.RANDOM_TRIAL_FIRST_SEED ?? 1);
    const count = Number(process.env.RANDOM_TRIAL_SEEDS ?? 40);
    const budget = Number(process.env.RANDOM_TRIAL_BUDGET_MS ?? 25_000);
    const started = Date.now();
    let faults = 0;
    for (let seedNumber = first; seedNumber < first + count; seedNumber++) {
      faults += await trial(seedNumber);
      if (Date.now() - started > budget) break;
    }
    expect(faults).toBeGreaterThan(5);
  });
});
