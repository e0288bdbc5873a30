import type { ScanBound } from '../redis/bounded-scan.js';
import { MAX_PAGE_BYTES, PROBE_JOBS } from '../redis/page-bytes.js';

/**
 * Queues whose reads a drain check sends at once (LLEN and LINDEX, a retired queue's arrivals):
 * one round trip for them all, where the check went one queue at a time. A check across 50 ms
 * (a source behind a VPN, in another region) of GitLab's queue per worker, retired and still
 * receiving jobs, took three round trips a queue: 1,000 queues 150 s, past the deployed function's
 * 120 s (test/redis/drain/drain-check-round-trips.test.ts; bench/README.md audit-scaleaudit).
 */
export const QUEUES_READ_AT_ONCE = 50;

/**
 * How many queues the next window reads at once: as many as keep the jobs its first round trip
 * carries (each queue's oldest job and a retired queue's probe of PROBE_JOBS) within
 * MAX_PAGE_BYTES at the mean size seen so far; PROBE_JOBS queues while nothing is known, so that
 * a Redis of large jobs is read much as before, a queue or so at a time.
 */
export function queuesPerWindow(bytesPerJob: number | undefined): number {
  if (bytesPerJob === undefined || !(bytesPerJob > 0)) return PROBE_JOBS;
  return Math.max(1, Math.min(QUEUES_READ_AT_ONCE, Math.floor(MAX_PAGE_BYTES / (bytesPerJob * (1 + PROBE_JOBS)))));
}

/**
 * `read` of every name, in windows of queuesPerWindow(the size `sized` reports of what was read)
 * whose reads go out together; the results in the names' order. With `bound.until`, no window
 * starts once it has passed (the first always does): the results are then those of the first
 * names only, fewer than the names. Across a slow network, thousands of queues, or queues of large
 * jobs read a window of one, outlasted the deployed check's time, and a check that times out
 * reports nothing at all.
 */
export async function readInWindows<T>(names: readonly string[], read: (name: string) => Promise<T>, sized: (result: T) => number | undefined, bound: ScanBound = {}): Promise<T[]> {
  const until = bound.until ?? Infinity;
  const clock = bound.clock ?? Date.now;
  const out: T[] = [];
  let bytes = 0;
  let jobs = 0;
  for (let at = 0; at < names.length; ) {
    if (at > 0 && clock() >= until) break;
    const size = queuesPerWindow(jobs === 0 ? undefined : Math.ceil(bytes / jobs));
    const window = await Promise.all(names.slice(at, at + size).map(read));
    for (const result of window) {
      const seen = sized(result);
      if (seen !== undefined) {
        bytes += seen;
        jobs++;
      }
    }
    out.push(...window);
    at += size;
  }
  return out;
}
