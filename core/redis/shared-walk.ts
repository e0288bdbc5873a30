import type { Redis } from 'ioredis';
import { escapeGlob } from '../reroute/discover-queues.js';
import { classifyRedisError } from './redis-errors.js';
import { scanBounded, type ScanBound, type ScanExtent } from './bounded-scan.js';

/**
 * A look over the keyspace that one shared walk feeds (walkForLooks): the keys whose name starts
 * with one of `heads` ('' is every key), page by page, to `onPage`, which returns true when it
 * has enough. It classifies its own errors (classifyRedisError), as its words name it.
 */
export interface PageLook {
  readonly heads: readonly string[];
  /** The SCAN MATCH it uses when it walks alone (default: its heads' common start, then `*`). */
  readonly match?: string;
  readonly onPage: (keys: Buffer[]) => Promise<boolean | void> | boolean | void;
}

/**
 * ONE bounded SCAN of the keyspace (scanBounded: its first page whatever the time) whose pages feed
 * every look: each SCAN visits every key of the database, whatever MATCH keeps, so N looks that
 * walk apart cost N times the round trips and the server's work of one (on GitLab's Redis,
 * millions of keys each). MATCH is the looks' heads' common start (`*` when one look wants every
 * key), so a look under a prefix still narrows what comes back. A look that has enough is fed no
 * more; the walk stops at the end of the keyspace, once every look has enough, or at `bound`'s
 * time. Its extent per look, in order: the pages it was fed when it stopped, and why it stopped
 * before the end (`enough`: its own; `time`: the walk's), as scanBounded says it for one look.
 * Keys may come twice (SCAN's guarantee): each look de-duplicates.
 */
export async function walkForLooks(redis: Redis, looks: readonly PageLook[], bound: ScanBound, doing: string): Promise<ScanExtent[]> {
  if (looks.length === 0) return [];
  const extents: (ScanExtent | undefined)[] = looks.map(() => undefined);
  const heads = looks.map((look) => look.heads.map((head) => Buffer.from(head, 'utf8')));
  const match = looks.length === 1 && looks[0]!.match !== undefined ? looks[0]!.match : `${escapeGlob(commonStart(looks.flatMap((l) => l.heads)))}*`;
  let pages = 0;
  let walk: ScanExtent;
  try {
    walk = await scanBounded(redis, match, bound, async (page) => {
      pages++;
      for (const [i, look] of looks.entries()) {
        if (extents[i] !== undefined) continue;
        const mine = heads[i]!.some((h) => h.length === 0) ? page : page.filter((key) => heads[i]!.some((h) => key.length >= h.length && h.compare(key, 0, h.length) === 0));
        if ((await look.onPage(mine)) === true) extents[i] = { pages, cutShort: 'enough' };
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

/** The longest start every one of `heads` shares ('' when none, or one is ''). */
function commonStart(heads: readonly string[]): string {
  if (heads.length === 0) return '';
  let start = heads[0]!;
  for (const head of heads) while (!head.startsWith(start)) start = start.slice(0, -1);
  // Not half of a character outside the BMP (its UTF-8 bytes would be no start of the heads').
  return /[\uD800-\uDBFF]$/.test(start) ? start.slice(0, -1) : start;
}
