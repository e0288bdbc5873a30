// A queue batch's ledger on the target keeps one number a batch (how many of its jobs, from
// position 0, are written: copyJobsToLists-n4.lua), not one id a job. Each case below stops a
// slice's write after some of its calls of MAX_JOBS_PER_WRITE jobs ran on the target (Redis runs
// a pipeline's calls as they arrive: the process dying there leaves exactly those), then finishes
// the queue the ways a run is finished — the same run going on, a later execution of it
// (`start --resume`, a takeover) and another run — while the stale attempt comes back and sends
// its whole write again, or claims the slice a second time; and requires every job exactly once,
// in the source's order, with one number a batch in the ledger.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RunSupersededError } from '../../../core/errors/run-superseded-error.js';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { carryQueuedJobs } from '../../../core/transfer/carry-job.js';
import { claimQueueSlice } from '../../../core/transfer/claim-calls.js';
import { newBatchId, parseBatch } from '../../../core/transfer/ledger-id.js';
import { transferQueueSlice, type QueueTransferCursor } from '../../../core/transfer/queue-transfer.js';
import { resumeInflight } from '../../../core/transfer/resume-inflight.js';
import { emptyTransferCounters } from '../../../core/transfer/transfer-counters.js';
import { batchKey, claimChainKey, inflightKey, ledgerKey } from '../../../core/transfer/transfer-keys.js';
import { MAX_JOBS_PER_CLAIM, MAX_JOBS_PER_WRITE, type TransferContext } from '../../../core/transfer/transfer-options.js';
import { targetLockOf, writeJobsToQueues } from '../../../core/transfer/write-to-target.js';
import { jobEntry, ourKeys } from '../../support/exact-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { swapEvalsha } from '../../support/swap-evalsha.js';
import { jobsOnBoth } from '../../support/transfer-crash-loop.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const RUN = 'positions';
const CALLS = Math.ceil(MAX_JOBS_PER_CLAIM / MAX_JOBS_PER_WRITE);
const JOBS = 2 * MAX_JOBS_PER_CLAIM + 100;
const copyJobsToLists = new LuaScript('copyJobsToLists-n4');
const acknowledgeQueueBatch = new LuaScript('acknowledgeQueueBatch-4');
const LOCK = 'sidekiq-migrate:lock';
const inflight = inflightKey('', RUN, 'queue:default');
const batch = batchKey('', RUN, 'queue:default');
const ledger = ledgerKey('', RUN, 'queue:default');

const context = (source: Redis, target: Redis, overrides: Partial<TransferContext> = {}): TransferContext => ({
  source,
  target,
  sourceKeys: keys,
  targetKeys: keys,
  runId: RUN,
  dryRun: false,
  ...overrides,
});

/** JOBS jobs in queue:default, pushed as a producer does (the newest at the head); the list, head first. */
async function seed(): Promise<{ expected: string[]; list: string[] }> {
  const jobs = Array.from({ length: JOBS }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
  await redis.source().lpush('queue:default', ...jobs);
  return { expected: jobs.map((j) => jobEntry('queue:default', j)).sort(), list: await redis.source().lrange('queue:default', 0, -1) };
}

/**
 * The target, its write pipelines running their first `ran` calls of copyJobsToLists-n4 and no
 * more (the rest swapped for a script that only fails: as if they never arrived), once.
 */
async function dyingAfter(ran: number, server = redis.target(), script = copyJobsToLists): Promise<Redis> {
  const dead = String(await server.script('LOAD', `return redis.error_reply("ERR the process died here")`));
  await server.script('LOAD', script.source);
  let n = 0;
  const target = server;
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (prop === 'pipeline') {
        return () => {
          const pipeline = t.pipeline();
          swapEvalsha(pipeline, (sha) => (sha === script.sha && ++n > ran ? dead : sha));
          return pipeline;
        };
      }
      const value = Reflect.get(t, prop, receiver);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

/** Slices of queue:default until it is done. */
async function finishQueue(ctx: TransferContext): Promise<void> {
  let cursor: QueueTransferCursor | null = null;
  for (let slices = 0; slices < 20; slices++) {
    const slice = await transferQueueSlice({ ...ctx, queue: 'default', cursor, sliceSize: MAX_JOBS_PER_CLAIM });
    if (slice.done) return;
    cursor = slice.cursor;
  }
  throw new Error('queue:default not done after 20 slices');
}

/** What the stopped attempt held when it stopped: its batch, the position it read from, the jobs. */
async function heldByTheStaleAttempt(): Promise<{ id: string; first: number; jobs: Buffer[] }> {
  const { id, base } = parseBatch((await redis.source().get(batch))!);
  return { id, first: base, jobs: await redis.source().lrangeBuffer(inflight, 0, -1) };
}

async function expectExactlyOnce(expected: string[], list: string[], what: string): Promise<void> {
  expect(await jobsOnBoth(redis.source(), redis.target()), what).toEqual(expected);
  // Front placement: the target's queue is the source's as it was, fetched in the same order.
  expect(await redis.target().lrange('queue:default', 0, -1), what).toEqual(list);
  // The run lock the test took stays (no run of these releases it).
  expect((await ourKeys(redis.source())).filter((key) => key !== LOCK), what).toEqual([]);
}

/**
 * The run's ledger: one number a batch (a hash), each batch counted whole (`sizes`: a slice that
 * finds a batch in flight claims into it, so a resumed batch is larger).
 */
async function expectCounts(runId: string, sizes: number[], what: string): Promise<void> {
  const key = ledgerKey('', runId, 'queue:default');
  expect(await redis.target().type(key), what).toBe('hash');
  expect(Object.values(await redis.target().hgetall(key)).map(Number).sort((a, b) => b - a), what).toEqual(sizes);
}

const RESUMERS = ['the same run going on', 'a later execution of the run (start --resume)', 'another run'] as const;
// 0…CALLS calls ran: CALLS is every call of the write, the process dying before the acknowledge.
/** The run lock `record` on both servers, as a plan (or a resume's) takes it. */
async function lockBoth(record: string): Promise<void> {
  for (const server of [redis.source(), redis.target()]) await server.set(LOCK, record);
}

const cases = RESUMERS.flatMap((resumer) => Array.from({ length: CALLS + 1 }, (_, ran) => [ran, resumer] as const));

describe('a queue ledger by position: a slice stopped inside its write', () => {
  it.each(cases)('after %i of the write calls ran, finished by %s, the stale attempt sending its write again: every job once, in order', async (ran, resumer) => {
    const { expected, list } = await seed();
    // A plan at 1000 holds the lock on both servers (the claim's and the write's lock guards read it: lib/claim-lock.lua).
    await lockBoth( JSON.stringify({ runId: RUN, plannedAt: 1000, expiresAt: Date.now() + 600_000 }));
    // Every call ran: the process dies before the acknowledge on the source instead.
    const stale = ran < CALLS ? context(redis.source(), await dyingAfter(ran), { plannedAt: 1000 }) : context(await dyingAfter(0, redis.source(), acknowledgeQueueBatch), redis.target(), { plannedAt: 1000 });

    await expect(transferQueueSlice({ ...stale, queue: 'default', cursor: null, sliceSize: MAX_JOBS_PER_CLAIM })).rejects.toThrow(/the process died here/);
    expect(await redis.target().llen('queue:default')).toBe(ran * MAX_JOBS_PER_WRITE);
    expect(await redis.target().hgetall(ledger)).toEqual(ran === 0 ? {} : { [parseBatch((await redis.source().get(batch))!).id]: String(ran * MAX_JOBS_PER_WRITE) });
    const held = await heldByTheStaleAttempt();
    expect(held.jobs).toHaveLength(MAX_JOBS_PER_CLAIM);

    if (resumer === 'the same run going on') {
      await finishQueue(context(redis.source(), redis.target(), { plannedAt: 1000 }));
    } else if (resumer === 'a later execution of the run (start --resume)') {
      await lockBoth(JSON.stringify({ runId: RUN, plannedAt: 2000, expiresAt: Date.now() + 600_000 }));
      const later = context(redis.source(), redis.target(), { plannedAt: 2000 });
      const resumed = await resumeInflight(later);
      expect(resumed).toMatchObject({ resumed: MAX_JOBS_PER_CLAIM, duplicates: ran * MAX_JOBS_PER_WRITE, written: MAX_JOBS_PER_CLAIM - ran * MAX_JOBS_PER_WRITE });
      await finishQueue(later);
    } else {
      await lockBoth(JSON.stringify({ runId: 'other', plannedAt: 3000, expiresAt: Date.now() + 600_000 }));
      const other = context(redis.source(), redis.target(), { runId: 'other', plannedAt: 3000 });
      // The other run writes the leftover through the ledger of the run that claimed it.
      const resumed = await resumeInflight(other);
      expect(resumed).toMatchObject({ resumed: MAX_JOBS_PER_CLAIM, duplicates: ran * MAX_JOBS_PER_WRITE, written: MAX_JOBS_PER_CLAIM - ran * MAX_JOBS_PER_WRITE });
      await finishQueue(other);
    }
    await expectExactlyOnce(expected, list, `${ran} calls, ${resumer}`);

    // The stale attempt comes back and sends its whole write again (its process was only paused).
    const counters = emptyTransferCounters();
    const again = writeJobsToQueues(redis.target(), keys, ledger, 'RPUSH', { id: held.id, first: held.first }, carryQueuedJobs(held.jobs, 'default', undefined, true), counters, targetLockOf(stale));
    if (resumer === 'the same run going on') {
      // Its lock is still the run's, as planned: the ledger counts the batch written, nothing goes twice.
      await again;
      expect(counters).toMatchObject({ written: 0, duplicates: MAX_JOBS_PER_CLAIM });
    } else {
      // A later execution, or another run, holds the lock: refused before the ledger is read.
      await expect(again).rejects.toBeInstanceOf(resumer === 'another run' ? Error : RunSupersededError);
      expect(counters).toMatchObject({ written: 0, duplicates: 0 });
    }
    await expectExactlyOnce(expected, list, `${ran} calls, ${resumer}, the stale write again`);
    // The same run's next slice claims into the batch it finds in flight; a resume writes it alone.
    const sizes = resumer === 'the same run going on' ? [2 * MAX_JOBS_PER_CLAIM, 100] : resumer === 'another run' ? [MAX_JOBS_PER_CLAIM] : [MAX_JOBS_PER_CLAIM, MAX_JOBS_PER_CLAIM, 100];
    await expectCounts(RUN, sizes, `${ran} calls, ${resumer}`);
    if (resumer === 'another run') await expectCounts('other', [MAX_JOBS_PER_CLAIM, 100], `${ran} calls, ${resumer}`);
  });

  it('a slice claimed twice (its claim sent again after the first claimed and its reply was lost), stopped inside its write: one batch of both claims, every job once, in order', async () => {
    const { expected, list } = await seed();
    const source = redis.source();
    const claimKeys = { queue: 'queue:default', inflight, batch, chain: claimChainKey('', RUN, 'queue:default'), stopMarker: `sidekiq-migrate:${RUN}:stopped`, lock: LOCK, originals: `sidekiq-migrate:${RUN}:originals:queue:default`, inflightIndex: 'sidekiq-migrate:inflight-keys' };
    const claim = { want: MAX_JOBS_PER_CLAIM, newBatch: newBatchId(), runId: RUN, newest: true, remaining: JOBS };
    // The first claim ran; its reply never came back.
    await claimQueueSlice(source, claimKeys, claim);
    // The claim again (a retried task): the jobs in flight first, then as many again, one batch.
    const again = await claimQueueSlice(source, claimKeys, { ...claim, newBatch: newBatchId(), remaining: JOBS - MAX_JOBS_PER_CLAIM });
    expect(again.held).toHaveLength(2 * MAX_JOBS_PER_CLAIM);
    const { id, base } = parseBatch(again.stored);
    // Its write dies after 7 of its 10 calls (one batch: positions 0…499).
    const counters = emptyTransferCounters();
    const carried = carryQueuedJobs(again.held, 'default', undefined, true);
    await expect(writeJobsToQueues(await dyingAfter(7), keys, ledger, 'RPUSH', { id, first: base }, carried, counters, targetLockOf(context(source, redis.target())))).rejects.toThrow(/the process died here/);
    expect(await redis.target().hgetall(ledger)).toEqual({ [id]: String(7 * MAX_JOBS_PER_WRITE) });

    await finishQueue(context(source, redis.target()));

    await expectExactlyOnce(expected, list, 'claimed twice');
    // The batch in flight took the queue's last 100 too (a slice claims into a batch it finds).
    await expectCounts(RUN, [JOBS], 'claimed twice');
  });

  it("a batch part-written under an older version's ledger of ids is finished through those ids; the run's next batches too (the ledger stays a set)", async () => {
    const { expected, list } = await seed();
    const stale = context(redis.source(), await dyingAfter(2));
    await expect(transferQueueSlice({ ...stale, queue: 'default', cursor: null, sliceSize: MAX_JOBS_PER_CLAIM })).rejects.toThrow(/the process died here/);
    // What an older version's write left for those two calls: the ids of the jobs it pushed.
    const { id } = parseBatch((await redis.source().get(batch))!);
    await redis.target().del(ledger);
    await redis.target().sadd(ledger, ...Array.from({ length: 2 * MAX_JOBS_PER_WRITE }, (_, i) => `${id}:${i}`));

    await finishQueue(context(redis.source(), redis.target()));

    await expectExactlyOnce(expected, list, 'older ledger');
    expect(await redis.target().type(ledger)).toBe('set');
    expect(await redis.target().scard(ledger)).toBe(JOBS);
  });
});
