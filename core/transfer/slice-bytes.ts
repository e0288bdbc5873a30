import type { Redis, RedisKey } from 'ioredis';
import { MAX_JOBS_PER_CLAIM } from './transfer-options.js';

/**
 * How many payload bytes a slice aims to carry at most. Sidekiq payloads are ~1 KB, but GitLab's
 * size limiter leaves large ones alone unless it is set to reject them, and a slice of 250 jobs of
 * 2 MB is 500 MB held at once in a reply, its copies and its writes: a Lambda of 1 GB runs out of
 * memory (or time), again on every retry. A slice of jobs of that size takes fewer of them instead.
 */
export const MAX_SLICE_BYTES = 16 * 2 ** 20;

/** How many jobs a pass's first slice looks at to learn their size (PROBE_JOBS, from the end it claims from). */
export const PROBE_JOBS = 5;

/** The jobs of `bytesPerJob` bytes a slice takes within MAX_SLICE_BYTES: 1 to MAX_JOBS_PER_CLAIM. */
export function jobsWithinBytes(bytesPerJob: number): number {
  if (!(bytesPerJob > 0)) return MAX_JOBS_PER_CLAIM;
  return Math.max(1, Math.min(MAX_JOBS_PER_CLAIM, Math.floor(MAX_SLICE_BYTES / bytesPerJob)));
}

/**
 * The mean size of a key's jobs as a slice should assume it: what the pass saw so far (the
 * cursor's), or, for its first slice, that of the PROBE_JOBS jobs the claim takes first (a list's
 * `newest` end is its head; a set's soonest entries come first). One read of a few jobs per pass.
 */
export async function expectedBytesPerJob(source: Redis, key: RedisKey, kind: 'list-head' | 'list-tail' | 'zset', known: number | undefined): Promise<number> {
  if (known !== undefined) return known;
  const sample =
    kind === 'zset'
      ? await source.zrangeBuffer(key, 0, String(PROBE_JOBS - 1))
      : kind === 'list-head'
        ? await source.lrangeBuffer(key, 0, PROBE_JOBS - 1)
        : await source.lrangeBuffer(key, -PROBE_JOBS, -1);
  return meanBytes(sample, undefined) ?? 0;
}

/** The mean size of the payloads a slice held, or what was known before when it held none. */
export function meanBytes(payloads: readonly Buffer[], before: number | undefined): number | undefined {
  if (payloads.length === 0) return before;
  let total = 0;
  for (const payload of payloads) total += payload.length;
  return Math.ceil(total / payloads.length);
}

