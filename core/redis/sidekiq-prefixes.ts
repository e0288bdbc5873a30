import type { Redis } from 'ioredis';
import { InputError } from '../errors/input-error.js';
import { escapeGlob } from '../reroute/discover-queues.js';
import { parseFetcherKey } from '../drain/fetcher-lists.js';
import { keyspaceCut, scanBounded, shareOf, type KeyspaceCut, type ScanBound } from './bounded-scan.js';
import { classifyRedisError } from './redis-errors.js';
import type { SidekiqKeys } from './sidekiq-keys.js';

/**
 * Keys every Sidekiq that ever ran on a Redis leaves (besides its queues), and their types; and
 * GitLab's `interrupted` set (its reliable fetcher's), which runs carry like the others: a source
 * holding only that was "no Sidekiq data", and a move of its jobs said "nothing was there to move".
 */
const FIXED_KEYS: Readonly<Record<string, string>> = { queues: 'set', schedule: 'zset', retry: 'zset', dead: 'zset', interrupted: 'zset', processes: 'set', 'stat:processed': 'string' };

/** How many keys the search for other prefixes looks at, at most (a few SCAN pages). */
export const PREFIX_SEARCH_KEYS = 20_000;

/**
 * Whether any Sidekiq data lives under the keys' prefix: one of Sidekiq's own keys, a queue list,
 * or jobs of ours (a quarantine list, an interrupted transfer's in-flight key). Bounded by the number of `queue:*` keys (it stops at the first).
 */
export async function hasSidekiqData(redis: Redis, keys: SidekiqKeys): Promise<boolean> {
  try {
    if ((await redis.exists(...Object.keys(FIXED_KEYS).map((k) => `${keys.prefix}${k}`))) > 0) return true;
    // In-flight keys of an interrupted transfer are jobs too: a run resumes them.
    for (const pattern of ['queue:*', 'sidekiq-migrate:quarantine:*', 'sidekiq-migrate:*:inflight:*']) {
      let cursor = '0';
      do {
        const [next, found] = await redis.scanBuffer(cursor, 'MATCH', `${escapeGlob(keys.prefix)}${pattern}`, 'COUNT', 1000);
        if (found.length > 0) return true;
        cursor = next.toString();
      } while (cursor !== '0');
    }
    return false;
  } catch (error) {
    throw classifyRedisError(error, `Looking for Sidekiq data under "${keys.prefix}"`);
  }
}

/**
 * The prefixes under which Sidekiq keys live, from a bounded SCAN (up to `limit` keys): a key is
 * Sidekiq's when its last part after a prefix ending in ':' (or none) is one of Sidekiq's fixed
 * keys of the right type, or `queue:NAME` holding a list. Counted per prefix, most keys first.
 * SCAN lists every key, but an ACL user limited to some key patterns (`~gitlab:*`) may not read
 * the others' types: those keys are counted apart (`unreadable`), never taken for absent.
 */
export async function findSidekiqPrefixes(redis: Redis, limit = PREFIX_SEARCH_KEYS): Promise<{ prefix: string; keys: number; unreadable?: number }[]> {
  const candidates: { key: Buffer; prefix: string; type: string }[] = [];
  try {
    let cursor = '0';
    let seen = 0;
    do {
      const [next, found] = await redis.scanBuffer(cursor, 'COUNT', 1000);
      cursor = next.toString();
      seen += found.length;
      for (const key of found) {
        const candidate = sidekiqShape(key);
        if (candidate) candidates.push({ key, ...candidate });
      }
    } while (cursor !== '0' && seen < limit);
    const pipeline = redis.pipeline();
    for (const c of candidates.slice(0, 1000)) pipeline.type(c.key);
    const types = candidates.length === 0 ? [] : ((await pipeline.exec()) ?? []);
    const counts = new Map<string, { keys: number; unreadable: number }>();
    candidates.slice(0, 1000).forEach((c, i) => {
      const [error, type] = types[i] ?? [null, null];
      const unreadable = isNoPermission(error);
      if (!unreadable && type !== c.type) return;
      const count = counts.get(c.prefix) ?? { keys: 0, unreadable: 0 };
      if (unreadable) count.unreadable++;
      else count.keys++;
      counts.set(c.prefix, count);
    });
    return [...counts]
      .map(([prefix, { keys, unreadable }]) => ({ prefix, keys, ...(unreadable > 0 ? { unreadable } : {}) }))
      .sort((a, b) => b.keys - a.keys || (b.unreadable ?? 0) - (a.unreadable ?? 0) || a.prefix.localeCompare(b.prefix));
  } catch (error) {
    throw classifyRedisError(error, 'Looking for Sidekiq keys under other prefixes');
  }
}

/** A refusal of a key the user's ACL does not cover (NOPERM). */
function isNoPermission(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOPERM');
}

/** The prefix and expected type of a key shaped like Sidekiq's, or null. */
export function sidekiqShape(key: Buffer): { prefix: string; type: string } | null {
  // latin1: one character per byte, so the ASCII names match whatever the rest holds.
  const text = key.toString('latin1');
  // Our own keys that hold jobs: an interrupted transfer's in-flight keys and quarantine lists
  // belong to the prefix before `sidekiq-migrate:` (read as a prefix of their own, a run's
  // `sidekiq-migrate:RUN:inflight:schedule` would look like a second Sidekiq layout). Our other
  // keys (ledgers, locks, the target's id) hold no jobs.
  const ours = OUR_JOB_KEY.exec(text);
  if (ours) return { prefix: key.subarray(0, ours.index).toString('utf8'), type: ours[1] === 'queue:' || ours[2] !== undefined ? 'list' : 'zset' };
  if (text.includes('sidekiq-migrate:')) return null;
  const queue = /(^|:)queue:./.exec(text);
  // Not GitLab's reliable-fetch working lists (`working:queue:…`).
  if (queue && !text.slice(0, queue.index + queue[1]!.length).endsWith('working:')) return { prefix: key.subarray(0, queue.index + queue[1]!.length).toString('utf8'), type: 'list' };
  for (const [name, type] of Object.entries(FIXED_KEYS)) {
    if (text === name || text.endsWith(`:${name}`)) return { prefix: key.subarray(0, text.length - name.length).toString('utf8'), type };
  }
  return null;
}

/**
 * `sidekiq-migrate:RUN:inflight:queue:NAME` (a list), `…:inflight:schedule|retry|dead` (sorted
 * sets) or `sidekiq-migrate:quarantine:NAME` (a list), after a prefix that is empty or ends in ':'.
 */
const OUR_JOB_KEY = /(?:^|(?<=:))sidekiq-migrate:(?:[A-Za-z0-9_.-]+:inflight:(queue:)?(?=.)|(quarantine:)(?=.))/;

export interface PrefixCheck {
  /** How the Redis is named in messages (a redacted URL). */
  readonly name: string;
  /** The option that sets its prefix, e.g. `--namespace`. */
  readonly option: string;
}

/**
 * Before a run or a check trusts an empty result: when nothing of Sidekiq's is under the prefix
 * but Sidekiq keys are under another, the prefix is wrong (GitLab's `resque:gitlab`, say) and
 * "nothing to do" would be a lie: refused as bad input, naming the prefixes found. Returns
 * whether any Sidekiq data is there (false: the Redis holds none at all, as far as we looked).
 */
export async function checkSidekiqPrefix(redis: Redis, keys: SidekiqKeys, check: PrefixCheck): Promise<boolean> {
  if (await hasSidekiqData(redis, keys)) return true;
  // Keys this user may not read (its ACL) are named by the run's and the check's notes; they are
  // no proof of a wrong prefix: this user could not use that prefix anyway.
  const elsewhere = (await findSidekiqPrefixes(redis)).filter((p) => p.prefix !== keys.prefix && p.keys > 0);
  const here = keys.prefix === '' ? 'without a prefix' : `under the prefix "${keys.prefix}"`;
  const keysOf = (p: { readonly keys: number }) => `${p.keys} key${p.keys === 1 ? '' : 's'}`;
  if (elsewhere.length === 0) {
    // A wrong database number (`/1` where Sidekiq uses 0) finds nothing either: "nothing to move"
    // or "DRAINED" there would be as false as under a wrong prefix.
    const others = await otherDatabasesWithSidekiq(redis);
    if (others.length === 0) return false;
    const db = redis.options.db ?? 0;
    const found = others.map((o) => `database ${o.db} (${keysOf(o)})`).join(', ');
    throw new InputError(
      `No Sidekiq data in database ${db} of ${check.name}, but Sidekiq keys are there in ${found}: put /${others[0]!.db} at the end of the URL. Nothing was touched.`,
    );
  }
  const found = elsewhere.map((p) => (p.prefix === '' ? `no prefix (${keysOf(p)})` : `"${p.prefix}" (${keysOf(p)})`)).join(', ');
  const first = elsewhere[0]!.prefix;
  const fix = first === '' ? `leave out ${check.option}` : `use ${check.option} ${first}`;
  throw new InputError(`No Sidekiq data ${here} on ${check.name}, but Sidekiq keys are there under ${found}: ${fix}. Nothing was touched.`);
}

/**
 * The other databases of the server (from `INFO keyspace`) that hold Sidekiq keys, under any
 * prefix; [] when the server does not say or this user may not look (its ACL).
 */
async function otherDatabasesWithSidekiq(redis: Redis): Promise<{ db: number; keys: number }[]> {
  const current = redis.options.db ?? 0;
  let info: string;
  try {
    info = await redis.info('keyspace');
  } catch {
    return [];
  }
  const dbs = [...info.matchAll(/^db(\d+):keys=(\d+)/gm)].map((m) => Number(m[1])).filter((db) => db !== current).slice(0, 16);
  const found: { db: number; keys: number }[] = [];
  for (const db of dbs) {
    const other = redis.duplicate({ db, lazyConnect: true });
    other.on('error', () => undefined);
    try {
      const keys = (await findSidekiqPrefixes(other, 1_000)).reduce((sum, p) => sum + p.keys, 0);
      if (keys > 0) found.push({ db, keys });
    } catch {
      // Not allowed to look there (SELECT or SCAN refused): no evidence either way.
    } finally {
      other.disconnect();
    }
  }
  return found;
}

/** Sidekiq data under another prefix than the one a run or check works on. */
export interface OtherPrefix {
  readonly prefix: string;
  /** Sidekiq-shaped keys seen under it (from a bounded SCAN). */
  readonly keys: number;
  /**
   * Jobs it holds: its sets' sizes, the lengths of up to 1,000 of its queues, of up to 1,000
   * reliable-fetch working lists and of up to 1,000 in-flight and quarantine keys of ours.
   */
  readonly jobs: number;
  /** Of `jobs`, those in our in-flight and quarantine keys: no Sidekiq runs them (absent: none). */
  readonly held?: number;
  /** Of `jobs`, those in `dead` and `interrupted`, which never run unless retried (absent: none). */
  readonly dormant?: number;
  /**
   * Of `jobs`, those in reliable-fetch working lists: only a fetcher under that prefix puts them
   * back on their queue, and no move carries them (absent: none).
   */
  readonly taken?: number;
  /** Live Sidekiq processes under it (drain-check counts them where it holds jobs). */
  readonly liveProcesses?: number;
  /**
   * Sidekiq-shaped keys under it that this user may not read (an ACL limited to some key
   * patterns): their jobs are not in `jobs`, which is then a floor (absent: none).
   */
  readonly unreadable?: number;
  /**
   * Its looks for queue lists, working lists and keys of ours (SCANs of the whole keyspace) were
   * stopped by the bound's time, and how far the shortest got: `jobs` is then a floor.
   */
  readonly lookCutShort?: KeyspaceCut;
}

/**
 * Other prefixes holding Sidekiq data, with their jobs (queued, in sets, in flight from an
 * interrupted transfer, quarantined): after GitLab's namespace move (16.5–16.7
 * moved `resque:gitlab:*` to no prefix, and never deletes leftovers) one Redis can hold both
 * layouts, and a run or check of one says nothing of the other unless told. At most 5, found
 * among PREFIX_SEARCH_KEYS keys; per prefix three SCANs (queue lists, working lists, keys of ours)
 * that stop at 1,000 keys found, but walk the whole keyspace when fewer exist: `bound` stops them
 * (each its share, its first page whatever the time; `lookCutShort`). `alsoOurs`: prefixes the run
 * works on besides `keys`' (a namespace move's target prefix on the same Redis), not "other".
 */
export async function otherSidekiqPrefixes(redis: Redis, keys: SidekiqKeys, alsoOurs: readonly string[] = [], bound: ScanBound = {}): Promise<OtherPrefix[]> {
  const others = (await findSidekiqPrefixes(redis)).filter((p) => p.prefix !== keys.prefix && !alsoOurs.includes(p.prefix)).slice(0, 5);
  try {
    const found: OtherPrefix[] = [];
    // Each SCAN below walks the whole keyspace unless it finds 1,000 keys: three per prefix share
    // the bound, each a fair part of what is left; the pages of the first one cut short are kept.
    let walks = others.length * 3;
    let cutPages: number | undefined;
    const scan = async (pattern: string) => {
      const { keys: hits, pages, cut } = await scanUpTo(redis, pattern, 1000, shareOf(bound, walks--));
      if (cut) cutPages = Math.max(1, Math.min(cutPages ?? pages, pages));
      return hits;
    };
    for (const { prefix, keys: count, unreadable: unreadableFound } of others) {
      cutPages = undefined;
      const queues = await scan(`${escapeGlob(prefix)}queue:*`);
      // GitLab's reliable-fetch working lists there: jobs a worker under that prefix took, which
      // only a fetcher running under that prefix puts back (after GitLab's namespace move, none
      // does). Super_fetch's private lists match `queue:*` and are counted with the queues.
      const head = Buffer.byteLength(prefix, 'utf8');
      const working = (await scan(`${escapeGlob(prefix)}working:queue:*`)).filter((key) => parseFetcherKey(key.subarray(head)).fetcher === 'reliable-fetch');
      // Jobs of ours under that prefix too: an interrupted transfer's in-flight keys, quarantine lists.
      const ours = (await scan(`${escapeGlob(prefix)}sidekiq-migrate:*`)).flatMap((key): [Buffer, string][] => {
        const shape = sidekiqShape(key);
        return shape && shape.prefix === prefix ? [[key, shape.type]] : [];
      });
      // Two round trips per prefix, whatever the number of keys: their types, then the sizes of
      // the sets and lists among them.
      const candidates: [Buffer, string][] = [
        ...['schedule', 'retry', 'dead', 'interrupted'].map((set): [Buffer, string] => [Buffer.from(`${prefix}${set}`), 'zset']),
        ...[...queues, ...working].map((key): [Buffer, string] => [key, 'list']),
        ...ours,
      ];
      const types = await pipelined(redis, candidates, (p, [key]) => p.type(key));
      // `dead` and `interrupted` (the first sets listed) never run by themselves; our keys, no Sidekiq runs.
      const sized = candidates
        .map((candidate, i) => ({
          candidate,
          dormant: i === 2 || i === 3,
          taken: i >= candidates.length - ours.length - working.length && i < candidates.length - ours.length,
          ours: i >= candidates.length - ours.length,
        }))
        .filter(({ candidate: [, type] }, i) => types[i] === type);
      const sizes = await pipelined(redis, sized, (p, { candidate: [key, type] }) => (type === 'zset' ? p.zcard(key) : p.llen(key)));
      const sum = (which: (s: (typeof sized)[number]) => boolean) => sizes.reduce((n: number, size, i) => n + (which(sized[i]!) && typeof size === 'number' ? size : 0), 0);
      const [jobs, held, dormant, taken] = [sum(() => true), sum((s) => s.ours), sum((s) => s.dormant), sum((s) => s.taken)];
      // Keys the ACL hides from this user: counted, never read as empty. The fixed sets are left
      // out of the count: TYPE of a set that does not exist is refused all the same.
      const unreadable = Math.max(unreadableFound ?? 0, types.filter((t, i) => t === UNREADABLE && i >= 4).length);
      const cut = cutPages === undefined ? {} : { lookCutShort: await keyspaceCut(redis, cutPages) };
      found.push({ prefix, keys: count, jobs, ...(held > 0 ? { held } : {}), ...(dormant > 0 ? { dormant } : {}), ...(taken > 0 ? { taken } : {}), ...(unreadable > 0 ? { unreadable } : {}), ...cut });
    }
    return found;
  } catch (error) {
    throw classifyRedisError(error, 'Counting the jobs under other prefixes');
  }
}

/**
 * The keys matching `pattern`, from SCAN pages until at least `limit` (at most `limit` kept), or
 * until `bound`'s time has passed (`cut`: the end of the keyspace not reached).
 */
async function scanUpTo(redis: Redis, pattern: string, limit: number, bound: ScanBound): Promise<{ keys: Buffer[]; pages: number; cut: boolean }> {
  const keys: Buffer[] = [];
  const extent = await scanBounded(redis, pattern, bound, (page) => {
    keys.push(...page);
    return keys.length >= limit;
  });
  return { keys: keys.slice(0, limit), pages: extent.pages, cut: extent.cutShort === 'time' };
}

/** A reply refused by the user's ACL (NOPERM), in `pipelined`'s replies. */
const UNREADABLE = Symbol('unreadable');

/** One pipeline of `command` over `items`; the replies in order (UNREADABLE for a key the ACL hides; another failure throws). */
async function pipelined<T>(redis: Redis, items: readonly T[], command: (pipeline: ReturnType<Redis['pipeline']>, item: T) => unknown): Promise<unknown[]> {
  if (items.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const item of items) command(pipeline, item);
  return ((await pipeline.exec()) ?? []).map(([error, reply]) => {
    if (isNoPermission(error)) return UNREADABLE;
    if (error) throw error;
    return reply;
  });
}

/** How a prefix is named to a user. */
export const describePrefix = (prefix: string): string => (prefix === '' ? 'no prefix' : `the prefix "${prefix}"`);
