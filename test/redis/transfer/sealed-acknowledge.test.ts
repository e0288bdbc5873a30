// A set slice's acknowledge deletes the in-flight set instead of sending its members back only
// while the seal its claim left proves that the set holds exactly the slice's entries
// (claimSetEntries-16.lua, acknowledgeSetBatch-10.lua): every script that adds to the in-flight set
// replaces or deletes the seal, only an acknowledge removes from it. Each case below changes the
// in-flight set between a slice's claim and its acknowledge in a way that keeps its size, or
// resumes a slice over entries of two claims, and requires every job exactly once.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { acknowledgeSetEntries } from '../../../core/transfer/acknowledge.js';
import { claimSetSlice, type SetClaimKeys } from '../../../core/transfer/claim-calls.js';
import { newBatchId } from '../../../core/transfer/ledger-id.js';
import { transferSetSlice } from '../../../core/transfer/set-transfer.js';
import { acknowledgedKey, batchKey, claimChainKey, conflictsKey, inflightKey, inflightSealKey, originalsKey } from '../../../core/transfer/transfer-keys.js';
import { jobEntry, jobsIn, ourKeys } from '../../support/exact-jobs.js';
import { interferingRedis, SimulatedCrash, type RedisCall } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { jobsOnBoth } from '../../support/transfer-crash-loop.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const RUN = 'sealed';
const acknowledgeSetBatch = new LuaScript('acknowledgeSetBatch-10');
const claimSelectedSetEntries = new LuaScript('claimSelectedSetEntries-11');
const setKeys: SetClaimKeys = {
  set: 'schedule',
  inflight: inflightKey('', RUN, 'schedule'),
  batch: batchKey('', RUN, 'schedule'),
  conflicts: conflictsKey('', RUN, 'schedule'),
  chain: claimChainKey('', RUN, 'schedule'),
  stopMarker: `sidekiq-migrate:${RUN}:stopped`,
  lock: 'sidekiq-migrate:lock',
  seal: inflightSealKey('', RUN, 'schedule'),
  acknowledged: acknowledgedKey('', RUN, 'schedule'),
  originals: originalsKey('', RUN, 'schedule'),
  inflightIndex: 'sidekiq-migrate:inflight-keys',
};
const ackKeys = { inflight: setKeys.inflight, batch: setKeys.batch, source: setKeys.set, conflicts: setKeys.conflicts, seal: setKeys.seal, acknowledged: setKeys.acknowledged, inflightIndex: setKeys.inflightIndex };
const score = (i: number) => `${1795459303 + i}.5`;
const ENTRIES = Array.from({ length: 8 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
const entry = (i: number) => ENTRIES[i]!;
const context = (source: Redis, target: Redis) => ({ source, target, sourceKeys: keys, targetKeys: keys, runId: RUN, dryRun: false, sliceSize: 3, set: 'schedule' as const });

/** `count` entries in schedule, due in their order; every one as jobEntry prints it. */
async function seed(count: number): Promise<string[]> {
  for (let i = 0; i < count; i++) await redis.source().zadd('schedule', score(i), entry(i));
  return Array.from({ length: count }, (_, i) => jobEntry('schedule', entry(i), score(i))).sort();
}

/** The members of the in-flight set, soonest first. */
const inflight = () => redis.source().zrange(setKeys.inflight, 0, '-1');

/** The source, recording the scripts of each pipeline it sends. */
function recordingSource(): { source: Redis; pipelines: string[][] } {
  const pipelines: string[][] = [];
  return { source: interferingRedis(redis.source(), (call: RedisCall) => void (call.command === 'pipeline' && pipelines.push([...call.scripts]))), pipelines };
}

describe('the in-flight set changed between the claim and the acknowledge, its size kept', () => {
  it('another attempt acknowledged one entry and a selective claim added one: the seal is gone, the members are sent, the added entry stays in flight', async () => {
    await seed(5);
    const claim = await claimSetSlice(redis.source(), setKeys, { want: 3, newBatch: newBatchId(), runId: RUN });
    expect(claim.held.map((e) => e.member.toString())).toEqual([entry(0), entry(1), entry(2)]);
    // Another attempt that held entry 0 acknowledges it (by members: it holds no seal).
    await acknowledgeSetEntries(redis.source(), ackKeys, claim.stored, [Buffer.from(entry(0))], []);
    // A class-selective claim of the same run takes entry 3: three in flight again, as the seal says.
    await claimSelectedSetEntries.run(redis.source(), { keys: [setKeys.set, setKeys.inflight, setKeys.batch, setKeys.conflicts, setKeys.seal, 'no-stop-marker', 'no-lock', setKeys.acknowledged, setKeys.inflightIndex], args: ['unused', 'run', '', entry(3), score(3)] });
    expect(await redis.source().zcard(setKeys.inflight)).toBe(3);

    const how = await acknowledgeSetEntries(redis.source(), ackKeys, claim.stored, claim.held.map((e) => e.member), [], claim.seal);

    expect(how).toBe('by members');
    expect(await inflight()).toEqual([entry(3)]);
    expect(await redis.source().zrange('schedule', 0, '-1')).toEqual([entry(4)]);
  });

  it('another attempt acknowledged one entry and another slice claimed one: that slice sealed it, the members are sent, its entry stays in flight', async () => {
    await seed(5);
    const claim = await claimSetSlice(redis.source(), setKeys, { want: 3, newBatch: newBatchId(), runId: RUN });
    await acknowledgeSetEntries(redis.source(), ackKeys, claim.stored, [Buffer.from(entry(0))], []);
    const other = await claimSetSlice(redis.source(), setKeys, { want: 1, newBatch: newBatchId(), runId: RUN });
    expect(other.held.map((e) => e.member.toString())).toEqual([entry(1), entry(2), entry(3)]);

    expect(await acknowledgeSetEntries(redis.source(), ackKeys, claim.stored, claim.held.map((e) => e.member), [], claim.seal)).toBe('by members');
    expect(await inflight()).toEqual([entry(3)]);
    // The other slice's seal names three entries; one is in flight: it sends its members too.
    expect(await acknowledgeSetEntries(redis.source(), ackKeys, other.stored, other.held.map((e) => e.member), [], other.seal)).toBe('by members');
    expect(await inflight()).toEqual([]);
    expect(await ourKeys(redis.source())).toEqual([]);
  });

  it('an entry added by a script that does not know the seal (an older version of the claim: a ZADD here) changes the size: the members are sent, that entry stays in flight', async () => {
    await seed(5);
    const claim = await claimSetSlice(redis.source(), setKeys, { want: 3, newBatch: newBatchId(), runId: RUN });
    await redis.source().zrem('schedule', entry(3));
    await redis.source().zadd(setKeys.inflight, score(3), entry(3));

    expect(await acknowledgeSetEntries(redis.source(), ackKeys, claim.stored, claim.held.map((e) => e.member), [], claim.seal)).toBe('by members');
    expect(await inflight()).toEqual([entry(3)]);
  });

  it('the seal held: the in-flight set, its batch id and the seal are deleted in one call that carries no member', async () => {
    await seed(5);
    const claim = await claimSetSlice(redis.source(), setKeys, { want: 3, newBatch: newBatchId(), runId: RUN });
    expect(await redis.source().get(setKeys.seal)).toBe(claim.seal);
    expect(await redis.source().pttl(setKeys.seal)).toBeGreaterThan(0);
    await redis.source().config('RESETSTAT');

    expect(await acknowledgeSetEntries(redis.source(), ackKeys, claim.stored, claim.held.map((e) => e.member), [], claim.seal)).toBe('sealed');

    expect(await ourKeys(redis.source())).toEqual([]);
    expect(await redis.source().zrange('schedule', 0, '-1')).toEqual([entry(3), entry(4)]);
    expect(await redis.source().info('commandstats')).toMatch(/cmdstat_evalsha:calls=1,/);
  });

  it('a slice with a conflict sends its members (the conflict goes back to the set), though its seal holds', async () => {
    await seed(3);
    const claim = await claimSetSlice(redis.source(), setKeys, { want: 3, newBatch: newBatchId(), runId: RUN });
    const [first, ...rest] = claim.held.map((e) => e.member);

    expect(await acknowledgeSetEntries(redis.source(), ackKeys, claim.stored, rest, [first!], claim.seal)).toBe('by members');
    expect(await redis.source().zrange('schedule', 0, '-1', 'WITHSCORES')).toEqual([entry(0), score(0)]);
    expect(await inflight()).toEqual([]);
  });
});

describe('a slice resumed over the entries of two claims', () => {
  it('an attempt claimed and died before writing; the next slice holds those and its own, writes all, and its sealed acknowledge deletes them: every entry once', async () => {
    const expected = await seed(7);
    const deadTarget = interferingRedis(redis.target(), () => {
      throw new SimulatedCrash('died before writing');
    });
    await expect(transferSetSlice({ ...context(redis.source(), deadTarget), cursor: null })).rejects.toThrow();
    expect(await inflight()).toEqual([entry(0), entry(1), entry(2)]);
    const { source, pipelines } = recordingSource();

    const slice = await transferSetSlice({ ...context(source, redis.target()), cursor: { limit: 7, claimed: 3 } });

    expect(slice.counters).toMatchObject({ claimed: 3, resumed: 3, written: 6, duplicates: 0 });
    // The claim, then one acknowledge call: the seal covered both claims' entries.
    expect(pipelines.map((p) => p.length)).toEqual([1, 1]);
    expect(await inflight()).toEqual([]);
    expect(await jobsOnBoth(redis.source(), redis.target())).toEqual(expected);
    expect(await jobsIn(redis.target())).toEqual([0, 1, 2, 3, 4, 5].map((i) => jobEntry('schedule', entry(i), score(i))).sort());
    expect(await redis.source().zrange('schedule', 0, '-1')).toEqual([entry(6)]);
  });

  it('a second attempt claimed into the batch before the first acknowledged: the first sends its members, removing only its own; the second sends its members, the set having shrunk; every entry once', async () => {
    const expected = await seed(6);
    let second: Awaited<ReturnType<typeof claimSetSlice>> | undefined;
    const acks: string[][] = [];
    const first = interferingRedis(redis.source(), async ({ command, scripts }) => {
      if (command !== 'pipeline' || !scripts.includes(acknowledgeSetBatch.sha)) return;
      acks.push([...scripts]);
      second ??= await claimSetSlice(redis.source(), setKeys, { want: 3, newBatch: newBatchId(), runId: RUN });
    });

    await transferSetSlice({ ...context(first, redis.target()), cursor: null });

    // The sealed call came back -1 (the seal was the second attempt's), then the members went.
    expect(acks).toHaveLength(2);
    expect(second!.held).toHaveLength(6);
    expect(await inflight()).toEqual([entry(3), entry(4), entry(5)]);

    // The second attempt goes on: it writes all six (three already there) and acknowledges.
    const next = await transferSetSlice({ ...context(redis.source(), redis.target()), cursor: { limit: 6, claimed: 6 } });
    expect(next.counters).toMatchObject({ claimed: 0, resumed: 3, written: 3 });
    expect(await jobsIn(redis.target())).toEqual(expected);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await ourKeys(redis.source())).toEqual([]);
  });
});
