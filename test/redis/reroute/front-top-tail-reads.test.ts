// The front count's tail search (core/reroute/front-top.ts arrivedAboveTop) when the jobs kept
// outnumber the list's jobs (workers popped most of them): offsets at or above the list's length
// hold nothing, so the search starts no higher than the length its last read returned. Before,
// each chunk of up to 1,000 above the end was an empty LRANGE round trip (1,000,000 kept and an
// empty list: ~1,000 round trips, none of them counted against the step's reads).
import { describe, expect, it } from 'vitest';
import { arrivedAboveTop } from '../../../core/reroute/front-top.js';
import { entryDigest } from '../../../core/reroute/rewritten-entries.js';
import { privateRedis } from '../../support/private-redis.js';
import { countingCommands } from '../../support/recording-redis.js';

const redis = privateRedis();
const KEY = 'queue:default';
const job = (n: number) => Buffer.from(JSON.stringify({ class: 'W', jid: `j${n}`, queue: 'default' }));

async function count(top: string, kept: number) {
  const sent = countingCommands(redis.client());
  const result = await arrivedAboveTop(redis.client(), KEY, top, kept, undefined);
  return { result, lranges: sent.stop().filter((c) => c === 'LRANGE').length };
}

describe('front count with more kept than the list holds', () => {
  it('an empty list (every job popped): 0 arrived, no read above the end', async () => {
    const { result, lranges } = await count(entryDigest(job(0)), 1_000_000);
    expect(result).toEqual({ arrived: 0 });
    expect(lranges).toBeLessThanOrEqual(1);
  });

  it('10 jobs, the top popped: all 10 counted as arrived, no read above the end', async () => {
    // Oldest at the tail (RPUSH order from the tail: LPUSH as producers do).
    for (let n = 1; n <= 10; n++) await redis.client().lpush(KEY, job(n));
    const { result, lranges } = await count(entryDigest(job(0)), 1_000_000);
    expect(result).toEqual({ arrived: 10 });
    // The first read (near the expected offset, empty), then the 10 jobs from the tail and from the head.
    expect(lranges).toBeLessThanOrEqual(3);
  });

  it('10 jobs, the top 4th from the tail (999,997 kept popped): the 6 above it arrived', async () => {
    for (let n = 1; n <= 10; n++) await redis.client().lpush(KEY, job(n));
    const { result, lranges } = await count(entryDigest(job(4)), 1_000_000);
    expect(result).toEqual({ arrived: 6 });
    expect(lranges).toBeLessThanOrEqual(2);
  });

  it('a stopping Sidekiq RPUSHes fetched jobs below the top meanwhile: over, never under', async () => {
    // Kept jobs below the top, most popped; the count then reads from the head: still every job
    // above the top counted, and the pushed-back ones with them when it is not found.
    for (let n = 1; n <= 10; n++) await redis.client().lpush(KEY, job(n));
    await redis.client().rpush(KEY, job(100), job(101));
    const { result } = await count(entryDigest(job(4)), 1_000_000);
    expect(result).toEqual({ arrived: 6 });
  });
});
