import type { Redis } from 'ioredis';
import { overlappingCalls, readKeptContiguous } from '../redis/overlapping-reads.js';

/**
 * Most ZRANGE BYSCORE calls a walk by score (set-page.ts walkSetCalls) sends at once: a page of
 * 1,000 (the default page size) in one round trip instead of five, each call still at most
 * MAX_ENTRIES_PER_SCAN_CALL entries (issue #18: every Redis call short, since every Sidekiq client
 * waits behind it; measured on redis-server 7.0, bench payloads of ~700 bytes: one call of 200
 * 0.31 ms at the median, of 500 0.67–0.70 ms, of 1,000 1.1–1.2 ms, so one larger call is not the
 * way; bench/README.md audit-pages). A page's Lua writes go out pipelined the same way.
 */
export const WALK_CALLS_AT_ONCE = 5;

/** What readAboveBound read: entries in (score, member) order, and how many it asked for in all. */
export interface ReadAboveBound {
  /** member, score, member, score… */
  readonly flat: Buffer[];
  /** Fewer entries than this: the set had no more above the bound when it was read. */
  readonly asked: number;
}

/**
 * The first `want` entries (at most) of `key` with a score above `bound` (all scores when
 * undefined), read by up to WALK_CALLS_AT_ONCE ZRANGE BYSCORE calls sent in one pipeline: the
 * first from offset 0, each next from the offset of the last one's final entry, so that each
 * reply starts with the entry the one before ended with.
 *
 * Why the reply is what one atomic call of its size would have been for every entry present all
 * along: Redis may let other clients run between the calls (Sidekiq's poller removing due entries,
 * a producer adding one), and an offset counts whatever is there when its call runs, so a removal
 * below it would skip an entry and an addition repeat one. A call's reply is therefore kept only
 * if its first entry is the one the kept reply before it ended with (member and score): then the
 * entries from there up to its last are contiguous in the set as that call found it, and every
 * entry present all along that sorts below that shared entry was in an earlier reply. The first
 * call that fails the check (or comes back empty: nothing shows it is contiguous) is dropped with
 * every call after it; `asked` then counts only the kept ones, so the caller goes on from what
 * was kept, as it did after one call. None of the calls writes, so dropping one costs nothing but
 * its read. Nothing of ours writes above the bound meanwhile: the writes of the page before (in
 * flight, drive-pages.ts) are all at or below it.
 */
export async function readAboveBound(redis: Redis, key: string, bound: string | undefined, want: number): Promise<ReadAboveBound> {
  const min = bound === undefined ? '-inf' : `(${bound}`;
  // Each call after the first starts one entry back, on the last entry of the call before it.
  const calls = overlappingCalls(0, want, WALK_CALLS_AT_ONCE);
  return readKeptContiguous(redis.pipeline(), key, calls, (p, { offset, count }) => p.zrangeBuffer(key, min, '+inf', 'BYSCORE', 'LIMIT', offset, count, 'WITHSCORES'));
}
