// A queue re-route's pass keeps where it stands on the Redis, written by each slice's calls with
// their moves (rerouteQueueJobs-n4.lua's pass key, core/reroute/pass-record.ts). Call k > 1 of a slice
// is recorded only after call k - 1 of the same slice, so a slice cut in two by a failed call stays
// recorded as not done; call 1 never sets a later slice's record of the same generation back (a
// stale attempt still running); a record of another generation is replaced. The counts are the
// calls' own: what each pushed to each destination and found gone, summed over the slice.
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { passStart, type PassRecord } from '../../../core/reroute/pass-record.js';
import type { QueueCursor } from '../../../core/reroute/queue-slice.js';
import { emptyCounters } from '../../../core/reroute/reroute-counters.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();
const script = new LuaScript('rerouteQueueJobs-n4');

const cursor = (examined: number): QueueCursor => ({ limit: 40, examined, kept: 0 });
const owner = { runId: 'run', plannedAt: 1000, plannedBy: 'arn' };

function record(before: number, after: number, calls: number): PassRecord {
  return { calls, before: cursor(before), after: cursor(after), done: false, counted: { ...emptyCounters(), moved: before }, slice: { ...emptyCounters(), scanned: after - before }, names: ['new'] };
}

/** Call k of a slice: moves `jobs` from queue:old to queue:new, with the pass's fields. */
function call(prefix: string, token: string, k: number, generation: string, rec: PassRecord, jobs: string[]) {
  const args: string[] = ['RPUSH', '1', '1', 'new', '0', '', token, String(k), String(rec.after.examined), generation, k === 1 ? JSON.stringify(rec) : '', 'run', 'pass-end:queue:old'];
  for (const job of jobs) args.push(job, job.replace('"queue":"old"', '"queue":"new"'), '1', '0');
  return script.run(redis, { keys: [`${prefix}queue:old`, `${prefix}queues`, `${prefix}queue:new`, `${prefix}sidekiq-migrate:run:originals:queue:old`, `${prefix}sidekiq-migrate:lock`, `${prefix}sidekiq-migrate:run:page-receipts`], args });
}

/** The run lock as a start of run `runId` planned at `plannedAt` by `arn` holds it. */
const holdLock = (prefix: string, runId = 'run', plannedAt = 1000) => redis.set(`${prefix}sidekiq-migrate:lock`, JSON.stringify({ runId, plannedAt, plannedBy: 'arn', expiresAt: Date.now() + 60_000 }));

async function seed(prefix: string, n: number): Promise<string[]> {
  const jobs = Array.from({ length: n }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  await redis.lpush(`${prefix}queue:old`, ...jobs);
  await holdLock(prefix);
  return jobs;
}

describe("rerouteQueueJobs-n4 keeps the pass's record with its moves", () => {
  it("a slice's calls in order: the record is whole, its counts the calls' sum (one job gone before its call)", async () => {
    const prefix = uniquePrefix();
    const jobs = await seed(prefix, 6);
    await redis.lrem(`${prefix}queue:old`, 1, jobs[5]!); // a worker took it first
    const rec = record(0, 6, 2);
    expect(await call(prefix, 't1', 1, '1000 arn', rec, jobs.slice(0, 3))).toEqual([0, 3]);
    expect(await call(prefix, 't1', 2, '1000 arn', rec, jobs.slice(3, 6))).toEqual([1, 2]);
    expect(await redis.get(`${prefix}sidekiq-migrate:run:originals:queue:old`)).toBe(`t1 2 6 1000 arn\n1 5\n${JSON.stringify(rec)}`);
    // A task that starts with the cursor before the slice starts after it, its counters the record's.
    const start = await passStart(redis, prefix, owner, 'old', cursor(0));
    expect(start).toMatchObject({ cursor: cursor(6), done: false, counted: { moved: 5, movedTo: { new: 5 }, vanished: 1, scanned: 6 } });
  });

  it("call 2 of a slice whose call 1 did not run is not recorded: the record stays the slice before's", async () => {
    const prefix = uniquePrefix();
    const jobs = await seed(prefix, 6);
    const earlier = record(0, 3, 1);
    await call(prefix, 't0', 1, '1000 arn', earlier, jobs.slice(0, 3));
    const kept = await redis.get(`${prefix}sidekiq-migrate:run:originals:queue:old`);
    // The next slice's call 2 runs (its moves happen), its call 1 never did.
    expect(await call(prefix, 't1', 2, '1000 arn', record(3, 6, 2), jobs.slice(4, 6))).toEqual([0, 2]);
    expect(await redis.get(`${prefix}sidekiq-migrate:run:originals:queue:old`)).toBe(kept);
    expect((await passStart(redis, prefix, owner, 'old', null)).cursor).toEqual(cursor(3));
  });

  it("a slice cut in two: the record is partial, and a task starts from before it", async () => {
    const prefix = uniquePrefix();
    const jobs = await seed(prefix, 6);
    await call(prefix, 't1', 1, '1000 arn', record(0, 6, 2), jobs.slice(0, 3));
    const start = await passStart(redis, prefix, owner, 'old', null);
    expect(start).toMatchObject({ cursor: cursor(0), done: false, counted: { moved: 0, scanned: 0 } });
  });

  it("call 1 of a stale attempt never sets a later slice's record back; another generation's record is replaced", async () => {
    const prefix = uniquePrefix();
    const jobs = await seed(prefix, 9);
    await call(prefix, 't2', 1, '1000 arn', record(3, 6, 1), jobs.slice(0, 3));
    const kept = await redis.get(`${prefix}sidekiq-migrate:run:originals:queue:old`);
    await call(prefix, 't1', 1, '1000 arn', record(0, 3, 1), jobs.slice(3, 6));
    expect(await redis.get(`${prefix}sidekiq-migrate:run:originals:queue:old`)).toBe(kept);
    // A later start of the run (another generation) begins its own pass.
    expect((await passStart(redis, prefix, { runId: 'run', plannedAt: 2000, plannedBy: 'arn' }, 'old', null)).cursor).toBeNull();
    await holdLock(prefix, 'run', 2000);
    await call(prefix, 't3', 1, '2000 arn', record(0, 3, 1), jobs.slice(6, 9));
    expect(await redis.get(`${prefix}sidekiq-migrate:run:originals:queue:old`)).toMatch(/^t3 1 3 2000 arn\n0 3\n/);
  });

  // A page task's attempt that Step Functions gave up on may still move after its pass ended or its
  // run ended (its lock released): its moves happen, each job once, but it writes no record, which
  // nothing would delete then (a key with no expiry; overlapping-page-attempts.test.ts).
  it.each([
    ['the run released its lock (it ended)', async (prefix: string) => void (await redis.del(`${prefix}sidekiq-migrate:lock`))],
    ['another run holds the lock', async (prefix: string) => void (await holdLock(prefix, 'other'))],
    ['a later start of the run holds the lock', async (prefix: string) => void (await holdLock(prefix, 'run', 2000))],
    ["the pass ended (its record is in the receipts, this generation's)", async (prefix: string) => void (await redis.hset(`${prefix}sidekiq-migrate:run:page-receipts`, 'pass-end:queue:old', `t0 1 3 1000 arn\n0 3\n${JSON.stringify(record(0, 3, 1))}`))],
  ])('no record written when %s; the jobs still move, each once', async (_, after) => {
    const prefix = uniquePrefix();
    const jobs = await seed(prefix, 3);
    await after(prefix);
    expect(await call(prefix, 't1', 1, '1000 arn', record(3, 6, 1), jobs)).toEqual([0, 3]);
    expect(await redis.exists(`${prefix}sidekiq-migrate:run:originals:queue:old`)).toBe(0);
    expect(await redis.llen(`${prefix}queue:old`)).toBe(0);
    expect(await redis.lrange(`${prefix}queue:new`, 0, -1)).toEqual(jobs.map((job) => job.replace('"queue":"old"', '"queue":"new"')));
  });

  it("an earlier start's end of the pass in the receipts does not stop this start's record", async () => {
    const prefix = uniquePrefix();
    const jobs = await seed(prefix, 3);
    await redis.hset(`${prefix}sidekiq-migrate:run:page-receipts`, 'pass-end:queue:old', `t0 1 3 999 arn\n0 3\n{}`);
    await call(prefix, 't1', 1, '1000 arn', record(0, 3, 1), jobs);
    expect(await redis.get(`${prefix}sidekiq-migrate:run:originals:queue:old`)).toMatch(/^t1 1 3 1000 arn\n0 3\n/);
  });

  it('a pass record of another type is refused before any job moves', async () => {
    const prefix = uniquePrefix();
    const jobs = await seed(prefix, 3);
    await redis.hset(`${prefix}sidekiq-migrate:run:originals:queue:old`, 'f', 'v');
    await expect(call(prefix, 't1', 1, '1000 arn', record(0, 3, 1), jobs)).rejects.toThrow(/^WRONGTYPE/);
    expect(await redis.llen(`${prefix}queue:old`)).toBe(3);
  });
});
