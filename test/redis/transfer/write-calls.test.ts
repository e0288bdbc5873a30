// A slice's writes on the target go out as Lua calls of at most MAX_JOBS_PER_WRITE jobs (every
// Sidekiq client of the target waits while one runs, issue #18), all in one pipeline, in order:
// the jobs, their order and every counter are what a single call gave, and a call that fails in
// the middle leaves the slice in flight, to be finished in order by the resume.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { KeyTypeError } from '../../../core/redis/key-type-error.js';
import { classifyRedisError, RedisCommandError } from '../../../core/redis/redis-errors.js';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { transferQueueSlice } from '../../../core/transfer/queue-transfer.js';
import { resumeInflight } from '../../../core/transfer/resume-inflight.js';
import { transferSetSlice } from '../../../core/transfer/set-transfer.js';
import type { CarriedJob } from '../../../core/transfer/carry-job.js';
import { emptyTransferCounters } from '../../../core/transfer/transfer-counters.js';
import { MAX_JOBS_PER_CLAIM, MAX_JOBS_PER_WRITE } from '../../../core/transfer/transfer-options.js';
import { writeEntriesToSet, writeJobsToQueues, type LedgeredEntry } from '../../../core/transfer/write-to-target.js';
import { jobEntry, jobsIn, keyValueSnapshot, ourKeys } from '../../support/exact-jobs.js';
import { interferingRedis, type RedisCall } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { swapEvalsha } from '../../support/swap-evalsha.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const context = () => ({ source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'w', dryRun: false, sliceSize: MAX_JOBS_PER_CLAIM });
const jid = (i: number) => String(i).padStart(24, '0');
const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]`, jid: jid(i) });
const CALLS = Math.ceil(MAX_JOBS_PER_CLAIM / MAX_JOBS_PER_WRITE);
const copyJobsToLists = new LuaScript('copyJobsToLists-n4');
const copyEntriesToSet = new LuaScript('copyEntriesToSet-6');
const retireLedger = new LuaScript('retireLedger-4');
/** The pipelines to the target but the ledger's retirement at the pass's end (retireBeforePassEnd), reads kept. */
const copyThenRead = (pipelines: RedisCall[]) => pipelines.map((p) => p.scripts).filter((scripts) => scripts.length === 0 || scripts.some((sha) => sha !== retireLedger.sha));
/** A resume's pipelines to the target but its ledgers' retirement (retire-ledger.ts: a look, then the retire, each a call of its own). */
const writes = (pipelines: RedisCall[]) => pipelines.map((p) => p.scripts).filter((scripts) => !scripts.every((sha) => sha === retireLedger.sha));

// The run lock on the target that every write looks at first (none here: nobody holds it).
const lock = { key: 'sidekiq-migrate:lock', ledgers: 'sidekiq-migrate:ledgers', runId: 'run-1', where: 'on target' };

/** EVALSHA calls that ran to a reply that is not an error, since the last CONFIG RESETSTAT. */
async function evalshaRun(server: Redis): Promise<number> {
  const stats = /cmdstat_evalsha:calls=(\d+),.*?rejected_calls=(\d+),failed_calls=(\d+)/.exec(await server.info('commandstats'));
  return stats ? Number(stats[1]) - Number(stats[2]) - Number(stats[3]) : 0;
}

/** The target, recording each pipeline it sends (scripts: one SHA per EVALSHA in it). */
function recordingTarget(): { target: Redis; pipelines: RedisCall[] } {
  const pipelines: RedisCall[] = [];
  const target = interferingRedis(redis.target(), (call) => {
    if (call.command === 'pipeline') pipelines.push(call);
  });
  return { target, pipelines };
}

/**
 * The target, whose pipelines send the `nth` EVALSHA (1-based, counted over the whole client) to a
 * script that fails as Redis does when it is out of memory: one call of a pipeline failing while
 * the others run.
 */
async function failingNthCall(nth: number): Promise<Redis> {
  const oom = String(await redis.target().script('LOAD', `return redis.error_reply("OOM command not allowed when used memory > 'maxmemory'.")`));
  let n = 0;
  const target = redis.target();
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (prop === 'pipeline') {
        return () => {
          const pipeline = t.pipeline();
          swapEvalsha(pipeline, (sha) => (++n === nth ? oom : sha));
          return pipeline;
        };
      }
      const value = Reflect.get(t, prop, receiver);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

async function loadScripts(): Promise<void> {
  for (const script of [copyJobsToLists, copyEntriesToSet, retireLedger]) await redis.target().script('LOAD', script.source);
  await redis.target().config('RESETSTAT');
}

describe(`a slice's writes go out in calls of at most MAX_JOBS_PER_WRITE jobs, in one pipeline`, () => {
  it(`queue: ${MAX_JOBS_PER_CLAIM} jobs are ${CALLS} EVALSHA calls on the target in one round trip; every job once, in the source's order`, async () => {
    expect(MAX_JOBS_PER_WRITE).toBeLessThan(MAX_JOBS_PER_CLAIM);
    const source = redis.source();
    const jobs = Array.from({ length: MAX_JOBS_PER_CLAIM }, (_, i) => job(i));
    await source.lpush('queue:default', ...jobs);
    const before = await source.lrange('queue:default', 0, -1);
    await loadScripts();
    const { target, pipelines } = recordingTarget();

    const slice = await transferQueueSlice({ ...context(), target, queue: 'default', cursor: null });

    // And the pass's end: its ledger's retire, a look and a retire (retire-ledger.ts retireBeforePassEnd).
    expect(await evalshaRun(redis.target())).toBe(CALLS + 2);
    // Then the read that finds the copy still there before the acknowledge (copy-kept.ts): no script.
    expect(copyThenRead(pipelines)).toEqual([Array(CALLS).fill(copyJobsToLists.sha), []]);
    expect(slice.counters).toMatchObject({ claimed: MAX_JOBS_PER_CLAIM, written: MAX_JOBS_PER_CLAIM, duplicates: 0, writtenTo: { default: MAX_JOBS_PER_CLAIM } });
    // The same list across the calls' boundaries: Sidekiq fetches them in the source's order.
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(before);
    expect(await jobsIn(redis.target(), '')).toEqual(jobs.map((p) => jobEntry('queue:default', p)).sort());
    expect(await jobsIn(source, '')).toEqual([]);
    expect(await ourKeys(source)).toEqual([]);
  });

  it('set: conflicts in the second and third calls go back to the source as the right entries; the rest is written with its score', async () => {
    const source = redis.source();
    const entries = Array.from({ length: MAX_JOBS_PER_CLAIM }, (_, i) => [`${1795462903 + i}.25`, job(i)] as const);
    await source.zadd('schedule', ...entries.flat());
    // Bytes already on the target (another score): positions 61 and 120, i.e. the 2nd and 3rd calls.
    const [second, third] = [MAX_JOBS_PER_WRITE + 11, 2 * MAX_JOBS_PER_WRITE + 20];
    await redis.target().zadd('schedule', '1', job(second), '2', job(third));
    await loadScripts();
    const { target, pipelines } = recordingTarget();

    const slice = await transferSetSlice({ ...context(), target, set: 'schedule', cursor: null });

    // And the pass's end: its ledger's retire, a look and a retire (retire-ledger.ts retireBeforePassEnd).
    expect(await evalshaRun(redis.target())).toBe(CALLS + 2);
    // Then the read that finds the copy still there before the acknowledge (copy-kept.ts): no script.
    expect(copyThenRead(pipelines)).toEqual([Array(CALLS).fill(copyEntriesToSet.sha), []]);
    expect(slice.counters).toMatchObject({ claimed: MAX_JOBS_PER_CLAIM, written: MAX_JOBS_PER_CLAIM - 2, conflicts: 2, duplicates: 0, writtenTo: { schedule: MAX_JOBS_PER_CLAIM - 2 } });
    expect(slice.counters.conflictSamples.map((s) => s.jid)).toEqual([jid(second), jid(third)]);
    const conflicting = new Set([second, third]);
    expect(await jobsIn(redis.target(), '')).toEqual(
      [...entries.filter((_, i) => !conflicting.has(i)).map(([score, p]) => jobEntry('schedule', p, score)), jobEntry('schedule', job(second), '1'), jobEntry('schedule', job(third), '2')].sort(),
    );
    // The conflicts are back where they were, with their scores; nothing else is on the source.
    expect(await jobsIn(source, '', ['schedule'])).toEqual([jobEntry('schedule', job(second), entries[second]![0]), jobEntry('schedule', job(third), entries[third]![0])].sort());
    expect(await source.keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
  });

  it('conflict positions map to entries across calls (writeEntriesToSet)', async () => {
    const entries: LedgeredEntry[] = Array.from({ length: 3 * MAX_JOBS_PER_WRITE }, (_, i) => ({ id: `S:${i}`, member: Buffer.from(job(i)), payload: Buffer.from(job(i)), score: String(i) }));
    const at = [0, MAX_JOBS_PER_WRITE - 1, MAX_JOBS_PER_WRITE, 3 * MAX_JOBS_PER_WRITE - 1];
    for (const i of at) await redis.target().zadd('schedule', '0.5', job(i));
    const counters = emptyTransferCounters();

    const conflicts = await writeEntriesToSet(redis.target(), 'schedule', 'schedule', 'ledger', entries, counters, lock);

    expect(conflicts).toEqual(at.map((i) => entries[i]));
    expect(counters.conflicts).toBe(4);
    expect(counters.written).toBe(entries.length - 4);
    expect(await redis.target().smembers('ledger')).toHaveLength(entries.length - 4);
  });

  it('jobs already counted by the ledger, up to the middle of a later call, are duplicates counted once and written once', async () => {
    const target = redis.target();
    const jobs: CarriedJob[] = Array.from({ length: MAX_JOBS_PER_CLAIM }, (_, i) => ({ payload: Buffer.from(job(i)), queue: 'default', kind: 'as-is' }));
    const late = 3 * MAX_JOBS_PER_WRITE + 7;
    // An earlier attempt wrote the batch's first jobs, up to `late` (the ledger counts late + 1).
    await writeJobsToQueues(target, keys, 'ledger', 'RPUSH', { id: 'B', first: 0 }, jobs.slice(0, late + 1), emptyTransferCounters(), lock);
    const counters = emptyTransferCounters();

    await writeJobsToQueues(target, keys, 'ledger', 'RPUSH', { id: 'B', first: 0 }, jobs, counters, lock);

    expect(counters).toEqual({ ...emptyTransferCounters(), written: MAX_JOBS_PER_CLAIM - late - 1, duplicates: late + 1, writtenTo: { default: MAX_JOBS_PER_CLAIM - late - 1 } });
    expect(await target.lrange('queue:default', 0, -1)).toEqual(jobs.map((j) => String(j.payload)));
    // One number for the batch, not one id a job.
    expect(await target.hgetall('ledger')).toEqual({ B: String(MAX_JOBS_PER_CLAIM) });
  });
});

describe('one call of the pipeline fails', () => {
  it('a destination of the wrong type that only the last call writes to: the first call refuses, nothing is written (KeyTypeError)', async () => {
    const target = redis.target();
    await target.set('queue:b', 'not a list');
    const jobs: CarriedJob[] = Array.from({ length: MAX_JOBS_PER_CLAIM }, (_, i) => ({ payload: Buffer.from(job(i)), queue: i === MAX_JOBS_PER_CLAIM - 1 ? 'b' : 'a', kind: 'as-is' }));
    const before = await keyValueSnapshot(target, '');
    const counters = emptyTransferCounters();

    const error = await writeJobsToQueues(target, keys, 'ledger', 'RPUSH', { id: 'B', first: 0 }, jobs, counters, lock).then(
      () => null,
      (e: unknown) => classifyRedisError(e, 'Writing'),
    );

    expect(error).toBeInstanceOf(KeyTypeError);
    expect(error).toMatchObject({ key: 'queue:b', retryable: false });
    expect(await keyValueSnapshot(target, '')).toEqual(before);
    expect(counters).toEqual(emptyTransferCounters());
  });

  it('queue: the error surfaces typed, nothing is acknowledged, no later call writes; the resume finishes in order', async () => {
    const source = redis.source();
    const jobs = Array.from({ length: MAX_JOBS_PER_CLAIM }, (_, i) => job(i));
    await source.lpush('queue:default', ...jobs);
    const before = await source.lrange('queue:default', 0, -1);
    await loadScripts();

    const error = await transferQueueSlice({ ...context(), target: await failingNthCall(3), queue: 'default', cursor: null }).then(
      () => null,
      (e: unknown) => e,
    );

    // As an OOM always surfaced: fatal, with what we were doing.
    expect(error).toBeInstanceOf(RedisCommandError);
    expect(error).toMatchObject({ retryable: false, message: expect.stringMatching(/^Writing to the target \(the slice stays in flight on the source\): Redis is out of memory/) });
    // Calls 1 and 2 wrote the newest jobs (front placement claims them first); call 3 failed;
    // calls 4 and 5 were refused (the job before theirs was not written): no job passed another.
    const written = 2 * MAX_JOBS_PER_WRITE;
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(before.slice(0, written));
    // Nothing acknowledged: the whole slice is still in flight on the source.
    expect(await source.lrange('sidekiq-migrate:w:inflight:queue:default', 0, -1)).toEqual(before);

    const { target, pipelines } = recordingTarget();
    const resumed = await resumeInflight({ ...context(), target });

    // The resume writes through the same bounded calls, in one round trip.
    expect(writes(pipelines)).toEqual([Array(CALLS).fill(copyJobsToLists.sha)]);
    expect(resumed).toMatchObject({ written: MAX_JOBS_PER_CLAIM - written, duplicates: written, resumed: MAX_JOBS_PER_CLAIM });
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(before);
    expect(await jobsIn(redis.target(), '')).toEqual(jobs.map((p) => jobEntry('queue:default', p)).sort());
    expect(await jobsIn(source, '')).toEqual([]);
  });

  it('set: the error surfaces typed, nothing is acknowledged; the resume writes what is missing, each entry once with its score', async () => {
    const source = redis.source();
    const entries = Array.from({ length: MAX_JOBS_PER_CLAIM }, (_, i) => [`${1795462903 + i}.5`, job(i)] as const);
    await source.zadd('schedule', ...entries.flat());
    await loadScripts();

    const error = await transferSetSlice({ ...context(), target: await failingNthCall(2), set: 'schedule', cursor: null }).then(
      () => null,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(RedisCommandError);
    expect(error).toMatchObject({ retryable: false, message: expect.stringMatching(/^Writing to the target \(the slice stays in flight on the source\): Redis is out of memory/) });
    // Sorted by score, so order needs no guard: the calls after the failed one wrote.
    expect(await redis.target().zcard('schedule')).toBe(MAX_JOBS_PER_CLAIM - MAX_JOBS_PER_WRITE);
    expect(await source.zcard('sidekiq-migrate:w:inflight:schedule')).toBe(MAX_JOBS_PER_CLAIM);

    const { target, pipelines } = recordingTarget();
    const resumed = await resumeInflight({ ...context(), target });

    // The resume writes through the same bounded calls, in one round trip.
    expect(writes(pipelines)).toEqual([Array(CALLS).fill(copyEntriesToSet.sha)]);
    expect(resumed).toMatchObject({ written: MAX_JOBS_PER_WRITE, duplicates: MAX_JOBS_PER_CLAIM - MAX_JOBS_PER_WRITE, conflicts: 0 });
    expect(await jobsIn(redis.target(), '')).toEqual(entries.map(([score, p]) => jobEntry('schedule', p, score)).sort());
    expect(await jobsIn(source, '')).toEqual([]);
  });
});
