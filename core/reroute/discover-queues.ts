import type { Redis } from 'ioredis';
import { InputError } from '../errors/input-error.js';
import { keyspaceCut, scanBounded, type KeyspaceCut, type ScanBound } from '../redis/bounded-scan.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import { displayName, nameBytes, nameFromBytes } from '../redis/key-name.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import type { PageLook } from '../redis/shared-walk.js';

export interface SkippedKey {
  readonly key: string;
  readonly reason: string;
  /** For a `queue:NAME` key of another type than a list: NAME (lossless) and that type. */
  readonly notAList?: { readonly queue: string; readonly type: string };
  /** `queue:` itself, a list: the queue with an empty name, which Sidekiq 6.0+ refuses to push to. */
  readonly unnamed?: true;
}

export interface DiscoveryPage {
  readonly cursor: string;
  readonly done: boolean;
  /** Queue names (without prefix and `queue:`; lossless, key-name.ts) whose key is a list. */
  readonly queues: string[];
  /** `queue:*` keys that are not queues we may touch, and why (key shown with displayName). */
  readonly skipped: SkippedKey[];
}

/**
 * One bounded SCAN page over `<prefix>queue:*`. Skips what only looks like a queue: Sidekiq Pro
 * super_fetch private lists (`queue:sq|host:pid:nonce|NAME`, jobs a process has already taken,
 * which its orphan recovery pushes back) and keys of another type. GitLab's reliable-fetcher
 * working lists (`working:queue:…`) never match the pattern.
 */
export async function discoverQueuesPage(redis: Redis, keys: SidekiqKeys, cursor = '0', count = 1000): Promise<DiscoveryPage> {
  try {
    // Key names are bytes: read as Buffers, so that a name that is not UTF-8 still names its key.
    const [nextBytes, found] = await redis.scanBuffer(cursor, 'MATCH', `${escapeGlob(keys.prefix)}queue:*`, 'COUNT', count);
    const next = nextBytes.toString();
    return { cursor: next, done: next === '0', ...(await queueListsAmong(redis, keys, found)) };
  } catch (error) {
    throw classifyRedisError(error, `Scanning ${keys.prefix}queue:* for queues`);
  }
}

const PIPE = 0x7c;
const SQ_PIPE = Buffer.from('sq|');

/**
 * Whether queue name `name` (bytes) is super_fetch's private list `sq|IDENTITY|QUEUE` (identity
 * `HOST:PID:NONCE`, no `|`; QUEUE not empty), fetcher-lists.ts's SUPER_FETCH. Sidekiq takes any
 * queue name: `a|b` is a queue like any other, and skipping every name with a `|` left such a
 * queue unmoved by every run while each said its jobs had arrived during the run.
 */
function isSuperFetchList(name: Buffer): boolean {
  if (name.length < SQ_PIPE.length || !name.subarray(0, SQ_PIPE.length).equals(SQ_PIPE)) return false;
  const end = name.indexOf(PIPE, SQ_PIPE.length);
  return end > SQ_PIPE.length && end < name.length - 1;
}

/** Of `found` (`queue:*` keys, bytes), the queue lists, and what only looks like one (and why). */
export async function queueListsAmong(redis: Redis, keys: SidekiqKeys, found: readonly Buffer[]): Promise<{ queues: string[]; skipped: SkippedKey[] }> {
  const candidates: { key: Buffer; name: string }[] = [];
  const skipped: SkippedKey[] = [];
  const head = Buffer.from(`${keys.prefix}queue:`, 'utf8');
  let unnamed: Buffer | undefined;
  for (const key of found) {
    const name = keys.queueNameOf(key);
    // `queue:` itself: no queue name, yet a list an older client may have filled. Dropped without
    // a word, its jobs were never moved and a drain check said DRAINED over them: refused below.
    if (name === null && head.equals(key)) unnamed = key;
    if (name === null) continue;
    // In the bytes: a name that is not UTF-8 travels as NUL and base64 (key-name.ts), with no `|` to see.
    if (isSuperFetchList(nameBytes(name))) skipped.push({ key: displayName(`${keys.prefix}queue:${name}`), reason: 'private in-flight list of Sidekiq Pro super_fetch' });
    else candidates.push({ key, name });
  }
  const types = candidates.length === 0 ? [] : await typesOf(redis, candidates.map((c) => c.key));
  const queues: string[] = [];
  candidates.forEach(({ name }, i) => {
    if (types[i] === 'list') queues.push(name);
    else if (types[i] !== 'none') skipped.push({ key: displayName(`${keys.prefix}queue:${name}`), reason: `not a list but a ${types[i]}`, notAList: { queue: name, type: types[i]! } });
  });
  // Only a list is a queue of any name; `queue:` of another type is nobody's queue.
  if (unnamed && (await typesOf(redis, [unnamed]))[0] === 'list') skipped.push({ key: displayName(`${keys.prefix}queue:`), reason: 'a queue with an empty name', unnamed: true });
  return { queues, skipped };
}

/** Every queue list, page by page (SCAN may return a key twice; names are de-duplicated). */
export async function discoverQueues(redis: Redis, keys: SidekiqKeys, count = 1000): Promise<{ queues: string[]; skipped: SkippedKey[] }> {
  const queues = new Set<string>();
  const skipped = new Map<string, SkippedKey>();
  let cursor = '0';
  do {
    const page = await discoverQueuesPage(redis, keys, cursor, count);
    page.queues.forEach((q) => queues.add(q));
    page.skipped.forEach((s) => skipped.set(s.key, s));
    cursor = page.cursor;
  } while (cursor !== '0');
  return { queues: [...queues].sort(), skipped: [...skipped.values()] };
}

/**
 * discoverQueues as a look a shared walk feeds (shared-walk.ts): the queue lists among the
 * `queue:*` keys of each page (one TYPE each), and `result`, de-duplicated and in name order.
 */
export function queueDiscoveryLook(redis: Redis, keys: SidekiqKeys): PageLook & { result(): { queues: string[]; skipped: SkippedKey[] } } {
  const queues = new Set<string>();
  const skipped = new Map<string, SkippedKey>();
  return {
    heads: [`${keys.prefix}queue:`],
    onPage: async (page) => {
      if (page.length === 0) return;
      try {
        const found = await queueListsAmong(redis, keys, page);
        found.queues.forEach((q) => queues.add(q));
        found.skipped.forEach((s) => skipped.set(s.key, s));
      } catch (error) {
        throw classifyRedisError(error, `Scanning ${keys.prefix}queue:* for queues`);
      }
    },
    result: () => ({ queues: [...queues].sort(), skipped: [...skipped.values()] }),
  };
}

export interface BoundedDiscovery {
  readonly queues: string[];
  readonly skipped: SkippedKey[];
  /** The SCAN stopped at the bound's time: queue lists the `queues` set does not name may be missing. */
  readonly cutShort?: KeyspaceCut;
}

/**
 * Every queue list the `queues` set or `named` names (always: SMEMBERS, one TYPE each), and those a SCAN of
 * `queue:*` finds besides within `bound` (its first page whatever the time): a queue list that
 * Sidekiq no longer names there (a producer that pushes without SADD, a set cleared by hand) is
 * found only by the SCAN, which on a Redis with tens of millions of other keys takes tens of
 * seconds. Cut short, it says how far it got, and only such unnamed lists can be missing.
 */
export async function discoverQueuesWithin(redis: Redis, keys: SidekiqKeys, bound: ScanBound, named: readonly string[] = []): Promise<BoundedDiscovery> {
  const queues = new Set<string>();
  const skipped = new Map<string, SkippedKey>();
  const add = (found: { queues: string[]; skipped: SkippedKey[] }) => {
    found.queues.forEach((q) => queues.add(q));
    found.skipped.forEach((s) => skipped.set(s.key, s));
  };
  try {
    const members = (await redis.type(keys.queues)) === 'set' ? (await redis.smembersBuffer(keys.queues)).map(nameFromBytes) : [];
    const listed = [...new Set([...members, ...named])].map((name) => keys.queue(name));
    if (listed.length > 0) add(await queueListsAmong(redis, keys, listed.map((key) => (Buffer.isBuffer(key) ? key : Buffer.from(key)))));
    const extent = await scanBounded(redis, `${escapeGlob(keys.prefix)}queue:*`, bound, async (page) => add(await queueListsAmong(redis, keys, page)));
    const result = { queues: [...queues].sort(), skipped: [...skipped.values()] };
    return extent.cutShort === 'time' ? { ...result, cutShort: await keyspaceCut(redis, extent.pages) } : result;
  } catch (error) {
    throw classifyRedisError(error, `Looking for queues (${keys.queues}, ${keys.prefix}queue:*)`);
  }
}

async function typesOf(redis: Redis, keys: readonly Buffer[]): Promise<string[]> {
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.type(key);
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, type]) => {
    if (error) throw error;
    return String(type);
  });
}

/** Escapes SCAN MATCH glob characters in a literal prefix. */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Refuses the `queue:NAME` keys of another type than a list among `skipped` for which `counts(NAME)`
 * (and `queue:`, the list of a queue with an empty name, when `counts('')`)
 * (a run: it would drain NAME; a check: it counts NAME): no queue Sidekiq can push to or fetch
 * from, and none a run can take, so a run passed it by and ended "Complete" over what it holds,
 * and a drain check failed on an unnamed WRONGTYPE. `where` names the Redis (`source redis://…`),
 * `after` what was done (the message's last sentence).
 */
export function refuseQueueKeysOfAnotherType(skipped: readonly SkippedKey[], counts: (queue: string) => boolean, where: string, after: string): void {
  const found = skipped.filter((s) => (s.notAList !== undefined && counts(s.notAList.queue)) || (s.unnamed && counts('')));
  if (found.length === 0) return;
  const shown = found.slice(0, 10).map((s) => (s.unnamed ? `${s.key} is the list of a queue with an empty name, which Sidekiq refuses (6.0 and later)` : `${s.key} holds a ${s.notAList!.type}, not a list`));
  const more = found.length > shown.length ? ` (and ${found.length - shown.length} more)` : '';
  throw new InputError(`${where}: ${shown.join('; ')}${more}: no queue Sidekiq can use. Check the key prefix (--namespace), or move that key out of the way, then run again; ${after}`);
}
