// A source's index of in-flight keys (core/transfer/inflight-index.ts) named every in-flight key
// any claim ever wrote until a summary took out the names of keys gone (forgetGoneInflightKeys-1):
// a run of 10,000 queues left 10,000 names (1 MB) that every reader paid for (bench/README.md,
// audit-ackindex). Now the acknowledge that empties an in-flight key takes its name out in the
// same call (acknowledgeQueueBatch-4.lua, acknowledgeSetBatch-10.lua), and only then: an in-flight
// key that holds jobs must stay named whatever ran before, or a summary reading the index says
// Complete while jobs sit in flight. Each case stops after every call (a crash there leaves what the
// calls before it wrote: each is one Lua script) and requires that every in-flight key is named and
// that a look by the index finds every job in flight.
import type { RedisKey } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { acknowledgeQueueJobs, acknowledgeSetEntries } from '../../../core/transfer/acknowledge.js';
import { claimQueueSlice, claimSetSlice, type QueueClaimKeys, type SetClaimKeys } from '../../../core/transfer/claim-calls.js';
import { INFLIGHT_WALKED, lookForInflightKeys } from '../../../core/transfer/inflight-index.js';
import { newBatchId, parseBatch } from '../../../core/transfer/ledger-id.js';
import { acknowledgedKey, batchKey, claimChainKey, conflictsKey, inflightKey, inflightSealKey, originalsKey } from '../../../core/transfer/transfer-keys.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const RUN = 'ackindex';
const INDEX = 'sidekiq-migrate:inflight-keys';
const common = { chain: claimChainKey('', RUN, 'x'), stopMarker: `sidekiq-migrate:${RUN}:stopped`, lock: 'sidekiq-migrate:lock', inflightIndex: INDEX };
const queueKeys: QueueClaimKeys = { ...common, queue: 'queue:q', inflight: inflightKey('', RUN, 'queue:q'), batch: batchKey('', RUN, 'queue:q'), chain: claimChainKey('', RUN, 'queue:q'), originals: originalsKey('', RUN, 'queue:q') };
const setKeys: SetClaimKeys = {
  ...common,
  set: 'schedule',
  inflight: inflightKey('', RUN, 'schedule'),
  batch: batchKey('', RUN, 'schedule'),
  conflicts: conflictsKey('', RUN, 'schedule'),
  chain: claimChainKey('', RUN, 'schedule'),
  seal: inflightSealKey('', RUN, 'schedule'),
  acknowledged: acknowledgedKey('', RUN, 'schedule'),
  originals: originalsKey('', RUN, 'schedule'),
};
const setAckKeys = { inflight: setKeys.inflight, batch: setKeys.batch, source: setKeys.set, conflicts: setKeys.conflicts, seal: setKeys.seal, acknowledged: setKeys.acknowledged, inflightIndex: INDEX };
const payload = (i: number) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` });

/** The queue slice of one attempt: its claim, then its acknowledge of what it claimed (as written). */
function queueAttempt(want: number) {
  let claimed: { stored: string; held: number } | undefined;
  return [
    async () => {
      const c = await claimQueueSlice(redis.source(), queueKeys, { want, newBatch: newBatchId(), runId: RUN, newest: false, remaining: await redis.source().llen('queue:q') });
      claimed = { stored: c.stored, held: c.held.length };
    },
    async () => {
      const { id, base } = parseBatch(claimed!.stored);
      await acknowledgeQueueJobs(redis.source(), queueKeys.inflight, queueKeys.batch, id, base + claimed!.held, INDEX);
    },
  ];
}

/** The set slice of one attempt: its claim, then its acknowledge (sealed when `sealed`, else by members). */
function setAttempt(want: number, sealed: boolean) {
  let claimed: Awaited<ReturnType<typeof claimSetSlice>> | undefined;
  return [
    async () => {
      claimed = await claimSetSlice(redis.source(), setKeys, { want, newBatch: newBatchId(), runId: RUN });
    },
    async () => {
      await acknowledgeSetEntries(redis.source(), setAckKeys, claimed!.stored, claimed!.held.map((e) => e.member), [], sealed ? claimed!.seal : undefined);
    },
  ];
}

/** Every order of two attempts' steps that keeps each attempt's own order. */
function interleavings<T>(a: T[], b: T[]): T[][] {
  if (a.length === 0) return [b];
  if (b.length === 0) return [a];
  return [...interleavings(a.slice(1), b).map((r) => [a[0]!, ...r]), ...interleavings(a, b.slice(1)).map((r) => [b[0]!, ...r])];
}

/** An in-flight key that exists is named in the index, and a look by the index (marked) finds all it holds. */
async function expectNamedAndFound(key: RedisKey, where: string): Promise<void> {
  const source = redis.source();
  const inflight = String(key);
  const held = (await source.type(inflight)) === 'list' ? await source.llen(inflight) : await source.zcard(inflight);
  if (held > 0) expect(await source.sismember(INDEX, inflight), `${inflight} not named ${where}`).toBe(1);
  // A look by the index, as a summary's at a Redis marked walked; the mark taken out again after.
  const marked = await source.sismember(INDEX, INFLIGHT_WALKED);
  await source.sadd(INDEX, INFLIGHT_WALKED);
  const look = await lookForInflightKeys(source, new SidekiqKeys(''), {}, { mark: false });
  if (!marked) await source.srem(INDEX, INFLIGHT_WALKED);
  expect(look.walked).toBe(false);
  expect(look.inflight.find((l) => l.key === inflight)?.size ?? 0, where).toBe(held);
}

describe('the acknowledge that empties an in-flight key takes its name out of the index, and only then', () => {
  it('queue: a slice acknowledged whole leaves no name; one acknowledged in part (a job claimed after it read the batch) stays named until its last job is', async () => {
    const source = redis.source();
    for (let i = 0; i < 3; i++) await source.rpush('queue:q', payload(i));
    const [claimA, ackA] = queueAttempt(1);
    await claimA!();
    expect(await source.smembers(INDEX)).toEqual([queueKeys.inflight]);
    await ackA!();
    expect(await source.exists(queueKeys.inflight)).toBe(0);
    expect(await source.exists(INDEX)).toBe(0);

    // Claim B joins C's batch after C's claim read it: C's acknowledge leaves B's job in flight, named.
    const [claimC, ackC] = queueAttempt(1);
    const [claimB, ackB] = queueAttempt(1);
    await claimC!();
    await claimB!();
    await ackC!();
    expect(await source.llen(queueKeys.inflight)).toBe(1);
    expect(await source.smembers(INDEX)).toEqual([queueKeys.inflight]);
    await ackB!();
    expect(await source.exists(queueKeys.inflight)).toBe(0);
    expect(await source.exists(INDEX)).toBe(0);
  });

  it('set: a slice acknowledged whole, sealed or by members, leaves no name; a conflict kept in flight keeps it named', async () => {
    const source = redis.source();
    for (let i = 0; i < 4; i++) await source.zadd('schedule', 1795459303 + i, payload(i));
    for (const sealed of [true, false]) {
      const [claim, ack] = setAttempt(1, sealed);
      await claim!();
      expect(await source.smembers(INDEX)).toEqual([setKeys.inflight]);
      await ack!();
      expect(await source.exists(setKeys.inflight), `sealed ${sealed}`).toBe(0);
      expect(await source.exists(INDEX), `sealed ${sealed}`).toBe(0);
    }
    // A conflict whose bytes are back on the source meanwhile stays in flight (acknowledgeSetBatch: ZADD NX adds nothing).
    const claim = await claimSetSlice(source, setKeys, { want: 1, newBatch: newBatchId(), runId: RUN });
    const member = claim.held[0]!.member;
    await source.zadd('schedule', 1, member);
    await acknowledgeSetEntries(source, setAckKeys, claim.stored, [], [member]);
    expect(await source.zcard(setKeys.inflight)).toBe(1);
    expect(await source.smembers(INDEX)).toEqual([setKeys.inflight]);
  });

  for (const [kind, attempt, inflight, seed] of [
    ['queue', () => queueAttempt(2), queueKeys.inflight, async () => { for (let i = 0; i < 5; i++) await redis.source().rpush('queue:q', payload(i)); }],
    ['set (sealed)', () => setAttempt(2, true), setKeys.inflight, async () => { for (let i = 0; i < 5; i++) await redis.source().zadd('schedule', 1795459303 + i, payload(i)); }],
    ['set (by members)', () => setAttempt(2, false), setKeys.inflight, async () => { for (let i = 0; i < 5; i++) await redis.source().zadd('schedule', 1795459303 + i, payload(i)); }],
  ] as const) {
    it(`${kind}: two overlapping attempts of the same slice, every order of their claims and acknowledges, stopped after every call: whatever is in flight is named and found`, async () => {
      const orders = interleavings<readonly ['A' | 'B', number]>([0, 1].map((s) => ['A', s] as const), [0, 1].map((s) => ['B', s] as const));
      expect(orders).toHaveLength(6);
      for (const order of orders) {
        await redis.source().flushall();
        await seed();
        const steps = { A: attempt(), B: attempt() };
        const name = order.map(([who, s]) => `${who}${s === 0 ? 'claim' : 'ack'}`).join(' ');
        for (const [i, [who, s]] of order.entries()) {
          await steps[who][s]!();
          await expectNamedAndFound(inflight, `after ${order.slice(0, i + 1).map(([w, t]) => `${w}${t === 0 ? 'claim' : 'ack'}`).join(' ')} of ${name}`);
        }
        // Both acknowledged: nothing in flight, and no name left.
        expect(await redis.source().exists(inflight), name).toBe(0);
        expect(await redis.source().exists(INDEX), name).toBe(0);
      }
    });
  }
});
