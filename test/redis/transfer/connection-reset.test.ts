// A transfer's connection reset by the server right after a call was sent (a failover, a proxy or
// a firewall dropping it, CLIENT KILL), its reply lost or not: ioredis connects again and sends
// every command whose reply it had not read again (autoResendUnfulfilledCommands, its default,
// kept by connect-redis.ts), so a claim, a write or an acknowledge may run twice, and a claim sent
// ahead (claim-ahead.ts) behind an acknowledge both. Each must stay harmless: a claim sent again
// claims into the same batch and returns what is in flight, a write sent again is counted by the
// run's ledger as written before (by position for a queue, by id for a set), an acknowledge sent
// again names a batch or positions that are gone. For every call of a page task's run, in turn:
// its server drops the connection right after it was sent; the task is retried with the same
// input when it fails (the state machine's Retry) until the item is done. Every job ends on the
// target exactly once, nothing in flight, and some writes were counted as sent twice.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RunLock } from '../../../core/redis/run-lock.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { MAX_JOBS_PER_CLAIM } from '../../../core/transfer/transfer-options.js';
import type { ConnectionProvider } from '../../../core/workflow/connections.js';
import { pageStep } from '../../../core/workflow/steps/page-step.js';
import { planStep, type PlanOutput } from '../../../core/workflow/steps/plan-step.js';
import type { WorkItem } from '../../../core/workflow/work-item.js';
import { jobEntry, jobsIn } from '../../support/exact-jobs.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../../support/test-connections.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
/** Four slices a page: three of them claim the next one ahead. */
const PAGE = 4 * MAX_JOBS_PER_CLAIM;
const budget = { deadline: Date.now() + 3_600_000 };
const transfer = { runId: 'run-1', mode: 'transfer', target: 'target', sets: ['schedule'], pageSize: PAGE };

const { connect } = connectionsPerTest(redis);

/** 700 jobs on queue:default, 700 entries in schedule: three slices each. As jobEntry prints them on the target, sorted. */
async function seed(): Promise<string[]> {
  const expected: string[] = [];
  const pipeline = redis.source().pipeline();
  for (let i = 0; i < 700; i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'default', jid: newJid() });
    pipeline.lpush(keys.queue('default'), payload);
    expected.push(jobEntry('queue:default', payload));
    const entry = sidekiqPayload({ className: 'A', queue: 'default', jid: newJid() });
    pipeline.zadd(keys.sortedSet('schedule'), String(2e9 + i), entry);
    expected.push(jobEntry('schedule', entry, String(2e9 + i)));
  }
  pipeline.sadd(keys.queues, 'default');
  await pipeline.exec();
  return expected.sort();
}

/** The server of `client` drops its connection (CLIENT KILL from another client), as soon as it gets to it. */
function dropConnection(admin: Redis, client: Redis): Promise<unknown> {
  const { localAddress, localPort } = (client as unknown as { stream: { localAddress: string; localPort: number } }).stream;
  return admin.client('KILL', 'ADDR', `${localAddress}:${localPort}`).catch(() => 0);
}

/** Every item of the plan at once, each task retried with the same input when it fails, until the item is done. */
async function runItems(plan: PlanOutput, provider: ConnectionProvider, failures: { count: number }): Promise<WorkItem[]> {
  return Promise.all(
    plan.work.batch.map(async (item) => {
      let current: WorkItem = item;
      while (!current.done) {
        try {
          current = await pageStep({ settings: plan.settings, item: current }, provider, budget);
        } catch {
          failures.count++;
        }
      }
      return current;
    }),
  );
}

describe('a connection dropped right after a call was sent (ioredis sends it again)', () => {
  it('at every call of a transfer, in turn, on the server it went to: every job once on the target, nothing in flight', { timeout: 600_000 }, async () => {
    const admins = { source: redis.source(), target: redis.target() };
    let calls = 0;
    {
      await seed();
      const provider = connect();
      const plan = await planStep(transfer, provider);
      const counting: ConnectionProvider = {
        get: async (name) => {
          const connection = await provider.get(name);
          return { ...connection, redis: interferingRedis(connection.redis, () => void calls++) };
        },
      };
      await runItems(plan, counting, { count: 0 });
    }
    expect(calls).toBeGreaterThan(20);

    let duplicates = 0;
    let drops = 0;
    for (let k = 0; k < calls; k++) {
      await redis.source().flushall();
      await redis.target().flushall();
      const label = `connection dropped after call ${k} of ${calls}`;
      const expected = await seed();
      const provider = connect();
      const plan = await planStep(transfer, provider);
      let made = 0;
      const dropping: ConnectionProvider = {
        get: async (name) => {
          const connection = await provider.get(name);
          const client = connection.redis;
          return {
            ...connection,
            redis: interferingRedis(client, () => {
              // Right after this call is written (the call goes out in this same tick), from another client.
              if (made++ === k) {
                drops++;
                setImmediate(() => void dropConnection(admins[name as 'source' | 'target'], client));
              }
            }),
          };
        },
      };
      const failures = { count: 0 };
      const ends = await runItems(plan, dropping, failures);
      await RunLock.releaseIfHeld(redis.source(), '', 'run-1');
      await RunLock.releaseIfHeld(redis.target(), '', 'run-1');
      for (const end of ends) duplicates += (end.counters as { duplicates: number }).duplicates;
      expect(await jobsIn(redis.target()), label).toEqual(expected);
      expect(await jobsIn(redis.source()), label).toEqual([]);
      expect(await redis.source().keys('sidekiq-migrate:*:inflight:*'), label).toEqual([]);
      expect(failures.count, label).toBeLessThan(5);
    }
    expect(drops).toBeGreaterThan(calls / 2);
    // Writes sent again after they ran: the ledgers counted them, wrote nothing twice.
    expect(duplicates).toBeGreaterThan(0);
  });
});
