import { addCounters, emptyCounters, type RerouteCounters } from './reroute-counters.js';

export interface PageResult<C> {
  /** Where the next page starts; pass it back unchanged. */
  readonly cursor: C;
  readonly done: boolean;
  readonly counters: RerouteCounters;
}

export interface DriveLimits {
  /** Epoch milliseconds after which no new page is started. */
  readonly deadline?: number;
  readonly maxPages?: number;
  /** Called after every page with its result (progress, logging: one line per page, never per job). */
  readonly onPage?: (page: PageResult<unknown>) => void;
  /** Test hook and clock injection. */
  readonly now?: () => number;
}

/**
 * Runs page after page of one operation until it is done, the deadline passes or the page limit
 * is reached, and returns the cursor to continue from with the summed counters. Nothing is kept
 * between calls but the cursor: a crash loses at most the counters of the page in flight.
 */
export async function drivePages<C>(
  page: (cursor: C) => Promise<PageResult<C>>,
  start: C,
  limits: DriveLimits = {},
): Promise<PageResult<C> & { pages: number }> {
  const now = limits.now ?? Date.now;
  const counters = emptyCounters();
  let cursor = start;
  let pages = 0;
  for (;;) {
    const result = await page(cursor);
    pages++;
    addCounters(counters, result.counters);
    cursor = result.cursor;
    limits.onPage?.(result);
    if (result.done) return { cursor, done: true, counters, pages };
    if (limits.maxPages !== undefined && pages >= limits.maxPages) break;
    if (limits.deadline !== undefined && now() >= limits.deadline) break;
  }
  return { cursor, done: false, counters, pages };
}
