// A slice's claim on the source goes out as Lua calls of at most MAX_JOBS_PER_CLAIM_CALL jobs (every
// Sidekiq client of the source waits while one runs, issue #18), all in one pipeline, in order (a
// set's acknowledge too):
// the slice claims what one call claimed, under the same ledger positions; a call that fails
// leaves the calls before it claimed and every later one harmless; a call that ran out, or an
// in-flight key changed by another attempt between two calls, stops the later ones.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LuaScript, type LuaArg } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import type { PageResult } from '../../../core/reroute/drive-pages.js';
import { transferQueueSlice, type QueueTransferCursor } from '../../../core/transfer/queue-transfer.js';
import { claimSetSlice } from '../../../core/transfer/claim-calls.js';
import { resumeInflight } from '../../../core/transfer/resume-inflight.js';
import { transferSetSlice, type SetTransferCursor } from '../../../core/transfer/set-transfer.js';
import type { TransferCounters } from '../../../core/transfer/transfer-counters.js';
import { MAX_JOBS_PER_CLAIM, MAX_JOBS_PER_CLAIM_CALL } from '../../../core/transfer/transfer-options.js';
import { jobEntry, jobsIn, ourKeys } from '../../support/exact-jobs.js';
import { interferingRedis, type RedisCall } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { swapEvalsha } from '../../support/swap-evalsha.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const context = () => ({ source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'c', dryRun: false, sliceSize: MAX_JOBS_PER_CLAIM });
const jid = (i: number) => String(i).padStart(24, '0');
const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]`, jid: jid(i) });
const CALLS = Math.ceil(MAX_JOBS_PER_CLAIM / MAX_JOBS_PER_CLAIM_CALL);
const claimQueueJobs = new LuaScript('claimQueueJobs-14');
const claimSetEntries = new LuaScript('claimSetEntries-16');
const acknowledgeQueueBatch = new LuaScript('acknowledgeQueueBatch-4');
const acknowledgeSetBatch = new LuaScript('acknowledgeSetBatch-10');
const INFLIGHT_Q = 'sidekiq-migrate:c:inflight:queue:default';
const INFLIGHT_S = 'sidekiq-migrate:c:inflight:schedule';

/** EVALSHA calls that ran to a reply that is not an error, since the last CONFIG RESETSTAT. */
async function evalshaRun(server: Redis): Promise<number> {
  const stats = /cmdstat_evalsha:calls=(\d+),.*?rejected_calls=(\d+),failed_calls=(\d+)/.exec(await server.info('commandstats'));
  return stats ? Number(stats[1]) - Number(stats[2]) - Number(stats[3]) : 0;
}

async function loadScripts(): Promise<void> {
  for (const script of [claimQueueJobs, claimSetEntries, acknowledgeQueueBatch, acknowledgeSetBatch]) await redis.source().script('LOAD', script.source);
  await redis.source().config('RESETSTAT');
}

/** The source, recording each pipeline it sends (scripts: one SHA per EVALSHA in it). */
function recordingSource(): { source: Redis; pipelines: RedisCall[] } {
  const pipelines: RedisCall[] = [];
  const source = interferingRedis(redis.source(), (call) => {
    if (call.command === 'pipeline') pipelines.push(call);
  });
  return { source, pipelines };
}

type Pipeline = ReturnType<Redis['pipeline']> & { _queue: unknown[] };

/**
 * The source, whose pipelines send the `failAt`-th EVALSHA (1-based, counted over the client) to
 * a script that replies with `error` (one call of a pipeline failing while the others run), and
 * queue `after.get(n)` right after the n-th EVALSHA: another client's commands, run by Redis
 * between two of the claim's calls. Their replies are taken out of what the code under test sees.
 */
async function sourceInterfering(plan: { failAt?: number; error?: string; after?: Map<number, LuaArg[][]> }): Promise<Redis> {
  const failing = String(await redis.source().script('LOAD', `return redis.error_reply(${JSON.stringify(plan.error ?? '')})`));
  let n = 0;
  const real = redis.source();
  return new Proxy(real, {
    get(t, prop, receiver) {
      if (prop === 'pipeline') {
        return () => {
          const pipeline = t.pipeline() as Pipeline;
          const injected: number[] = [];
          swapEvalsha(
            pipeline,
            (sha) => (++n === plan.failAt ? failing : sha),
            () => {
              for (const [command, ...args] of plan.after?.get(n) ?? []) {
                injected.push(pipeline._queue.length);
                pipeline.call(String(command), ...args);
              }
            },
          );
          const exec = pipeline.exec.bind(pipeline);
          pipeline.exec = (async () => ((await exec()) ?? []).filter((_, i) => !injected.includes(i))) as Pipeline['exec'];
          return pipeline;
        };
      }
      const value = Reflect.get(t, prop, receiver);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

/** Runs slices until one is done; the results. */
async function slicesUntilDone<C>(slice: (cursor: C | null) => Promise<PageResult<C, TransferCounters>>, from: C | null = null): Promise<PageResult<C, TransferCounters>[]> {
  const results: PageResult<C, TransferCounters>[] = [];
  let cursor = from;
  for (let done = false; !done; ) {
    const result = await slice(cursor);
    results.push(result);
    [cursor, done] = [result.cursor, result.done];
  }
  return results;
}

async function seedQueue(count: number): Promise<{ jobs: string[]; before: string[] }> {
  const jobs = Array.from({ length: count }, (_, i) => job(i));
  for (let i = 0; i < jobs.length; i += 100) await redis.source().lpush('queue:default', ...jobs.slice(i, i + 100));
  return { jobs, before: await redis.source().lrange('queue:default', 0, -1) };
}

async function seedSet(count: number): Promise<(readonly [string, string])[]> {
  const entries = Array.from({ length: count }, (_, i) => [`${1795462903 + i}.25`, job(i)] as const);
  for (let i = 0; i < entries.length; i += 100) await redis.source().zadd('schedule', ...entries.slice(i, i + 100).flat());
  return entries;
}

describe(`a slice's claim goes out in calls of at most MAX_JOBS_PER_CLAIM_CALL jobs, in one pipeline`, () => {
  it(`queue: ${MAX_JOBS_PER_CLAIM} jobs are ${CALLS} claim calls in one round trip and one acknowledge; every job once, in order; no bookkeeping left`, async () => {
    expect(MAX_JOBS_PER_CLAIM_CALL).toBeLessThan(MAX_JOBS_PER_CLAIM);
    const { jobs, before } = await seedQueue(MAX_JOBS_PER_CLAIM);
    await loadScripts();
    const { source, pipelines } = recordingSource();

    const slice = await transferQueueSlice({ ...context(), source, queue: 'default', cursor: null });

    expect(await evalshaRun(redis.source())).toBe(CALLS + 1);
    // First, the pass's first read (its length and the size probe in one pipeline, page-bytes.ts sizeAndBytesPerJob), no script.
    // Last, the pass's end: a look at its in-flight key before its ledger is retired and its count goes (retire-ledger.ts retireBeforePassEnd), no script.
    expect(pipelines.map((p) => p.scripts)).toEqual([[], Array(CALLS).fill(claimQueueJobs.sha), [acknowledgeQueueBatch.sha], []]);
    expect(slice).toMatchObject({ done: true, counters: { claimed: MAX_JOBS_PER_CLAIM, written: MAX_JOBS_PER_CLAIM, resumed: 0, duplicates: 0 } });
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(before);
    expect(await jobsIn(redis.target(), '')).toEqual(jobs.map((p) => jobEntry('queue:default', p)).sort());
    expect(await jobsIn(redis.source(), '')).toEqual([]);
    // The ledger counts the positions one call gave: 0…249 of one batch, all written.
    const [ledger] = await redis.target().keys('sidekiq-migrate:c:ledger:*');
    expect(Object.values(await redis.target().hgetall(ledger!))).toEqual([String(MAX_JOBS_PER_CLAIM)]);
    expect(await ourKeys(redis.source())).toEqual([]);
  });

  it(`set: ${MAX_JOBS_PER_CLAIM} entries are ${CALLS} claim calls in one round trip and one sealed acknowledge call (no member sent) in another; each once with its score`, async () => {
    const entries = await seedSet(MAX_JOBS_PER_CLAIM + 10);
    await loadScripts();
    const { source, pipelines } = recordingSource();

    const slices = await slicesUntilDone((cursor: SetTransferCursor | null) => transferSetSlice({ ...context(), source, set: 'schedule', cursor }));

    expect(slices.map((s) => s.counters.claimed)).toEqual([MAX_JOBS_PER_CLAIM, 10]);
    // First, the pass's first read (its size and the size probe in one pipeline, page-bytes.ts sizeAndBytesPerJob), no script.
    // Last, the pass's end: a look at its in-flight key before its ledger is retired and its count goes (retire-ledger.ts retireBeforePassEnd), no script.
    expect(pipelines.map((p) => p.scripts)).toEqual([[], Array(CALLS).fill(claimSetEntries.sha), [acknowledgeSetBatch.sha], [claimSetEntries.sha], [acknowledgeSetBatch.sha], []]);
    expect(await evalshaRun(redis.source())).toBe(CALLS + 3);
    expect(await jobsIn(redis.target(), '')).toEqual(entries.map(([score, p]) => jobEntry('schedule', p, score)).sort());
    expect(await jobsIn(redis.source(), '')).toEqual([]);
    expect(await ourKeys(redis.source())).toEqual([]);
  });

  it('the scripts vanish from the server between two calls (SCRIPT FLUSH): the rest is sent again and claims in order', async () => {
    const { before } = await seedQueue(MAX_JOBS_PER_CLAIM);
    await loadScripts();
    const source = await sourceInterfering({ after: new Map([[2, [['SCRIPT', 'FLUSH']]]]) });

    const slice = await transferQueueSlice({ ...context(), source, queue: 'default', cursor: null });

    expect(slice.counters).toMatchObject({ claimed: MAX_JOBS_PER_CLAIM, written: MAX_JOBS_PER_CLAIM, duplicates: 0 });
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(before);
    expect(await ourKeys(redis.source())).toEqual([]);
  });
});

describe('one claim call fails half-way through the slice', () => {
  for (const error of ["OOM command not allowed when used memory > 'maxmemory'.", 'WRONGTYPE Operation against a key holding the wrong kind of value']) {
    it(`queue, call 3 of ${CALLS} replies ${error.split(' ')[0]}: calls 1–2's jobs stay in flight, the later calls claim nothing; every job once; the resume and the next slices finish in order`, async () => {
      const { jobs, before } = await seedQueue(MAX_JOBS_PER_CLAIM + 30);
      await loadScripts();
      const source = await sourceInterfering({ failAt: 3, error });

      const failed = await transferQueueSlice({ ...context(), source, queue: 'default', cursor: null }).then(
        () => null,
        (e: unknown) => e,
      );

      // The error surfaces as the slice's, classified as any reply of Redis is.
      expect(failed).toBeInstanceOf(Error);
      expect((failed as Error).message).toMatch(/^Transferring queue:default: /);
      // Front placement claims the newest first: calls 1 and 2 took the 100 newest, in claim order.
      const claimed = 2 * MAX_JOBS_PER_CLAIM_CALL;
      expect(await redis.source().lrange(INFLIGHT_Q, 0, -1)).toEqual(before.slice(0, claimed));
      expect(await redis.source().lrange('queue:default', 0, -1)).toEqual(before.slice(claimed));
      expect(await jobsIn(redis.target(), '')).toEqual([]);
      // Every job exactly once: in the queue or in flight.
      expect([...(await redis.source().lrange('queue:default', 0, -1)), ...(await redis.source().lrange(INFLIGHT_Q, 0, -1))].sort()).toEqual([...jobs].sort());

      const resumed = await resumeInflight(context());
      expect(resumed).toMatchObject({ resumed: claimed, written: claimed, duplicates: 0 });
      expect(await redis.source().keys('sidekiq-migrate:c:inflight:*')).toEqual([]);
      // The run goes on from the cursor it had (the failed slice returned none): the rest, in order.
      await slicesUntilDone((cursor: QueueTransferCursor | null) => transferQueueSlice({ ...context(), queue: 'default', cursor }), null);
      expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(before);
      expect(await jobsIn(redis.target(), '')).toEqual(jobs.map((p) => jobEntry('queue:default', p)).sort());
      expect(await jobsIn(redis.source(), '')).toEqual([]);
    });
  }

  it(`set, call 2 of ${CALLS} replies OOM: call 1's entries stay in flight, the later calls claim nothing; every entry once with its score after the resume`, async () => {
    const entries = await seedSet(MAX_JOBS_PER_CLAIM);
    const all = entries.map(([score, p]) => jobEntry('schedule', p, score)).sort();
    await loadScripts();
    const source = await sourceInterfering({ failAt: 2, error: "OOM command not allowed when used memory > 'maxmemory'." });

    await expect(transferSetSlice({ ...context(), source, set: 'schedule', cursor: null })).rejects.toThrow(/^Transferring schedule: Redis is out of memory/);

    // The soonest 50 are in flight with their scores; the rest is still in the set.
    const withScores = async (key: string) => (await redis.source().zrange(key, 0, '-1', 'WITHSCORES')).join('\n');
    expect(await withScores(INFLIGHT_S)).toEqual(entries.slice(0, MAX_JOBS_PER_CLAIM_CALL).flatMap(([score, p]) => [p, score]).join('\n'));
    expect(await withScores('schedule')).toEqual(entries.slice(MAX_JOBS_PER_CLAIM_CALL).flatMap(([score, p]) => [p, score]).join('\n'));

    expect(await resumeInflight(context())).toMatchObject({ resumed: MAX_JOBS_PER_CLAIM_CALL, written: MAX_JOBS_PER_CLAIM_CALL });
    await slicesUntilDone((cursor: SetTransferCursor | null) => transferSetSlice({ ...context(), set: 'schedule', cursor }));
    expect(await jobsIn(redis.target(), '')).toEqual(all);
    expect(await jobsIn(redis.source(), '')).toEqual([]);
  });
});

describe("one of a set slice's acknowledge calls fails", () => {
  const SEAL_S = 'sidekiq-migrate:c:seal:schedule';

  it(`the sealed acknowledge replies OOM: every entry stays in flight (written, in the ledger); every entry once; the resume finishes`, async () => {
    const entries = await seedSet(MAX_JOBS_PER_CLAIM);
    const all = entries.map(([score, p]) => jobEntry('schedule', p, score)).sort();
    await loadScripts();
    // EVALSHA 1–5 are the claim's calls, 6 the sealed acknowledge.
    const source = await sourceInterfering({ failAt: CALLS + 1, error: "OOM command not allowed when used memory > 'maxmemory'." });

    await expect(transferSetSlice({ ...context(), source, set: 'schedule', cursor: null })).rejects.toThrow(/^Transferring schedule: Redis is out of memory/);

    expect(await jobsIn(redis.target(), '')).toEqual(all);
    expect(await redis.source().zrange(INFLIGHT_S, 0, '-1', 'WITHSCORES')).toEqual(entries.flatMap(([score, p]) => [p, score]));
    expect(await redis.source().exists('schedule')).toBe(0);

    expect(await resumeInflight(context())).toMatchObject({ resumed: MAX_JOBS_PER_CLAIM, written: 0, duplicates: MAX_JOBS_PER_CLAIM });
    expect(await jobsIn(redis.target(), '')).toEqual(all);
    expect(await jobsIn(redis.source(), '')).toEqual([]);
    // Only the interrupted pass's count (claimSetEntries-16.lua KEYS[10]): the run's next pass of the set starts over it and deletes it at its end.
    expect(await ourKeys(redis.source())).toEqual(['sidekiq-migrate:c:originals:schedule']);
  });

  it(`the seal no longer holds, so the members are sent; call 3 of ${CALLS} replies OOM: the others' entries leave the in-flight set, its own stay (written, in the ledger); every entry once; the resume finishes`, async () => {
    const entries = await seedSet(MAX_JOBS_PER_CLAIM);
    const all = entries.map(([score, p]) => jobEntry('schedule', p, score)).sort();
    await loadScripts();
    // EVALSHA 1–5 are the claim's calls; the seal is gone after the 5th (as if it had expired), so
    // the sealed acknowledge (6) writes nothing, and 7–11 acknowledge by members.
    const source = await sourceInterfering({ after: new Map([[CALLS, [['DEL', SEAL_S]]]]), failAt: CALLS + 1 + 3, error: "OOM command not allowed when used memory > 'maxmemory'." });

    await expect(transferSetSlice({ ...context(), source, set: 'schedule', cursor: null })).rejects.toThrow(/^Transferring schedule: Redis is out of memory/);

    expect(await jobsIn(redis.target(), '')).toEqual(all);
    const third = entries.slice(2 * MAX_JOBS_PER_CLAIM_CALL, 3 * MAX_JOBS_PER_CLAIM_CALL);
    expect(await redis.source().zrange(INFLIGHT_S, 0, '-1', 'WITHSCORES')).toEqual(third.flatMap(([score, p]) => [p, score]));
    expect(await redis.source().exists('schedule')).toBe(0);

    expect(await resumeInflight(context())).toMatchObject({ resumed: MAX_JOBS_PER_CLAIM_CALL, written: 0, duplicates: MAX_JOBS_PER_CLAIM_CALL });
    expect(await jobsIn(redis.target(), '')).toEqual(all);
    expect(await jobsIn(redis.source(), '')).toEqual([]);
    // Only the interrupted pass's count, as above.
    expect(await ourKeys(redis.source())).toEqual(['sidekiq-migrate:c:originals:schedule']);
  });
});

describe('jobs pushed above the window (newest first)', () => {
  it('stay where they are, in their order, through every call of the slice; the originals below them are claimed in order', async () => {
    const { before } = await seedQueue(200);
    const arrivals = Array.from({ length: 30 }, (_, i) => job(1000 + i));
    await redis.source().lpush('queue:default', ...arrivals);
    const after = await redis.source().lrange('queue:default', 0, -1);

    const slice = await transferQueueSlice({ ...context(), queue: 'default', cursor: { limit: 200, claimed: 0 } });

    expect(slice).toMatchObject({ done: true, counters: { claimed: 200, written: 200, leftOnSource: 30 } });
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(before);
    expect(await redis.source().lrange('queue:default', 0, -1)).toEqual(after.slice(0, 30));
    expect(await ourKeys(redis.source())).toEqual([]);
  });
});

describe('the chain stops the later calls', () => {
  it('newest: a call that ran out (fetchers took originals) lets no later call claim a job pushed meanwhile above the window', async () => {
    const { before } = await seedQueue(200);
    const arrival = job(1000);
    // Fetchers took the 110 oldest after the pass counted 200; a producer pushes between calls 2 and 3.
    const start = { limit: 200, claimed: 0 };
    await redis.source().rpop('queue:default', 110);
    const source = await sourceInterfering({ after: new Map([[2, [['LPUSH', 'queue:default', arrival]]]]) });

    const slice = await transferQueueSlice({ ...context(), source, queue: 'default', cursor: start });

    // Call 1 took 50 originals, call 2 the last 40 (ran out), calls 3 and 4 nothing.
    expect(slice).toMatchObject({ done: true, counters: { claimed: 90, written: 90, leftOnSource: 1 } });
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(before.slice(0, 90));
    expect(await redis.source().lrange('queue:default', 0, -1)).toEqual([arrival]);
    expect(await ourKeys(redis.source())).toEqual([]);
  });

  it('set: between two calls another attempt acknowledges one entry and another claims one (the in-flight size kept): the later calls claim nothing, the sealed acknowledge deletes nothing it did not write; every entry once', async () => {
    const entries = await seedSet(MAX_JOBS_PER_CLAIM + 20);
    const all = entries.map(([score, p]) => jobEntry('schedule', p, score)).sort();
    await loadScripts();
    const lock = 'sidekiq-migrate:lock';
    const setKeys = {
      set: 'schedule', inflight: INFLIGHT_S, batch: 'sidekiq-migrate:c:batch:schedule', conflicts: 'sidekiq-migrate:c:conflicts:schedule', chain: 'sidekiq-migrate:c:claim-chain:schedule',
      stopMarker: 'sidekiq-migrate:c:stopped', lock, seal: 'sidekiq-migrate:c:seal:schedule', acknowledged: 'sidekiq-migrate:c:acknowledged:schedule',
      originals: 'sidekiq-migrate:c:originals:schedule', inflightIndex: 'sidekiq-migrate:inflight-keys',
    };
    // An earlier attempt B of the run claimed the soonest entry (its batch), and is still running.
    const b = await claimSetSlice(redis.source(), setKeys, { want: 1, newBatch: 'b', runId: 'c' });
    expect(b.held.map((e) => e.member.toString())).toEqual([entries[0]![1]]);
    // Between this slice's calls 1 and 2: B acknowledges its entry by members (as its slice does once
    // it wrote it; this slice holds it too and writes it again, once on the target by the ledger),
    // and a slice of one call, C, claims the next entry and dies before writing it.
    const ackKeys = [INFLIGHT_S, setKeys.batch, 'schedule', setKeys.conflicts, setKeys.seal, setKeys.acknowledged, setKeys.inflightIndex];
    const claimKeys = [setKeys.set, setKeys.inflight, setKeys.batch, setKeys.conflicts, setKeys.chain, setKeys.stopMarker, lock, setKeys.seal, setKeys.acknowledged, setKeys.originals, setKeys.inflightIndex];
    const source = await sourceInterfering({
      after: new Map([[1, [
        ['EVALSHA', acknowledgeSetBatch.sha, ackKeys.length, ...ackKeys, 'b', 60, 1, '', entries[0]![1]],
        ['EVALSHA', claimSetEntries.sha, claimKeys.length, ...claimKeys, 1, 'c-batch', 'c-token', 1, 'last', 60000, 'c', '', 600000, '', ''],
      ]]]),
    });

    const first = await transferSetSlice({ ...context(), source, set: 'schedule', cursor: null });

    // Call 1's claims and what was in flight then (B's entry) only: call 2 found another's claim
    // since (the seal C's), though the in-flight set had the size call 1 left.
    expect(first.counters).toMatchObject({ claimed: MAX_JOBS_PER_CLAIM_CALL, resumed: 1, written: MAX_JOBS_PER_CLAIM_CALL + 1 });
    // C's entry, which this slice never held, is still in flight.
    const c = entries[1 + MAX_JOBS_PER_CLAIM_CALL]!;
    expect(await redis.source().zrange(INFLIGHT_S, 0, '-1')).toEqual([c[1]]);
    expect(await resumeInflight(context())).toMatchObject({ resumed: 1, written: 1 });
    await slicesUntilDone((cursor: SetTransferCursor | null) => transferSetSlice({ ...context(), set: 'schedule', cursor }));
    expect(await jobsIn(redis.target(), '')).toEqual(all);
    expect(await jobsIn(redis.source(), '')).toEqual([]);
  });

  it('another attempt claims between two calls: the later calls claim nothing, the ledger positions stay right, and the next slices move every job once, in order', async () => {
    const { jobs, before } = await seedQueue(MAX_JOBS_PER_CLAIM);
    // What a concurrent claim of the same run does: the next newest job into the in-flight list.
    const source = await sourceInterfering({ after: new Map([[1, [['LMOVE', 'queue:default', INFLIGHT_Q, 'LEFT', 'RIGHT']]]]) });

    const first = await transferQueueSlice({ ...context(), source, queue: 'default', cursor: null });

    expect(first).toMatchObject({ done: false, counters: { claimed: MAX_JOBS_PER_CLAIM_CALL, written: MAX_JOBS_PER_CLAIM_CALL } });
    // The other attempt's job stays in flight (this slice did not write it), at its position.
    expect(await redis.source().lrange(INFLIGHT_Q, 0, -1)).toEqual([before[MAX_JOBS_PER_CLAIM_CALL]]);
    await slicesUntilDone((cursor: QueueTransferCursor | null) => transferQueueSlice({ ...context(), queue: 'default', cursor }), first.cursor);
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(before);
    expect(await jobsIn(redis.target(), '')).toEqual(jobs.map((p) => jobEntry('queue:default', p)).sort());
    expect(await jobsIn(redis.source(), '')).toEqual([]);
    expect(await ourKeys(redis.source())).toEqual([]);
  });
});
