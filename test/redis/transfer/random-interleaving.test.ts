import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runTransfer } from '../../../core/transfer/run-transfer.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { expectEveryJobOnce, jobsIn, type SeededJob } from '../../support/exact-jobs.js';
import { interferingRedis, SimulatedCrash, type RedisCall } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { SidekiqSimulator } from '../../support/sidekiq-simulator.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { waitForLocksGone } from '../../support/transfer-crash-loop.js';
import { faultsOverSeeds, prng } from '../../support/seeded-random.js';

// A transfer whose attempts are cut at random Redis calls — the process stopped before a call
// reaches Redis, or the call run and its reply lost — and resumed by the same run or another one,
// while Sidekiq acts on both servers between our calls at random (the old fleet's poller moves due
// entries to their queues, its fetcher pops, a stale producer pushes; the new fleet's fetcher
// pops). Seeded PRNG, fixed seeds: a failure names its seed and replays. Every job seeded or
// produced must end exactly once, stored on one server (a set entry in its set with its exact
// score) or consumed, byte for byte; nothing left in flight.
const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const NOW = 1_000_000;

/** Queued jobs (one payload twice, one not UTF-8) and entries in three sets (half due). */
async function seed(source: Redis): Promise<SeededJob[]> {
  const seeded: SeededJob[] = [];
  const twin = sidekiqPayload({ className: 'A', queue: 'default', jid: newJid() });
  for (const queue of ['default', 'low']) {
    for (let i = 0; i < 14; i++) {
      const payload = i === 0 && queue === 'default' ? twin : sidekiqPayload({ className: 'A', queue, jid: newJid(), args: `[${i},1.0]` });
      await source.lpush(keys.queue(queue), payload);
      seeded.push({ payload });
    }
  }
  const binary = Buffer.concat([Buffer.from('{"class":"A","queue":"low","jid":"ff00","args":["'), Buffer.from([0xff, 0xfe, 0x00, 0xc3]), Buffer.from('"]}')]);
  await source.lpush(keys.queue('low'), binary);
  seeded.push({ payload: binary });
  for (const set of ['schedule', 'retry', 'dead'] as const) {
    for (let i = 0; i < 12; i++) {
      const payload = sidekiqPayload({ className: 'B', queue: i % 3 ? 'default' : 'low', jid: newJid(), args: `[${i}]` });
      const score = String(i % 2 ? NOW - i : NOW + i + 0.25);
      await source.zadd(keys.sortedSet(set), score, payload);
      seeded.push({ payload, set: keys.sortedSet(set), score });
    }
  }
  await source.sadd(keys.queues, 'default', 'low');
  return seeded;
}

type Fault = { at: number; kind: 'before' | 'lost reply' } | null;

async function trial(seedNumber: number): Promise<{ faults: number; attempts: number }> {
  const random = prng(seedNumber);
  const source = redis.source();
  const target = redis.target();
  await source.flushall();
  await target.flushall();
  const seeded = await seed(source);
  const { source: sourceUrl, target: targetUrl } = redis.urls();
  const oldFleet = new SidekiqSimulator(sourceUrl, keys, ['default', 'low']);
  const newFleet = new SidekiqSimulator(targetUrl, keys, ['default', 'low']);
  let faults = 0;
  let attempts = 0;
  try {
    // Sidekiq's turn between two of our calls, at random.
    const meddle = async () => {
      const r = random();
      if (r < 0.15) await oldFleet.pollOnce(NOW);
      else if (r < 0.25) await oldFleet.fetchOnce();
      else if (r < 0.3) await oldFleet.produceOnce(random() < 0.5 ? 'default' : 'low', 'A');
      else if (r < 0.38) await newFleet.fetchOnce();
    };
    let runId = `r${seedNumber}-0`;
    for (let attempt = 0; attempt < 10; attempt++) {
      attempts++;
      const fault: Fault = attempt < 9 ? { at: Math.floor(random() * 60), kind: random() < 0.5 ? 'before' : 'lost reply' } : null;
      let index = 0;
      let fired = false;
      const before = async (call: RedisCall) => {
        void call;
        await meddle();
        if (fault && fault.kind === 'before' && index === fault.at) {
          fired = true;
          index++;
          throw new SimulatedCrash(`crash before call ${fault.at}`);
        }
        if (!(fault && fault.kind === 'lost reply' && index === fault.at)) index++;
      };
      const after = () => {
        if (fault && fault.kind === 'lost reply' && index === fault.at) {
          fired = true;
          index++;
          throw new SimulatedCrash(`reply of call ${fault.at} lost`);
        }
      };
      const outcome = await runTransfer({
        source: interferingRedis(source, before, after),
        target: interferingRedis(target, before, after),
        sourceKeys: keys,
        targetKeys: keys,
        runId,
        dryRun: false,
        sets: ['schedule', 'retry', 'dead'],
        queues: true,
        sliceSize: 1 + Math.floor(random() * 5),
        placement: random() < 0.5 ? 'front' : 'append',
        lockTtlMs: 50,
      }).then(
        () => null,
        (error: Error) => error,
      );
      if (process.env.RANDOM_TRIAL_LOG) console.log(seedNumber, attempt, fault, index, outcome?.message ?? 'completed');
      if (outcome === null) {
        if (!fired) break;
      } else {
        expect(fired, `seed ${seedNumber} attempt ${attempt}: ${outcome.message}`).toBe(true);
        expect(outcome.message).toMatch(/crash before call|reply of call/);
        faults++;
      }
      // The next attempt: the same run, or (after its lock expired) another one.
      if (random() < 0.4) {
        await waitForLocksGone(source, target);
        runId = `r${seedNumber}-${attempt + 1}`;
      }
    }
    expect(await source.keys('sidekiq-migrate:*:inflight:*'), `seed ${seedNumber}: nothing in flight`).toEqual([]);
    expectEveryJobOnce({
      seeded,
      produced: oldFleet.producedPayloads,
      stored: [...(await jobsIn(source)), ...(await jobsIn(target))],
      consumed: [...oldFleet.consumedPayloads, ...newFleet.consumedPayloads],
    });
    // What the poller did not take meanwhile is on the target: the future entries all are.
    expect(await source.zcount(keys.sortedSet('schedule'), NOW + 1, '+inf'), `seed ${seedNumber}`).toBe(0);
  } finally {
    oldFleet.close();
    newFleet.close();
  }
  return { faults, attempts };
}

describe('a transfer cut at random calls, lost replies and crashes, Sidekiq acting on both sides at random, resumed by the same or another run', () => {
  it('every job exactly once for each of the fixed seeds', { timeout: 600_000 }, async () => {
    const faults = await faultsOverSeeds(async (seed) => (await trial(seed)).faults, 24, 30_000);
    expect(faults).toBeGreaterThan(5);
  });
});
