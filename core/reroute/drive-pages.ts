import { addCounters, emptyCounters, type RerouteCounters } from './reroute-counters.js';

export interface PageResult<C, K = RerouteCounters> {
  /** Where the next page starts; pass it back unchanged. */
  readonly cursor: C;
  readonly done: boolean;
  readonly counters: K;
}

export interface DriveLimits {
  /** Epoch milliseconds after which no new page is started. */
  readonly deadline?: number;
  readonly maxPages?: number;
  /** Called after every page with its result (progress, logging: one line per page, never per job). */
  readonly onPage?: (page: PageResult<unknown, unknown>) => void | Promise<void>;
  /** Asked after each page (and its onPage): true stops here, as the deadline does (a rate limit that cannot wait for one more page). */
  readonly stopBefore?: () => boolean;
  /** Test hook and clock injection. */
  readonly now?: () => number;
}

/** How to sum the counters of pages: re-route counters unless told otherwise. */
export interface CounterSum<K> {
  readonly empty: () => K;
  readonly add: (into: K, more: K) => K;
}

const rerouteSum: CounterSum<RerouteCounters> = { empty: emptyCounters, add: addCounters };

/**
 * Runs page after page of one operation until it is done, the deadline passes or the page limit
 * is reached, and returns the cursor to continue from with the summed counters. Nothing is kept
 * between calls but the cursor: a crash loses at most the counters of the page in flight.
 */
export async function drivePages<C, K = RerouteCounters>(
  page: (cursor: C) => Promise<PageResult<C, K>>,
  start: C,
  limits: DriveLimits = {},
  sum: CounterSum<K> = rerouteSum as unknown as CounterSum<K>,
): Promise<PageResult<C, K> & { pages: number }> {
  const now = limits.now ?? Date.now;
  const counters = sum.empty();
  let cursor = start;
  let pages = 0;
  for (;;) {
    const result = await page(cursor);
    pages++;
    sum.add(counters, result.counters);
    cursor = result.cursor;
    await limits.onPage?.(result);
    if (result.done) return { cursor, done: true, counters, pages };
    if (limits.maxPages !== undefined && pages >= limits.maxPages) break;
    if (limits.deadline !== undefined && now() >= limits.deadline) break;
    if (limits.stopBefore?.()) break;
  }
  return { cursor, done: false, counters, pages };
}
