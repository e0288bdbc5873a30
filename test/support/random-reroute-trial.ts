import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import type { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { jobsIn } from './exact-jobs.js';
import { RESCHEDULE_ONE } from './seeded-random.js';
import type { SidekiqSimulator } from './sidekiq-simulator.js';
import { newJid, sidekiqPayload } from './sidekiq-jobs.js';

/** The job as seeded: a re-route of `old` to `new` (and its rollback) changes only its queue. */
export const unrouted = (payload: Buffer): string => payload.toString('utf8').replace('"queue":"new"', '"queue":"old"');

/** The jobs of one random trial of a re-route, and what Sidekiq did to them meanwhile. */
export interface RerouteTrialJobs {
  /** Each payload as seeded: the set and score of a set entry, `{}` for a queued job. */
  readonly seeded: Map<string, { set?: string; score?: number }>;
  readonly payloads: string[];
  /** What Sidekiq's API added to a set entry's score (`sidekiqStepAtRandom`), by payload as seeded. */
  readonly shifted: Map<string, number>;
}

/**
 * `queued` jobs on queue old (one in five of class Other, the others A), `old` named in `queues`,
 * then `perSet` entries of class A in each of schedule, retry and dead: every other one due at
 * `now`, the others later (a half-second score).
 */
export async function seedRerouteTrial(redis: Redis, keys: SidekiqKeys, now: number, counts: { queued: number; perSet: number }): Promise<RerouteTrialJobs> {
  const seeded = new Map<string, { set?: string; score?: number }>();
  const payloads: string[] = [];
  for (let i = 0; i < counts.queued; i++) {
    const payload = sidekiqPayload({ className: i % 5 ? 'A' : 'Other', queue: 'old', jid: newJid(), args: `[${i}]` });
    await redis.lpush(keys.queue('old'), payload);
    seeded.set(payload, {});
    payloads.push(payload);
  }
  await redis.sadd(keys.queues, 'old');
  for (const set of ['schedule', 'retry', 'dead'] as const) {
    for (let i = 0; i < counts.perSet; i++) {
      const payload = sidekiqPayload({ className: 'A', queue: 'old', jid: newJid(), args: `[${i},"${set}"]` });
      const score = i % 2 ? now - i : now + i + 0.5;
      await redis.zadd(keys.sortedSet(set), String(score), payload);
      seeded.set(payload, { set: keys.sortedSet(set), score });
      payloads.push(payload);
    }
  }
  return { seeded, payloads, shifted: new Map() };
}

/**
 * One step of Sidekiq's, drawn from `random()` against the cumulative `odds` (`poll` < `fetch` <
 * `produce` < `reschedule`), or none above them: the poller moves due entries, a fetcher pops old
 * or new, a stale producer pushes a job of class A to old, or the API reschedules a schedule or
 * retry entry in place (ZINCRBY, as Sidekiq's SortedEntry#reschedule), recorded in `jobs.shifted`.
 */
export async function sidekiqStepAtRandom(
  random: () => number,
  odds: { readonly poll: number; readonly fetch: number; readonly produce: number; readonly reschedule: number },
  sim: SidekiqSimulator,
  redis: Redis,
  keys: SidekiqKeys,
  now: number,
  jobs: RerouteTrialJobs,
): Promise<void> {
  const r = random();
  if (r < odds.poll) await sim.pollOnce(now);
  else if (r < odds.fetch) await sim.fetchOnce();
  else if (r < odds.produce) await sim.produceOnce('old', 'A');
  else if (r < odds.reschedule) {
    const set = keys.sortedSet(random() < 0.5 ? 'schedule' : 'retry');
    const by = 1 + Math.floor(random() * 1000);
    const member = (await redis.eval(RESCHEDULE_ONE, 1, set, String(by))) as string | null;
    if (member) jobs.shifted.set(unrouted(Buffer.from(member)), (jobs.shifted.get(unrouted(Buffer.from(member))) ?? 0) + by);
  }
}

/**
 * Every job seeded or produced exactly once, stored on `redis` or consumed by `sim`, byte for byte
 * but for its queue; a set entry in its set, at its seeded score plus what the rescheduling added.
 */
export async function expectEachJobOnce(redis: Redis, sim: SidekiqSimulator, jobs: RerouteTrialJobs, seedNumber: number): Promise<void> {
  const seen: string[] = [];
  for (const [key, hex, score] of (await jobsIn(redis)).map((e) => e.split('\t') as [string, string, string])) {
    const payload = unrouted(Buffer.from(hex, 'hex'));
    seen.push(payload);
    if (score === '') continue;
    const origin = jobs.seeded.get(payload);
    expect({ key, score: Number(score) }, `seed ${seedNumber}: ${payload.slice(0, 120)}`).toEqual({ key: origin?.set, score: (origin?.score ?? NaN) + (jobs.shifted.get(payload) ?? 0) });
  }
  for (const consumed of sim.consumedPayloads) seen.push(unrouted(consumed));
  expect(seen.sort(), `seed ${seedNumber}: every job once`).toEqual([...jobs.payloads, ...sim.producedPayloads].sort());
}
