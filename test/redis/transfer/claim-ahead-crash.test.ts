// Claims sent ahead (claim-ahead.ts) while the process dies, or lives on beside the execution that
// took the run over, with Sidekiq running on both sides: the old side's poller, fetcher and a
// producer still pushing to its queue, the new side's fetcher. Whatever instant the page tasks of
// an execution stop at — before any call on either server, counted over all its concurrent tasks,
// from its first claim on, slices claiming the next one ahead among them — the next execution of
// the run (`start --resume`: the same run id, planned later) finishes it: every job seeded or
// produced is stored once or consumed once, byte for byte, set entries in their set with their
// score, and nothing is left in flight. The claim-ahead.test.ts loop retries the same task with
// the same input; here the page tasks of every item die at once, as a process does, and a later
// plan's resume (resume-inflight.ts) and fresh cursors finish them. A page of four slices: the
// first three of every page claim the next one ahead (page-step-round-trips pins that).
import { describe, expect, it } from 'vitest';
import { RunLock } from '../../../core/redis/run-lock.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { MAX_JOBS_PER_CLAIM } from '../../../core/transfer/transfer-options.js';
import type { ConnectionProvider } from '../../../core/workflow/connections.js';
import { pageStep } from '../../../core/workflow/steps/page-step.js';
import { planStep, type PlanOutput } from '../../../core/workflow/steps/plan-step.js';
import type { UrlConnections } from '../../../core/workflow/url-connections.js';
import type { WorkItem } from '../../../core/workflow/work-item.js';
import { expectEveryJobOnce, jobsIn, type SeededJob } from '../../support/exact-jobs.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { sidekiqOnBothSides } from '../../support/sidekiq-simulator.js';
import { connectionsPerTest } from '../../support/test-connections.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const NOW = 1_000_000;
/** Four slices a page: three of them claim the next one ahead. */
const PAGE = 4 * MAX_JOBS_PER_CLAIM;
const budget = { deadline: Date.now() + 3_600_000 };
const transfer = { runId: 'run-1', mode: 'transfer', target: 'target', sets: ['schedule', 'retry'], pageSize: PAGE };

const { connect } = connectionsPerTest(redis);

/** 900 jobs on each of two queues, 600 entries in schedule (half due) and 300 in retry. */
async function seed(): Promise<SeededJob[]> {
  const seeded: SeededJob[] = [];
  const pipeline = redis.source().pipeline();
  for (let i = 0; i < 900; i++) {
    for (const queue of ['default', 'low']) {
      const payload = sidekiqPayload({ className: 'A', queue, jid: newJid() });
      pipeline.lpush(keys.queue(queue), payload);
      seeded.push({ payload });
    }
  }
  pipeline.sadd(keys.queues, 'default', 'low');
  for (let i = 0; i < 600; i++) {
    for (const set of i < 300 ? (['schedule', 'retry'] as const) : (['schedule'] as const)) {
      const payload = sidekiqPayload({ className: 'A', queue: i % 2 ? 'default' : 'low', jid: newJid() });
      const score = String(i % 2 ? NOW - i : NOW + i);
      pipeline.zadd(keys.sortedSet(set), score, payload);
      seeded.push({ payload, set, score });
    }
  }
  await pipeline.exec();
  return seeded;
}

/** Sidekiq on both sides, each step one at a time, until stopped. */
function sidekiqBothSides(): { stop: () => Promise<{ produced: string[]; consumed: Buffer[] }> } {
  const { oldFleet, newFleet, stop } = sidekiqOnBothSides(redis.urls(), keys, NOW);
  return {
    stop: async () => {
      await stop();
      oldFleet.close();
      newFleet.close();
      return { produced: [...oldFleet.producedPayloads, ...newFleet.producedPayloads], consumed: [...oldFleet.consumedPayloads, ...newFleet.consumedPayloads] };
    },
  };
}

/** `provider`'s connections, each call on either server first shown to `before`. */
function interfering(provider: UrlConnections, before: () => void): ConnectionProvider {
  return {
    get: async (name) => {
      const connection = await provider.get(name);
      return { ...connection, redis: interferingRedis(connection.redis, before) };
    },
  };
}

/**
 * Every item of the plan's first batch at once (as the state machine's Map runs them), each
 * task after the other until the item is done or `ends(error)` says a task's error ends it.
 */
async function runItems(plan: PlanOutput, provider: ConnectionProvider, ends: (error: unknown) => boolean = () => false): Promise<WorkItem[]> {
  return Promise.all(
    plan.work.batch.map(async (item) => {
      let current: WorkItem = item;
      while (!current.done) {
        try {
          current = await pageStep({ settings: plan.settings, item: current }, provider, budget);
        } catch (error) {
          if (ends(error)) return current;
          throw error;
        }
      }
      return current;
    }),
  );
}

/** The run's end as its summary step leaves it: its locks released. */
async function endRun(): Promise<void> {
  await RunLock.releaseIfHeld(redis.source(), '', 'run-1');
  await RunLock.releaseIfHeld(redis.target(), '', 'run-1');
}

async function expectEveryJobOnceAfter(seeded: readonly SeededJob[], sidekiq: ReturnType<typeof sidekiqBothSides>, label: string): Promise<void> {
  const { produced, consumed } = await sidekiq.stop();
  expect(consumed.length, label).toBeGreaterThan(0);
  expectEveryJobOnce({ seeded, produced, consumed, stored: [...(await jobsIn(redis.source())), ...(await jobsIn(redis.target()))] });
  expect(await redis.source().keys('sidekiq-migrate:*:inflight:*'), label).toEqual([]);
  expect(await redis.source().keys('sidekiq-migrate:*:batch:*'), label).toEqual([]);
}

/** Both servers emptied, then the jobs seeded, Sidekiq started on both sides, and an execution planned. */
async function startAfresh(): Promise<{ seeded: SeededJob[]; sidekiq: ReturnType<typeof sidekiqBothSides>; provider: UrlConnections; plan: PlanOutput }> {
  await redis.source().flushall();
  await redis.target().flushall();
  const seeded = await seed();
  const sidekiq = sidekiqBothSides();
  const provider = connect();
  return { seeded, sidekiq, provider, plan: await planStep(transfer, provider) };
}

/** An uninterrupted execution first, every job once after it: how many calls its page tasks make (Sidekiq changes it a little). */
async function uninterruptedCalls(): Promise<number> {
  let calls = 0;
  const seeded = await seed();
  const sidekiq = sidekiqBothSides();
  const provider = connect();
  const plan = await planStep(transfer, provider);
  await runItems(plan, interfering(provider, () => void calls++));
  await endRun();
  await expectEveryJobOnceAfter(seeded, sidekiq, 'uninterrupted');
  return calls;
}

describe('claims sent ahead, a process dying at any instant with Sidekiq running on both sides, finished by the next execution', () => {
  it('every page task of an execution dies at once before its k-th call (k spread over the whole run, after claims sent ahead too); `start --resume` finishes it: every job once, nothing in flight', { timeout: 600_000 }, async () => {
    const calls = await uninterruptedCalls();
    expect(calls).toBeGreaterThan(40);

    let landed = 0;
    for (let k = 0; k < calls; k++) {
      const label = `died before call ${k} of about ${calls}`;
      const { seeded, sidekiq, provider, plan: first } = await startAfresh();
      let made = 0;
      let dead = false;
      const dying = interfering(provider, () => {
        if (dead || made++ >= k) {
          dead = true;
          throw new SimulatedCrash(label);
        }
      });
      await runItems(first, dying, () => dead);
      if (dead) landed++;
      // What the dead process sent has run; a later execution of the run takes it over.
      await redis.source().ping();
      await redis.target().ping();
      await new Promise((resolve) => setTimeout(resolve, 2));
      const later = connect();
      const second = await planStep(transfer, later);
      await runItems(second, later);
      await endRun();
      await expectEveryJobOnceAfter(seeded, sidekiq, label);
    }
    // Sidekiq's fetchers leave fewer jobs to move in some runs than in others: fewer calls.
    expect(landed).toBeGreaterThanOrEqual(calls / 2);
  });

  it('an execution paused before its k-th call while `start --resume` plans, then going on beside the later execution (a Lambda still running): the later one finishes, every job once, nothing in flight', { timeout: 600_000 }, async () => {
    const calls = await uninterruptedCalls();

    const superseded = (error: unknown) => /superseded by a later execution/.test(String((error as Error).message));
    let overtaken = 0;
    for (let k = 0; k < calls; k += 3) {
      const label = `superseded before call ${k} of about ${calls}`;
      const { seeded, sidekiq, provider, plan: first } = await startAfresh();
      const later = connect();
      let made = 0;
      let second: Promise<PlanOutput> | undefined;
      const pausing = interfering(provider, async () => {
        if (made++ !== k) return;
        await new Promise((resolve) => setTimeout(resolve, 2));
        second = planStep(transfer, later);
        await second;
      });
      let finished = false;
      const earlier = runItems(first, pausing, superseded).finally(() => (finished = true));
      // The later execution runs as soon as it planned, beside what is left of the earlier one.
      while (second === undefined && !finished) await new Promise((resolve) => setTimeout(resolve, 1));
      if (second !== undefined) {
        overtaken++;
        await runItems(await second, later);
      }
      await earlier;
      if (second === undefined) {
        // The earlier execution finished before its k-th call: the later one finds nothing left.
        const plan = await planStep(transfer, later);
        await runItems(plan, later);
      }
      await endRun();
      await expectEveryJobOnceAfter(seeded, sidekiq, label);
    }
    expect(overtaken).toBeGreaterThan(calls / 6);
  });

  it("a page task's attempt going on beside its retry (a timed-out Lambda thawed with the retry in its container): both run every item from the same input to its end, the retry starting before the k-th call of the first; every job once, nothing in flight", { timeout: 600_000 }, async () => {
    const calls = await uninterruptedCalls();

    let beside = 0;
    for (let k = 1; k < calls; k += 4) {
      const label = `the retry started before call ${k} of about ${calls}`;
      const { seeded, sidekiq, provider, plan } = await startAfresh();
      let made = 0;
      let retry: Promise<WorkItem[]> | undefined;
      // The retry has connections of its own (another invocation), the same input.
      const retrying = connect();
      const first = runItems(
        plan,
        interfering(provider, () => {
          if (made++ === k) retry = runItems(plan, retrying);
        }),
      );
      const ends = [...(await first), ...(await (retry ?? runItems(plan, retrying)))];
      if (retry !== undefined) beside++;
      expect(ends.every((item) => item.done), label).toBe(true);
      await endRun();
      await expectEveryJobOnceAfter(seeded, sidekiq, label);
    }
    expect(beside).toBeGreaterThan(calls / 8);
  });
});
