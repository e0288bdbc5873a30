import type { Redis, RedisKey } from 'ioredis';

/**
 * How many payload bytes one read of jobs aims to carry at most: a transfer's slice, a re-route's
 * page (a ZSCAN of a set, an LRANGE of a queue). Sidekiq payloads are ~1 KB, but GitLab's size
 * limiter leaves large ones alone unless it is set to reject them, and 1,000 jobs of 2 MB are 2 GB
 * held at once in a reply, its copies and its writes: a Lambda of 1 GB runs out of memory (or
 * time), again on every retry. A read of jobs of that size takes fewer of them instead.
 *
 * 1 MiB, for Redis's sake as much as ours: Redis builds a reply while every other client waits,
 * and large replies cost more than their size (redis-server 7.0, entries of 16 KiB, medians):
 * ZSCAN of 1 MiB 0.2 ms, of 2 MiB 1.3 ms, of 4 MiB 12.6 ms, of 16 MiB 72 ms; LRANGE 0.1, 0.2, 8.6
 * and (max) 48 ms. A page of jobs of ~1 KB stays bound by its count (1,000), not by this. The
 * page's Lua calls carry its jobs (and their rewrites), so this bounds them too.
 */
export const MAX_PAGE_BYTES = 2 ** 20;

/**
 * Most entries one ZSCAN call returns; a page of more is read by several calls, each from the
 * cursor the last returned (issue #18: every Redis call short, since every Sidekiq client waits
 * behind it). ZSCAN costs Redis per entry far more than LRANGE (it copies each member into a list
 * and formats each score: 1.5–2.8 µs an entry of ~700 bytes against LRANGE's 0.3), so a page of
 * 1,000 in one call held Redis 1.4–2.8 ms on redis-server 7.0 (2.5 ms on average in a whole
 * re-route on a quiet machine), over the 2 ms ceiling. Calls of 200, alternated with calls of
 * 1,000 on the same 100,000 bench entries at load 22: medians 0.32–0.36 ms against 1.6–2.1 ms.
 */
export const MAX_ENTRIES_PER_SCAN_CALL = 200;

/** How many jobs a pass's first read looks at to learn their size (from the end it reads first). */
export const PROBE_JOBS = 5;

/**
 * The jobs of `bytesPerJob` bytes a read takes within MAX_PAGE_BYTES: 1 to `most` (the caller's
 * own cap: the page size, the claim cap); `most` when the size is not known.
 */
export function jobsWithinBytes(bytesPerJob: number | undefined, most: number): number {
  if (bytesPerJob === undefined || !(bytesPerJob > 0)) return most;
  return Math.max(1, Math.min(most, Math.floor(MAX_PAGE_BYTES / bytesPerJob)));
}

/** Where a pass reads its jobs from first: a list's head (newest) or tail (oldest), a set's soonest entries. */
export type ProbeEnd = 'list-head' | 'list-tail' | 'zset';

/**
 * The mean size of a key's jobs as a read should assume it: what the pass saw so far (`known`,
 * carried in its cursor), or, for its first read, that of the PROBE_JOBS jobs at the end it reads
 * first; undefined when the key has none. One read of a few jobs per pass.
 */
export async function expectedBytesPerJob(redis: Redis, key: RedisKey, end: ProbeEnd, known: number | undefined): Promise<number | undefined> {
  if (known !== undefined) return known;
  return meanBytes(await probeJobs(redis, key, end), undefined);
}

/**
 * A pass's first look at its key: how many jobs it holds (LLEN, ZCARD: the pass's bound) and their
 * mean size as expectedBytesPerJob gives it, both sent at once, one round trip (issue #18: two
 * before, the probe waiting for the count). Both are reads; a size of a key found empty is unknown,
 * as expectedBytesPerJob's caller left it.
 */
export async function sizeAndBytesPerJob(redis: Redis, key: RedisKey, end: ProbeEnd): Promise<{ readonly size: number; readonly bytesPerJob: number | undefined }> {
  // One pipeline (as queue-slice.ts reads a re-route's first slice): the count, then the probe.
  const pipeline = end === 'zset' ? redis.pipeline().zcard(key).zrangeBuffer(key, 0, String(PROBE_JOBS - 1)) : redis.pipeline().llen(key).lrangeBuffer(key, ...probeRange(end));
  const [[sizeError, size], [probeError, probe]] = ((await pipeline.exec()) ?? []) as [[Error | null, number], [Error | null, Buffer[]]];
  if (sizeError) throw sizeError;
  if (probeError) throw probeError;
  return { size, bytesPerJob: size > 0 ? meanBytes(probe, undefined) : undefined };
}

/** The PROBE_JOBS jobs at `end` of `key` (fewer when it holds fewer). */
export function probeJobs(redis: Redis, key: RedisKey, end: ProbeEnd): Promise<Buffer[]> {
  return end === 'zset' ? redis.zrangeBuffer(key, 0, String(PROBE_JOBS - 1)) : redis.lrangeBuffer(key, ...probeRange(end));
}

/** The LRANGE bounds of a list's probe (so that a caller may pipeline it with another command). */
export function probeRange(end: 'list-head' | 'list-tail'): [number, number] {
  return end === 'list-head' ? [0, PROBE_JOBS - 1] : [-PROBE_JOBS, -1];
}

/** The mean size of the payloads a read held, or what was known before when it held none. */
export function meanBytes(payloads: readonly Buffer[], before: number | undefined): number | undefined {
  if (payloads.length === 0) return before;
  let total = 0;
  for (const payload of payloads) total += payload.length;
  return Math.ceil(total / payloads.length);
}
