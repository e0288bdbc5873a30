import type { Redis } from 'ioredis';
import { classifyRedisError } from './redis-errors.js';
import { scanBounded, type ScanBound, type ScanExtent } from './bounded-scan.js';
import { headsPattern } from './heads-pattern.js';

/**
 * A look over the keyspace that one shared walk feeds (walkForLooks): the keys whose name starts
 * with one of `heads` ('' is every key), page by page, to `onPage`, which returns true when it
 * has enough. It classifies its own errors (classifyRedisError), as its words name it.
 */
export interface PageLook {
  readonly heads: readonly string[];
  /** The SCAN MATCH it uses when it walks alone (default: its heads' common start, then `*`). */
  readonly match?: string;
  /** Epoch ms after which it is fed no more (by the walk's clock; its first page whatever the time): its own bound in a longer walk. */
  readonly until?: number;
  readonly onPage: (keys: Buffer[]) => Promise<boolean | void> | boolean | void;
}

/**
 * ONE bounded SCAN of the keyspace (scanBounded: its first page whatever the time) whose pages feed
 * every look: each SCAN visits every key of the database, whatever MATCH keeps, so N looks that
 * walk apart cost N times the round trips and the server's work of one (on GitLab's Redis,
 * millions of keys each). MATCH keeps the keys under the heads of the looks still fed (headsPattern;
 * `*` while one wants every key), asked again each page, so a look under a prefix still narrows
 * what comes back. A look that has enough, or whose own `until` has passed, is fed no more; the
 * walk stops at the end of the keyspace, once every look has stopped, or at `bound`'s time. Its
 * extent per look, in order: the pages it was fed when it stopped, and why it stopped before the
 * end (`enough`: its own; `time`: its `until` or the walk's), as scanBounded says it for one look.
 * Keys may come twice (SCAN's guarantee): each look de-duplicates.
 */
export async function walkForLooks(redis: Redis, looks: readonly PageLook[], bound: ScanBound, doing: string): Promise<ScanExtent[]> {
  if (looks.length === 0) return [];
  const extents: (ScanExtent | undefined)[] = looks.map(() => undefined);
  const heads = looks.map((look) => look.heads.map((head) => Buffer.from(head, 'utf8')));
  const clock = bound.clock ?? Date.now;
  const match = () => {
    const fed = looks.filter((_, i) => extents[i] === undefined);
    return fed.length === 1 && fed[0]!.match !== undefined ? fed[0]!.match : headsPattern(fed.flatMap((l) => l.heads));
  };
  let pages = 0;
  let walk: ScanExtent;
  try {
    walk = await scanBounded(redis, match, bound, async (page) => {
      pages++;
      for (const [i, look] of looks.entries()) {
        if (extents[i] !== undefined) continue;
        const mine = heads[i]!.some((h) => h.length === 0) ? page : page.filter((key) => heads[i]!.some((h) => key.length >= h.length && h.compare(key, 0, h.length) === 0));
        if ((await look.onPage(mine)) === true) extents[i] = { pages, cutShort: 'enough' };
        else if (look.until !== undefined && clock() >= look.until) extents[i] = { pages, cutShort: 'time' };
      }
      return extents.every((e) => e !== undefined);
    });
  } catch (error) {
    throw classifyRedisError(error, doing);
  }
  // A look that had enough on the walk's last page, the end of the keyspace, saw it all (as
  // scanBounded says it); one fed no more before then did not see the pages after.
  return extents.map((e) => (e === undefined ? (walk.cutShort === undefined ? { pages: walk.pages } : { pages: walk.pages, cutShort: 'time' }) : walk.cutShort === undefined && e.pages === walk.pages ? { pages: walk.pages } : e));
}
