// A slice's count is a guess from the payload sizes seen so far (page-bytes.ts): a pass that starts
// with small jobs sizes its next slice for small jobs. When that slice meets jobs of 1-2 MB, the
// claim's Lua calls stop at MAX_PAGE_BYTES of payloads (claim-calls.ts, claimQueueJobs-14.lua,
// claimSetEntries-16.lua), so a slice never holds more than that, or one larger job alone, whatever
// the claim cap (MAX_JOBS_PER_CLAIM, 1,000) and the page size: the bound on what a Lambda of 1 GB holds.
// Each slice is asserted from its claimed count and the known size of each job at each position;
// the claims sent ahead (claim-ahead.ts) run too.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MAX_PAGE_BYTES } from '../../../core/redis/page-bytes.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { transferQueue } from '../../../core/transfer/queue-transfer.js';
import { transferSet } from '../../../core/transfer/set-transfer.js';
import type { TransferCounters } from '../../../core/transfer/transfer-counters.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
/** Small jobs first (the pass sizes its slices by them), then BIG jobs of 1-2 MB. */
const SMALL = 30;
const BIG = 160;
const MIB = 2 ** 20;
const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest('hex');

/** The jobs in claim order: SMALL of ~100 B, then BIG of 1 to 2 MiB (sizes spread, none alike). */
function jobs(): string[] {
  const small = Array.from({ length: SMALL }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
  const big = Array.from({ length: BIG }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `["${String(i).padStart(4, '0')}${'x'.repeat(MIB + Math.floor((i * MIB) / BIG))}"]` }));
  return [...small, ...big];
}

const context = () => ({
  source: redis.source(),
  target: redis.target(),
  sourceKeys: keys,
  targetKeys: keys,
  runId: 'bound',
  dryRun: false,
  // A page as large as allowed, and slices that may claim ahead: only the byte bound holds them.
  sliceSize: 10_000,
  claimAheadWithin: 1_000,
});

/** Each slice's payload bytes, from its claimed count and the sizes in claim order. */
function sliceBytes(claimed: readonly number[], sizes: readonly number[]): { count: number; bytes: number }[] {
  let at = 0;
  return claimed.map((count) => {
    const bytes = sizes.slice(at, at + count).reduce((a, b) => a + b, 0);
    at += count;
    return { count, bytes };
  });
}

/** A list's payload digests, read a few at a time (hundreds of MB in one reply is what this test is against). */
async function digestsOf(client: Redis, key: string): Promise<string[]> {
  const all: string[] = [];
  for (let at = 0; ; at += 20) {
    const page = await client.lrangeBuffer(key, at, at + 19);
    all.push(...page.map(sha1));
    if (page.length < 20) return all;
  }
}

function expectBounded(slices: readonly { count: number; bytes: number }[]): void {
  for (const [i, { count, bytes }] of slices.entries()) {
    // A slice of several jobs stays within the bound; a job larger than it moves alone.
    if (count > 1) expect(bytes, `slice ${i + 1} (${count} jobs)`).toBeLessThanOrEqual(MAX_PAGE_BYTES);
  }
}

describe(`a slice holds at most MAX_PAGE_BYTES of payloads, whatever its count (${BIG} jobs of 1-2 MB behind ${SMALL} small ones)`, () => {
  it('queue: every slice of several jobs within the bound, the big ones one a slice; every job once, in order', { timeout: 240_000 }, async () => {
    const inClaimOrder = jobs();
    const source = redis.source();
    // Front placement claims from the head: RPUSH in claim order puts the first at the head.
    for (let i = 0; i < inClaimOrder.length; i += 10) await source.rpush('queue:default', ...inClaimOrder.slice(i, i + 10));
    const claimed: number[] = [];

    const run = await transferQueue({ ...context(), queue: 'default', onPage: (page) => void claimed.push((page.counters as TransferCounters).claimed) });

    expect(run.done).toBe(true);
    expect(run.counters).toMatchObject({ claimed: SMALL + BIG, written: SMALL + BIG, duplicates: 0, resumed: 0 });
    const slices = sliceBytes(claimed, inClaimOrder.map((j) => Buffer.byteLength(j)));
    expectBounded(slices);
    // The small ones fill the first slice (the first big one would pass the bound); each big one
    // then moves alone. (A claim sent ahead that ran before the acknowledge, re-sent after its
    // first NOSCRIPT, found the slice before still in flight and full: a slice of 0.)
    expect(slices.map((s) => s.count).filter((n) => n > 0)).toEqual([SMALL, ...Array.from({ length: BIG }, () => 1)]);
    expect(await source.exists('queue:default')).toBe(0);
    // The same list on the target, in the source's order.
    expect(await digestsOf(redis.target(), 'queue:default')).toEqual(inClaimOrder.map(sha1));
  });

  it('queue, append placement (claimed from the consumer end): the same bound; the jobs past it go back to that end, in order', { timeout: 240_000 }, async () => {
    const inClaimOrder = jobs().slice(0, SMALL + 20);
    const source = redis.source();
    // Append placement claims from the tail (RPOP): LPUSH in claim order puts the first at the tail.
    for (const job of inClaimOrder) await source.lpush('queue:default', job);
    const before = await digestsOf(source, 'queue:default');
    const claimed: number[] = [];

    const run = await transferQueue({ ...context(), queue: 'default', placement: 'append', onPage: (page) => void claimed.push((page.counters as TransferCounters).claimed) });

    expect(run.done).toBe(true);
    expect(run.counters).toMatchObject({ claimed: inClaimOrder.length, written: inClaimOrder.length, duplicates: 0, resumed: 0 });
    const slices = sliceBytes(claimed, inClaimOrder.map((j) => Buffer.byteLength(j)));
    expectBounded(slices);
    expect(slices.map((s) => s.count).filter((n) => n > 0)).toEqual([SMALL, ...Array.from({ length: 20 }, () => 1)]);
    expect(await source.exists('queue:default')).toBe(0);
    expect(await digestsOf(redis.target(), 'queue:default')).toEqual(before);
  });

  it('set: every slice of several entries within the bound; every entry once with its score', { timeout: 240_000 }, async () => {
    const inClaimOrder = jobs().slice(0, SMALL + BIG / 2);
    const source = redis.source();
    for (let i = 0; i < inClaimOrder.length; i += 10) await source.zadd('retry', ...inClaimOrder.slice(i, i + 10).flatMap((j, k) => [1795459303 + i + k, j]));
    const claimed: number[] = [];

    const run = await transferSet({ ...context(), set: 'retry', onPage: (page) => void claimed.push((page.counters as TransferCounters).claimed) });

    expect(run.done).toBe(true);
    expect(run.counters).toMatchObject({ claimed: inClaimOrder.length, written: inClaimOrder.length, duplicates: 0, resumed: 0 });
    const slices = sliceBytes(claimed, inClaimOrder.map((j) => Buffer.byteLength(j)));
    expectBounded(slices);
    expect(slices.map((s) => s.count).filter((n) => n > 0)).toEqual([SMALL, ...Array.from({ length: BIG / 2 }, () => 1)]);
    expect(await source.exists('retry')).toBe(0);
    const onTarget: string[] = [];
    for (let at = 0; at < inClaimOrder.length; at += 20) {
      const page = await redis.target().zrangeBuffer('retry', at, String(at + 19), 'WITHSCORES');
      for (let i = 0; i < page.length; i += 2) onTarget.push(`${sha1(page[i]!)} ${page[i + 1]!.toString()}`);
    }
    expect(onTarget).toEqual(inClaimOrder.map((j, i) => `${sha1(j)} ${1795459303 + i}`));
  });
});
