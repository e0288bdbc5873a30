import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { expectEveryJobOnce, jobsIn, type SeededJob } from '../../support/exact-jobs.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { isSelected, mixedJob, SELECTED } from './selected-classes-jobs.js';

// A selective transfer claims jobs out of the middle of a list that Sidekiq keeps changing at
// both ends: fetchers pop the oldest, producers push new ones, a stopping Sidekiq pushes jobs
// back at the tail. Every job must end exactly once: fetched, on the source or on the target.
const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const claimSha = new LuaScript('claimSelectedQueueJobs-11').sha;
const setClaimSha = new LuaScript('claimSelectedSetEntries-11').sha;

function request(overrides: Partial<TransferRunRequest>): TransferRunRequest {
  return { source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'live', dryRun: false, sets: [], queues: ['default'], sliceSize: 10, classes: SELECTED, ...overrides };
}

const storedEverywhere = async () => [...(await jobsIn(redis.source())), ...(await jobsIn(redis.target()))];

describe('a selective transfer while Sidekiq changes the shared queue', () => {
  it.each(['append', 'front'] as const)(
    '%s: fetches between read and claim, many pops between slices, jobs pushed back at the tail: every job exactly once, none selected left behind',
    async (placement) => {
      const raw = redis.source();
      const seeded: SeededJob[] = [];
      for (let i = 0; i < 800; i++) {
        const { payload } = mixedJob(i, 'default');
        await raw.lpush('queue:default', payload);
        seeded.push({ payload });
      }
      const fetched: Buffer[] = [];
      const fetch = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const job = await raw.rpopBuffer('queue:default');
          if (job) fetched.push(job);
        }
      };
      let calls = 0;
      let claims = 0;
      let pushedBack = 0;
      const source = interferingRedis(raw, async (call) => {
        calls++;
        // Between the read of a window and its claim: a fetcher takes the oldest jobs.
        if (call.scripts.includes(claimSha)) {
          claims++;
          await fetch(2);
        }
        // Now and then, more pops than the anchor is first looked for around (a long pause).
        if (calls % 7 === 0) await fetch(25);
        // Now and then, a stopping Sidekiq pushes a job it had fetched back at the tail (a staying one).
        if (calls % 11 === 0) {
          const at = fetched.findIndex((j) => !isSelected(j));
          if (at >= 0) {
            await raw.rpush('queue:default', fetched.splice(at, 1)[0]!);
            pushedBack++;
          }
        }
      });

      const summary = await runTransfer(request({ source, placement }));

      expect(claims, 'claims happened with fetches in between').toBeGreaterThan(5);
      expect(pushedBack).toBeGreaterThan(0);
      expect(fetched.length).toBeGreaterThan(50);
      expectEveryJobOnce({ seeded, produced: [], stored: await storedEverywhere(), consumed: fetched });
      const target = await redis.target().lrangeBuffer('queue:default', 0, -1);
      expect(target.length).toBeGreaterThan(0);
      expect(target.filter((j) => !isSelected(j)), 'only selected jobs on the target').toEqual([]);
      expect((await raw.lrangeBuffer('queue:default', 0, -1)).filter(isSelected), 'no selected job left on the source').toEqual([]);
      expect(summary.totals.leftOnSource).toBe(0);
      expect(await raw.keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
    },
  );

  it('sets: the poller takes due entries between read and claim and between slices, Sidekiq adds retries: every entry exactly once, none selected left', async () => {
    const raw = redis.source();
    const seeded: SeededJob[] = [];
    for (let i = 0; i < 300; i++) {
      const { payload } = mixedJob(i, 'default');
      const score = `${1795459303 + Math.floor(i / 2)}.5`;
      await raw.zadd('retry', score, payload);
      seeded.push({ payload, set: 'retry', score });
    }
    const polled: Buffer[] = [];
    // As Sidekiq's poller: the entries due now, each taken only if its ZREM removed it (the retries
    // added below, due in 2030, stay: ZPOPMIN took them once the rest was gone, and a run's calls at
    // its end, such as its look at the index of in-flight keys, decided whether any stayed).
    const poll = async (n: number) => {
      const due = await raw.zrangebyscoreBuffer('retry', '-inf', String(Date.now() / 1000), 'LIMIT', 0, n);
      for (const entry of due) if ((await raw.zrem('retry', entry)) === 1) polled.push(entry);
    };
    const added: string[] = [];
    let calls = 0;
    let claims = 0;
    const source = interferingRedis(raw, async (call) => {
      calls++;
      if (call.scripts.includes(setClaimSha)) {
        claims++;
        await poll(2);
      }
      if (calls % 5 === 0) await poll(20);
      // A failed job lands in retry, scheduled later than everything the pass started with.
      if (calls % 9 === 0) {
        const payload = sidekiqPayload({ className: 'Stay', queue: 'default', args: `["retried",${calls}]` });
        await raw.zadd('retry', '1895459303.5', payload);
        added.push(payload);
      }
    });

    await runTransfer(request({ source, sets: ['retry'], queues: [] }));

    expect(claims).toBeGreaterThan(5);
    expect(polled.length).toBeGreaterThan(50);
    const stored = await storedEverywhere();
    expectEveryJobOnce({ seeded: [...seeded, ...added.map((payload) => ({ payload, set: 'retry', score: '1895459303.5' }))], produced: [], stored, consumed: polled });
    const left = await raw.zrangeBuffer('retry', 0, '-1');
    expect(left.filter(isSelected), 'no selected entry left on the source').toEqual([]);
    expect(left.length, 'staying entries stayed').toBeGreaterThan(0);
    const target = await redis.target().zrangeBuffer('retry', 0, '-1');
    expect(target.length).toBeGreaterThan(0);
    expect(target.filter((j) => !isSelected(j))).toEqual([]);
  });

  it('a producer pushing both classes and a fetcher popping all along: every job exactly once, the fetcher took some during the run', async () => {
    const raw = redis.source();
    const seeded: SeededJob[] = [];
    for (let i = 0; i < 3000; i++) {
      const { payload } = mixedJob(i, 'default');
      seeded.push({ payload });
    }
    // Seeded in bulk (oldest first at the tail).
    for (let i = 0; i < seeded.length; i += 500) await raw.lpush('queue:default', ...seeded.slice(i, i + 500).map((s) => s.payload));
    const produced: string[] = [];
    const fetched: Buffer[] = [];
    let running = true;
    let transferring = false;
    let fetchedDuring = 0;
    let producedDuring = 0;
    const producer = (async () => {
      for (let i = 0; running; i++) {
        const payload = sidekiqPayload({ className: i % 2 ? 'Move' : 'Stay', queue: 'default', jid: newJid(), args: `["produced",${i}]` });
        await raw.lpush('queue:default', payload);
        produced.push(payload);
        if (transferring) producedDuring++;
      }
    })();
    const fetcherClient = raw.duplicate();
    const fetcher = (async () => {
      while (running) {
        const job = await fetcherClient.rpopBuffer('queue:default');
        if (job) {
          fetched.push(job);
          if (transferring) fetchedDuring++;
        }
      }
    })();

    transferring = true;
    const summary = await runTransfer(request({ placement: 'append', sliceSize: 50 }));
    transferring = false;
    running = false;
    await Promise.all([producer, fetcher]);
    fetcherClient.disconnect();

    expect(fetchedDuring, 'the fetcher took jobs while the transfer ran').toBeGreaterThan(0);
    expect(producedDuring, 'the producer pushed while the transfer ran').toBeGreaterThan(0);
    expectEveryJobOnce({ seeded, produced, stored: await storedEverywhere(), consumed: fetched });
    const target = await redis.target().lrangeBuffer('queue:default', 0, -1);
    expect(target.length).toBeGreaterThan(0);
    expect(target.filter((j) => !isSelected(j)), 'only selected jobs on the target').toEqual([]);
    expect(summary.totals.claimed).toBe(target.length);
    expect(await raw.keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
  });
});
