// The next slice's claim in the acknowledge's round trip (claim-ahead.ts, issue #18): a page
// task's slices but a page's first claim with the acknowledge of the slice before. What that must
// not change: every job exactly once whatever instant a task dies at and however it is retried;
// no task ends with a slice it claimed ahead in flight (its deadline, its page limit); counters
// that say what happened, also when the acknowledge ran after the claim sent behind it.
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { RunLock } from '../../../core/redis/run-lock.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { transferQueue } from '../../../core/transfer/queue-transfer.js';
import { transferSet } from '../../../core/transfer/set-transfer.js';
import { MAX_JOBS_PER_CLAIM } from '../../../core/transfer/transfer-options.js';
import { pageStep } from '../../../core/workflow/steps/page-step.js';
import { planStep } from '../../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../../core/workflow/url-connections.js';
import type { ConnectionProvider } from '../../../core/workflow/connections.js';
import type { WorkItem } from '../../../core/workflow/work-item.js';
import { expectEveryJobOnce, jobsIn, type SeededJob } from '../../support/exact-jobs.js';
import { sidekiqOnBothSides } from '../../support/sidekiq-simulator.js';
import { interferingRedis, SimulatedCrash, type RedisCall } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { loadScripts } from '../../support/recording-redis.js';
import { swapEvalsha } from '../../support/swap-evalsha.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { seedQueueAndSchedule } from '../../support/seed-queue-and-schedule.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const claimQueueJobs = new LuaScript('claimQueueJobs-14');
const acknowledgeQueueBatch = new LuaScript('acknowledgeQueueBatch-4');
const acknowledgeSetBatch = new LuaScript('acknowledgeSetBatch-10');
const claimSetEntries = new LuaScript('claimSetEntries-16');
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
  connections = undefined;
});

function connect(): UrlConnections {
  const { source, target } = redis.urls();
  connections = new UrlConnections({ source: { url: source }, target: { url: target } });
  return connections;
}

const budget = { deadline: Date.now() + 600_000 };
const PAGE = 4 * MAX_JOBS_PER_CLAIM;
/** Three slices on each key: 1,000, 1,000, 100 (pages of 4,000: a default page of 1,000 is one slice, which claims nothing ahead). */
const PER_KEY = 2 * MAX_JOBS_PER_CLAIM + 100;

/** PER_KEY jobs on queue:default and PER_KEY on schedule, as jobEntry prints them, sorted. */
const seed = (client: Redis): Promise<string[]> => seedQueueAndSchedule(client, PER_KEY);

const plan = () => planStep({ runId: 'run-1', mode: 'transfer', target: 'target', sets: ['schedule'], pageSize: PAGE }, connect());

/** The provider's connections, each call on either server first shown to `before` (interfering-redis.ts). */
function interfering(provider: UrlConnections, before: (server: string, call: RedisCall) => Promise<void> | void): ConnectionProvider {
  return {
    get: async (name) => {
      const connection = await provider.get(name);
      return { ...connection, redis: interferingRedis(connection.redis, (call) => before(name, call)) };
    },
  };
}

async function inflightLeft(): Promise<string[]> {
  return redis.source().keys('sidekiq-migrate:*:inflight:*');
}

describe("the next slice's claim in the acknowledge's round trip", () => {
  for (const kind of ['queue', 'set'] as const) {
    it(`${kind}: a page task dies before any call on either server (each in turn, from its first claim sent ahead on), then the task is retried with the same input until the item is done: every job exactly once, nothing left in flight`, async () => {
      const claimScript = kind === 'queue' ? claimQueueJobs : claimSetEntries;
      let crashes = 0;
      for (let k = 0; ; k++) {
        await redis.source().flushall();
        await redis.target().flushall();
        const seeded = await seed(redis.source());
        await loadScripts(redis.source(), redis.target());
        const planned = await plan();
        const item = planned.work.batch.find((i) => i.kind === kind && (kind === 'set' || i.name === 'default'))!;
        let calls = 0;
        let claims = 0;
        let crashed = false;
        const provider = interfering(connections!, (_server, call) => {
          if (call.scripts.includes(claimScript.sha)) claims++;
          // Counted from the second claim on: the first slice's acknowledge and the claim behind it.
          if (claims < 2 || crashed) return;
          if (calls++ === k) {
            crashed = true;
            throw new SimulatedCrash(`crash before call ${k}`);
          }
        });
        let current: WorkItem = item;
        while (!current.done) {
          try {
            current = await pageStep({ settings: planned.settings, item: current }, crashed ? connections! : provider, budget);
          } catch (error) {
            if (!(error instanceof SimulatedCrash)) throw error;
            // What the task sent before it died has run (same connection, in order); the state
            // machine's Retry then runs the task again with the same input.
            await redis.source().ping();
          }
        }
        const moved = seeded.filter((e) => e.startsWith(kind === 'queue' ? 'queue:default' : 'schedule'));
        expect(await jobsIn(redis.target()), `crash before call ${k}`).toEqual(moved);
        expect(await jobsIn(redis.source()), `crash before call ${k}`).toEqual(seeded.filter((e) => !moved.includes(e)));
        expect(await inflightLeft(), `crash before call ${k}`).toEqual([]);
        if (!crashed) break;
        crashes++;
      }
      // The slices' claims, writes and acknowledges after the first claim sent ahead.
      expect(crashes).toBeGreaterThanOrEqual(6);
    });
  }

  for (const kind of ['queue', 'set'] as const) {
    it(`${kind}: a deadline that passes after a slice that claimed the next one ahead: the next slice still runs (its claim is not left in flight), and no later one; the task's counters and cursor say both`, async () => {
      const seeded = await seed(redis.source());
      // The first look (the first slice's claim ahead) is before the deadline, every later one after it.
      let looks = 0;
      const now = () => (++looks === 1 ? 0 : 10);
      const context = { source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'run-1', dryRun: false, sliceSize: PAGE, claimAheadWithin: 4, deadline: 5, now };
      const run = kind === 'queue' ? await transferQueue({ ...context, queue: 'default' }) : await transferSet({ ...context, set: 'schedule' });

      expect(run.pages).toBe(2);
      expect(run.done).toBe(false);
      expect(run.counters).toMatchObject({ claimed: 2 * MAX_JOBS_PER_CLAIM, written: 2 * MAX_JOBS_PER_CLAIM, resumed: 0, duplicates: 0 });
      expect(run.cursor).toMatchObject({ limit: PER_KEY, claimed: 2 * MAX_JOBS_PER_CLAIM });
      expect(await inflightLeft()).toEqual([]);
      const [onSource, onTarget] = [await jobsIn(redis.source()), await jobsIn(redis.target())];
      expect(onTarget).toHaveLength(2 * MAX_JOBS_PER_CLAIM);
      expect([...onSource, ...onTarget].sort()).toEqual(seeded);
    });

    it(`${kind}: a task's page limit inside a page: its last slice claims nothing ahead`, async () => {
      const seeded = await seed(redis.source());
      const context = { source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'run-1', dryRun: false, sliceSize: PAGE, claimAheadWithin: 4, maxPages: 2 };
      const run = kind === 'queue' ? await transferQueue({ ...context, queue: 'default' }) : await transferSet({ ...context, set: 'schedule' });

      expect(run.pages).toBe(2);
      expect(run.counters).toMatchObject({ claimed: 2 * MAX_JOBS_PER_CLAIM, written: 2 * MAX_JOBS_PER_CLAIM });
      expect(await inflightLeft()).toEqual([]);
      expect([...(await jobsIn(redis.source())), ...(await jobsIn(redis.target()))].sort()).toEqual(seeded);
    });
  }

  for (const kind of ['queue', 'set'] as const) {
    it(`${kind}: a slice's acknowledge meets NOSCRIPT, so that the acknowledge runs again after the claim sent behind it: that claim's reply is not used as it is (it holds the acknowledged slice too), what is in flight is read again; every job once, counted once, none as resumed`, async () => {
      const seeded = await seed(redis.source());
      await loadScripts(redis.source(), redis.target());
      const planned = await plan();
      const item = planned.work.batch.find((i) => i.kind === kind && (kind === 'set' || i.name === 'default'))!;
      const ack = kind === 'queue' ? acknowledgeQueueBatch : acknowledgeSetBatch;
      // The second slice's acknowledge goes out under a SHA the source does not know: it fails
      // with NOSCRIPT without running, as after a SCRIPT FLUSH or a failover, and the claim
      // behind it runs; the acknowledge is sent again once its script is loaded, after the claim.
      const unknown = 'f'.repeat(40);
      let acks = 0;
      let swapped = false;
      const provider: ConnectionProvider = {
        get: async (name) => {
          const connection = await connections!.get(name);
          if (name !== 'source') return connection;
          const source = new Proxy(connection.redis, {
            get(t, prop, receiver) {
              if (prop === 'pipeline') {
                return () => {
                  const pipeline = t.pipeline();
                  swapEvalsha(pipeline, (sha) => (sha === ack.sha && ++acks === 2 ? ((swapped = true), unknown) : sha));
                  return pipeline;
                };
              }
              const value = Reflect.get(t, prop, receiver);
              return typeof value === 'function' ? value.bind(t) : value;
            },
          });
          return { ...connection, redis: source };
        },
      };

      const after = await pageStep({ settings: planned.settings, item }, provider, budget);

      expect(swapped).toBe(true);
      expect(after).toMatchObject({ done: true, counters: { claimed: PER_KEY, written: PER_KEY, resumed: 0, duplicates: 0 } });
      const moved = seeded.filter((e) => e.startsWith(kind === 'queue' ? 'queue:default' : 'schedule'));
      expect(await jobsIn(redis.target())).toEqual(moved);
      expect(await jobsIn(redis.source())).toEqual(seeded.filter((e) => !moved.includes(e)));
      expect(await inflightLeft()).toEqual([]);
    });
  }

  it("page tasks while Sidekiq runs on both sides (the old side's poller, fetcher and a producer pushing to its queues; the new side's): every job runs or is stored exactly once", async () => {
    const NOW = 1_000_000;
    const seeded: SeededJob[] = [];
    const source = redis.source();
    // 700 on each key: several slices a key, most of them claimed ahead.
    for (let i = 0; i < 1400; i++) {
      const queue = i % 2 ? 'default' : 'low';
      const payload = sidekiqPayload({ className: 'A', queue, jid: newJid() });
      await source.lpush(keys.queue(queue), payload);
      seeded.push({ payload });
      for (const set of ['schedule', 'retry'] as const) {
        if (i >= 700) continue;
        const entry = sidekiqPayload({ className: 'A', queue, jid: newJid() });
        const score = String(i % 2 ? NOW - i : NOW + i);
        await source.zadd(set, score, entry);
        seeded.push({ payload: entry, set, score });
      }
    }
    const { oldFleet, newFleet, stop } = sidekiqOnBothSides(redis.urls(), keys, NOW);

    // Two runs in a row (the second finds what the old fleet's poller and producer queued meanwhile).
    for (const runId of ['live-1', 'live-2']) {
      const { source: s, target: t } = redis.urls();
      const provider = new UrlConnections({ source: { url: s }, target: { url: t } });
      try {
        const planned = await planStep({ runId, mode: 'transfer', target: 'target', sets: ['schedule', 'retry'], pageSize: PAGE }, provider);
        for (const item of planned.work.batch) {
          let current: WorkItem = item;
          while (!current.done) current = await pageStep({ settings: planned.settings, item: current }, provider, budget);
        }
        // The run ends (its summary step releases its locks).
        await RunLock.releaseIfHeld(redis.source(), '', runId);
        await RunLock.releaseIfHeld(redis.target(), '', runId);
      } finally {
        await provider.close();
      }
    }
    await stop();

    expect(oldFleet.consumed.length).toBeGreaterThan(0);
    expect(newFleet.consumed.length).toBeGreaterThan(0);
    expectEveryJobOnce({
      seeded,
      produced: [...oldFleet.producedPayloads, ...newFleet.producedPayloads],
      stored: [...(await jobsIn(source)), ...(await jobsIn(redis.target()))],
      consumed: [...oldFleet.consumedPayloads, ...newFleet.consumedPayloads],
    });
    expect(await inflightLeft()).toEqual([]);
    oldFleet.close();
    newFleet.close();
  });
});
