import type { Redis } from 'ioredis';
import { keyspaceCut, type KeyspaceCut, type ScanBound, type ScanExtent } from '../redis/bounded-scan.js';
import { walkForLooks, type PageLook } from '../redis/shared-walk.js';
import { nameFromBytes } from '../redis/key-name.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { escapeGlob } from '../reroute/discover-queues.js';
import type { SidekiqProcess } from './live-processes.js';

/**
 * A fetcher's private list: jobs a worker has taken off `queue:NAME` and not finished. Neither a
 * re-route nor a transfer touches them (docs/guarantees-and-limits.md), so a drain check counts
 * them: a Redis holding any is not drained, and one whose owner is gone holds jobs nobody runs
 * until a process of the same fetcher puts them back on their queue, on this Redis.
 */
export interface FetcherList {
  /** As text, lossless (key-name.ts). */
  readonly key: string;
  /** The queue its jobs were taken from, and go back to. */
  readonly queue: string;
  /** The owning process's identity (`HOST:PID:NONCE`, or GitLab's older `HOST:PID`). */
  readonly owner: string;
  /** GitLab's reliable fetcher (`working:queue:NAME:IDENTITY`), or Sidekiq Pro's super_fetch (`queue:sq|IDENTITY|NAME`). */
  readonly fetcher: 'reliable-fetch' | 'super-fetch';
  /** Whether the owner still beats: its jobs are being worked on. */
  readonly ownerAlive: boolean;
  readonly size: number;
  /**
   * With `ownerAlive`: its owner is a live Sidekiq process not heard from for this many seconds,
   * more than SILENT_BEATS beats (live-processes.ts): it may have been killed. Absent otherwise
   * (and in older reports).
   */
  readonly ownerSilentSeconds?: number;
}

/** How many private lists a check reads at most (SCAN pages until then; each is named in the report); the rest go uncounted. */
export const FETCHER_LIST_LIMIT = 1_000;

/**
 * GitLab's reliable fetcher names a working list `working:queue:NAME:HOST:PID:NONCE` (or, before
 * 0.7, `…:HOST:PID`); NAME may hold colons. Its process is alive while its heartbeat
 * `reliable-fetcher-heartbeat-HOST-PID-NONCE` (the identity with `-` for `:`, TTL 60 s) exists:
 * the fetcher's own cleanup decides the same way (sidekiq-reliable-fetch's `worker_dead?`).
 */
const WORKING = /^working:queue:(.+):([^:]*:[0-9]*:[0-9a-f]*)$/s;
const LEGACY_WORKING = /^working:queue:(.+):([^:]*:[0-9]*)$/s;
/** Sidekiq Pro's super_fetch: `queue:sq|HOST:PID:NONCE|NAME` (key names from public issue threads). */
const SUPER_FETCH = /^queue:sq\|([^|]+)\|(.+)$/s;

/**
 * Every non-empty private list of a fetcher under the prefix, with whether its owner is alive:
 * GitLab's by its heartbeat key, super_fetch's by the Sidekiq process census. Bounded SCAN pages,
 * one pipeline of TYPE, LLEN and EXISTS per page.
 */
export async function findFetcherLists(redis: Redis, keys: SidekiqKeys, processes: readonly SidekiqProcess[], limit = FETCHER_LIST_LIMIT): Promise<FetcherList[]> {
  return (await scanFetcherLists(redis, keys, processes, { limit })).lists;
}

export interface FetcherListLook {
  readonly lists: FetcherList[];
  /**
   * Why the SCANs stopped before the end of the keyspace, when they did: `time` (the bound's
   * `until` passed), `lists` (`limit` lists found). Then there may be more lists than `lists`.
   */
  readonly cutShort?: 'time' | 'lists';
  /** With `cutShort`: how far the pass that stopped got. */
  readonly reached?: KeyspaceCut;
}

export interface FetcherListBound extends ScanBound {
  /** Most lists read (default FETCHER_LIST_LIMIT). */
  readonly limit?: number;
}

/** findFetcherLists, bounded by time too (each pattern still gets its first SCAN page), saying whether it reached the end of the keyspace. */
export async function scanFetcherLists(redis: Redis, keys: SidekiqKeys, processes: readonly SidekiqProcess[], bound: FetcherListBound = {}): Promise<FetcherListLook> {
  const look = fetcherListsLook(redis, keys, processes, bound.limit);
  let stop: ScanExtent | undefined;
  // A walk a pattern, MATCH narrowing each (a shared walk feeds both at once: fetcherListsLook).
  for (const head of look.heads) {
    // A bound met in the first pattern's SCAN stops the second after its first page too.
    const [extent] = await walkForLooks(redis, [{ ...look, heads: [head], match: `${escapeGlob(head)}*` }], stop ? { until: -Infinity } : bound, look.doing);
    if (extent!.cutShort && !stop) stop = extent;
  }
  return look.result(stop ?? { pages: 0 });
}

/**
 * The private lists under the prefix (both fetchers' names) as a look a shared walk feeds
 * (shared-walk.ts): one pipeline of TYPE, LLEN and EXISTS per page with some; it has enough at
 * `limit` lists. `result` of the walk's extent for it says where it stopped.
 */
export function fetcherListsLook(redis: Redis, keys: SidekiqKeys, processes: readonly SidekiqProcess[], limit = FETCHER_LIST_LIMIT): PageLook & { readonly doing: string; result(extent: ScanExtent): Promise<FetcherListLook> } {
  const live = new Set(processes.filter((p) => p.live).map((p) => p.identity));
  const found: FetcherList[] = [];
  // SCAN may return a key twice (while the server rehashes): a list counted once.
  const seen = new Set<string>();
  const head = Buffer.byteLength(keys.prefix, 'utf8');
  const doing = `Looking for jobs in fetchers' private lists (${keys.prefix}working:queue:*, ${keys.prefix}queue:sq|*)`;
  const onPage = async (page: Buffer[]): Promise<boolean> => {
    const fresh: Buffer[] = [];
    for (const key of page) {
      const name = key.toString('latin1');
      if (seen.has(name)) continue;
      seen.add(name);
      fresh.push(key);
    }
    const parsed = fresh.map((key) => ({ key, ...parseFetcherKey(key.subarray(head)) })).filter((p): p is typeof p & Parsed => p.queue !== undefined);
    if (parsed.length === 0) return found.length >= limit;
    const pipeline = redis.pipeline();
    for (const p of parsed) {
      pipeline.type(p.key);
      pipeline.llen(p.key); // on a key of another type an error, which its TYPE explains
      if (p.fetcher === 'reliable-fetch') pipeline.exists(`${keys.prefix}reliable-fetcher-heartbeat-${p.owner.replaceAll(':', '-')}`);
    }
    const results = (await pipeline.exec()) ?? [];
    // A refused read (an ACL key pattern that leaves these lists out: NOPERM) fails the look: a
    // list dropped for it was a gone worker's jobs unseen, and drain-check said DRAINED over them.
    // LLEN's error on a key of another type is expected: its TYPE says so.
    const reply = (at: number, expected = false) => {
      const [error, value] = results[at] ?? [null, null];
      if (error && !expected) throw error;
      return value;
    };
    let i = 0;
    for (const p of parsed) {
      const type = reply(i++);
      const size = Number(reply(i++, type !== 'list'));
      const beating = p.fetcher === 'reliable-fetch' ? Number(reply(i++)) > 0 : live.has(p.owner);
      if (type !== 'list' || !(size > 0)) continue;
      found.push({ key: nameFromBytes(p.key), queue: p.queue, owner: p.owner, fetcher: p.fetcher, ownerAlive: beating, size });
    }
    return found.length >= limit;
  };
  return {
    heads: [`${keys.prefix}working:queue:`, `${keys.prefix}queue:sq|`],
    doing,
    onPage: async (page) => {
      try {
        return await onPage(page);
      } catch (error) {
        throw classifyRedisError(error, doing);
      }
    },
    result: async (extent) => {
      const lists = found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      if (!extent.cutShort) return { lists };
      try {
        return { lists, cutShort: extent.cutShort === 'enough' ? 'lists' : 'time', reached: await keyspaceCut(redis, extent.pages) };
      } catch (error) {
        throw classifyRedisError(error, doing);
      }
    },
  };
}

interface Parsed {
  readonly queue: string;
  readonly owner: string;
  readonly fetcher: FetcherList['fetcher'];
}

/** The queue and owner a private list's name (after the prefix) holds, or nothing when it is not one. */
export function parseFetcherKey(name: Buffer): Partial<Parsed> {
  // latin1: one character per byte, so the ASCII parts match and offsets stay byte offsets.
  const text = name.toString('latin1');
  const bytes = (from: number, to: number) => nameFromBytes(name.subarray(from, to));
  const working = WORKING.exec(text) ?? LEGACY_WORKING.exec(text);
  if (working) {
    const queueStart = 'working:queue:'.length;
    const queueEnd = queueStart + working[1]!.length;
    return { queue: bytes(queueStart, queueEnd), owner: bytes(queueEnd + 1, text.length), fetcher: 'reliable-fetch' };
  }
  const superFetch = SUPER_FETCH.exec(text);
  if (superFetch) {
    const ownerStart = 'queue:sq|'.length;
    const ownerEnd = ownerStart + superFetch[1]!.length;
    return { queue: bytes(ownerEnd + 1, text.length), owner: bytes(ownerStart, ownerEnd), fetcher: 'super-fetch' };
  }
  return {};
}
