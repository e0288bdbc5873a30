import type { Redis } from 'ioredis';

/**
 * SCAN COUNT of a look over the keyspace: about this many keys are looked at per call (Redis
 * visits whole hash buckets, so a few more), whatever MATCH keeps of them.
 */
export const SCAN_PAGE_KEYS = 1000;

/**
 * When a look over the whole keyspace stops. A SCAN visits every key of the database, whatever it
 * matches: on a Redis with tens of millions of other keys (caches, duplicate-job digests) that is
 * tens of thousands of round trips, about a second a million keys at loopback, and a deployed
 * step that runs it has a timeout.
 */
export interface ScanBound {
  /** Epoch ms after which no further SCAN page is read (the first always is). Default: none. */
  readonly until?: number;
  readonly clock?: () => number;
}

/** How far a look got when it stopped before the end of the keyspace: said in its words. */
export interface KeyspaceCut {
  /** About how many keys it looked at (SCAN pages × SCAN_PAGE_KEYS, at most `keys`). */
  readonly lookedAt: number;
  /** The keys of the database when it stopped (DBSIZE). */
  readonly keys: number;
}

export interface ScanExtent {
  /** SCAN calls made. */
  readonly pages: number;
  /** Why it stopped before the end: `time` (the bound's `until` passed), `enough` (`onPage` said so). */
  readonly cutShort?: 'time' | 'enough';
}

/**
 * SCAN MATCH `match` page by page (a function: asked before each page, a cursor is good whatever
 * MATCH), each page's keys (bytes) to `onPage`, which returns true when it has enough. Stops at the end of the keyspace, or when `onPage` has enough, or once `bound.until`
 * has passed, and says which. Keys may come twice (SCAN's guarantee): `onPage` de-duplicates.
 */
export async function scanBounded(redis: Redis, match: string | (() => string), bound: ScanBound, onPage: (keys: Buffer[]) => Promise<boolean | void> | boolean | void): Promise<ScanExtent> {
  const until = bound.until ?? Infinity;
  const clock = bound.clock ?? Date.now;
  let cursor = '0';
  let pages = 0;
  for (;;) {
    const [next, keys] = await redis.scanBuffer(cursor, 'MATCH', typeof match === 'string' ? match : match(), 'COUNT', SCAN_PAGE_KEYS);
    pages++;
    cursor = next.toString();
    const enough = (await onPage(keys)) === true;
    if (cursor === '0') return { pages };
    if (enough) return { pages, cutShort: 'enough' };
    if (clock() >= until) return { pages, cutShort: 'time' };
  }
}

/** How far a look of `pages` SCAN pages got, against the database's size now (one DBSIZE). */
export async function keyspaceCut(redis: Redis, pages: number): Promise<KeyspaceCut> {
  const keys = await redis.dbsize();
  return { lookedAt: Math.min(pages * SCAN_PAGE_KEYS, keys), keys };
}

/**
 * A fair share of what is left of `bound` for the next look of `looks` still to come, one that
 * walks the keyspace `taking` times of them: it gets (until − now) × taking / looks, and what one
 * does not use goes to the ones after it. Unbounded stays so.
 */
export function shareOf(bound: ScanBound, looks: number, taking = 1): ScanBound {
  if (bound.until === undefined || !Number.isFinite(bound.until)) return bound;
  const now = (bound.clock ?? Date.now)();
  return { ...bound, until: now + (Math.max(0, bound.until - now) * Math.min(taking, looks)) / Math.max(1, looks) };
}
