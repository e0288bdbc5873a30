import type { Redis } from 'ioredis';
import { InputError } from '../errors/input-error.js';
import { parseFetcherKey } from '../drain/fetcher-lists.js';
import { keyspaceCut, type KeyspaceCut, type ScanBound, type ScanExtent } from './bounded-scan.js';
import { walkForLooks, type PageLook } from './shared-walk.js';
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

/** Whether Sidekiq data lives under a prefix, as far as a bounded look saw (lookForSidekiqData). */
export interface SidekiqDataLook {
  readonly found: boolean;
  /** Nothing found, and the walk stopped at its time before the end of the keyspace: how far it got (absent data is then not known). */
  readonly cutShort?: KeyspaceCut;
  /** Nothing found: the prefixes Sidekiq keys were seen under on the same walk (findSidekiqPrefixes' counts), this one's included. */
  readonly prefixes?: readonly FoundPrefix[];
}

/**
 * Whether any Sidekiq data lives under the keys' prefix, unbounded (lookForSidekiqData).
 */
export async function hasSidekiqData(redis: Redis, keys: SidekiqKeys): Promise<boolean> {
  return (await lookForSidekiqData(redis, keys, {})).found;
}

/**
 * Whether any Sidekiq data lives under the keys' prefix: one of Sidekiq's own keys (one EXISTS),
 * else a queue list, a reliable-fetch working list, or jobs of ours (a quarantine list, an interrupted transfer's in-flight key)
 * that ONE walk of the keyspace finds (shared-walk.ts; it stops at the first). With none there,
 * the walk visits every key of the database (three did, one a pattern): on GitLab's Redis,
 * millions. `bound` stops it (its first page whatever the time): then `cutShort`, never "none".
 * The same walk notes the prefixes Sidekiq keys are under (up to PREFIX_CANDIDATES keys), for
 * the refusal of a wrong prefix: wherever they are among the keys it reaches, not only among the
 * first PREFIX_SEARCH_KEYS (on GitLab's Redis, millions of other keys come first), and always
 * among those.
 */
export async function lookForSidekiqData(redis: Redis, keys: SidekiqKeys, bound: ScanBound): Promise<SidekiqDataLook> {
  if (await hasSidekiqOwnKeys(redis, keys)) return { found: true };
  const look = sidekiqDataLooks(redis, keys);
  return look.result(await walkForLooks(redis, look.looks, bound, look.doing));
}

/** Whether one of the keys every Sidekiq leaves (`queues`, the sets, `stat:processed`…) is under the prefix: one EXISTS. */
export async function hasSidekiqOwnKeys(redis: Redis, keys: SidekiqKeys): Promise<boolean> {
  try {
    return (await redis.exists(...Object.keys(FIXED_KEYS).map((k) => `${keys.prefix}${k}`))) > 0;
  } catch (error) {
    throw classifyRedisError(error, `Looking for Sidekiq data under "${keys.prefix}"`);
  }
}

/**
 * lookForSidekiqData's looks, for a walk that feeds others too (shared-walk.ts; the plan's, which
 * reads them after one EXISTS found none of Sidekiq's own keys), each fed no more after `until`;
 * `result` of their extents, in order.
 */
export function sidekiqDataLooks(redis: Redis, keys: SidekiqKeys, until?: number): { looks: PageLook[]; doing: string; result(extents: readonly ScanExtent[]): Promise<SidekiqDataLook> } {
  const doing = `Looking for Sidekiq data under "${keys.prefix}"`;
  const ours = Buffer.from(`${keys.prefix}sidekiq-migrate:`, 'utf8');
  let found = false;
  // `queue:*`, `sidekiq-migrate:quarantine:*` and `sidekiq-migrate:*:inflight:*` (in-flight keys
  // of an interrupted transfer are jobs too: a run resumes them), `working:queue:*`.
  // GitLab's reliable-fetch working lists too (`working:queue:*`): jobs workers took and never
  // finished, all an old namespace may hold after GitLab's namespace move; only a fetcher under
  // that prefix puts them back. Without them, drain-check of that namespace was refused with
  // "No Sidekiq data" over those jobs.
  const working = Buffer.from(`${keys.prefix}working:queue:`, 'utf8');
  const head = Buffer.byteLength(keys.prefix, 'utf8');
  const isData = (key: Buffer) => {
    if (key.subarray(0, working.length).equals(working)) return parseFetcherKey(key.subarray(head)).fetcher === 'reliable-fetch';
    if (!key.subarray(0, ours.length).equals(ours)) return true;
    const rest = key.subarray(ours.length).toString('latin1');
    return rest.startsWith('quarantine:') || rest.includes(':inflight:');
  };
  const bounded = until === undefined ? {} : { until };
  const here: PageLook = { heads: [`${keys.prefix}queue:`, `${keys.prefix}sidekiq-migrate:`, `${keys.prefix}working:queue:`], ...bounded, onPage: (page: Buffer[]) => (found ||= page.some(isData)) };
  // Fed no more once data is found here: then no other prefix matters.
  const elsewhere = { ...sidekiqPrefixesLook(redis, Infinity, () => found), ...bounded };
  return {
    looks: [here, elsewhere],
    doing,
    result: async ([extent]) => {
      try {
        if (found) return { found: true };
        // A walk its time stopped early still reads the first PREFIX_SEARCH_KEYS keys for them, as
        // findSidekiqPrefixes always did (twenty SCAN calls): a small keyspace's refusal never depends on the time.
        const prefixes = elsewhere.seen() >= PREFIX_SEARCH_KEYS ? await elsewhere.result() : await findSidekiqPrefixes(redis);
        return extent!.cutShort === 'time' ? { found: false, cutShort: await keyspaceCut(redis, extent!.pages), prefixes } : { found: false, prefixes };
      } catch (error) {
        throw classifyRedisError(error, doing);
      }
    },
  };
}

/**
 * The prefixes under which Sidekiq keys live, from a bounded SCAN (up to `limit` keys): a key is
 * Sidekiq's when its last part after a prefix ending in ':' (or none) is one of Sidekiq's fixed
 * keys of the right type, or `queue:NAME` holding a list. Counted per prefix, most keys first.
 * SCAN lists every key, but an ACL user limited to some key patterns (`~gitlab:*`) may not read
 * the others' types: those keys are counted apart (`unreadable`), never taken for absent.
 */
export async function findSidekiqPrefixes(redis: Redis, limit = PREFIX_SEARCH_KEYS): Promise<FoundPrefix[]> {
  const look = sidekiqPrefixesLook(redis, limit);
  await walkForLooks(redis, [look], {}, FINDING_PREFIXES);
  return look.result();
}

export interface FoundPrefix {
  readonly prefix: string;
  readonly keys: number;
  readonly unreadable?: number;
}

const FINDING_PREFIXES = 'Looking for Sidekiq keys under other prefixes';

/** Keys shaped like Sidekiq's whose type the search reads, at most (one pipeline). */
const PREFIX_CANDIDATES = 1000;

/**
 * findSidekiqPrefixes as a look a shared walk feeds (shared-walk.ts): every key; it has enough at
 * PREFIX_CANDIDATES Sidekiq-shaped keys, at `limit` keys looked at, or when `stop` says so.
 * `result`: one pipeline of TYPE over the candidates.
 */
function sidekiqPrefixesLook(redis: Redis, limit: number, stop: () => boolean = () => false): PageLook & { seen(): number; result(): Promise<FoundPrefix[]> } {
  const candidates: { key: Buffer; prefix: string; type: string }[] = [];
  const named = new Set<string>();
  let seen = 0;
  return {
    heads: [''],
    match: '*',
    seen: () => seen,
    onPage: (page) => {
      seen += page.length;
      for (const key of page) {
        // SCAN may return a key twice (while the server rehashes): counted once.
        const candidate = candidates.length < PREFIX_CANDIDATES && !named.has(key.toString('latin1')) ? sidekiqShape(key) : null;
        if (!candidate) continue;
        named.add(key.toString('latin1'));
        candidates.push({ key, ...candidate });
      }
      return stop() || candidates.length >= PREFIX_CANDIDATES || seen >= limit;
    },
    result: async () => {
      try {
        const pipeline = redis.pipeline();
        for (const c of candidates) pipeline.type(c.key);
        const types = candidates.length === 0 ? [] : ((await pipeline.exec()) ?? []);
        const counts = new Map<string, { keys: number; unreadable: number }>();
        candidates.forEach((c, i) => {
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
        throw classifyRedisError(error, FINDING_PREFIXES);
      }
    },
  };
}

/** A refusal of a key the user's ACL does not cover (NOPERM). */
export function isNoPermission(error: unknown): boolean {
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
 * whether any Sidekiq data is there: false only when the look reached the end of the keyspace
 * without any (the Redis holds none at all); 'unknown' when it found none before `bound` stopped
 * it (never taken as none: a run then says nothing of "nothing there").
 *
 * A look cut short that found nothing still refuses when Sidekiq keys are under another prefix
 * (or in another database): what a careful user expects. Sidekiq's own keys under the prefix
 * (`queues`, which every push adds to, `stat:processed`, the sets) are read whatever the time
 * (one EXISTS), and none of them is there while another prefix has them: the prefix is almost
 * surely wrong, a run would move nothing and say so, and the refusal touches nothing and names
 * the fix. Its words say how far the look got, never "no Sidekiq data" as a fact.
 */
export async function checkSidekiqPrefix(redis: Redis, keys: SidekiqKeys, check: PrefixCheck, bound: ScanBound = {}): Promise<boolean | 'unknown'> {
  return (await checkSidekiqPrefixLook(redis, keys, check, bound)).hasData;
}

/**
 * checkSidekiqPrefix, with how far its look got when `bound` cut it short with nothing found
 * (`hasData` 'unknown'): what a drain check reports (drain-check.ts, sidekiqDataLookCutShort).
 */
export async function checkSidekiqPrefixLook(redis: Redis, keys: SidekiqKeys, check: PrefixCheck, bound: ScanBound = {}): Promise<{ hasData: boolean | 'unknown'; cutShort?: KeyspaceCut }> {
  return judgeSidekiqPrefix(redis, keys, check, await lookForSidekiqData(redis, keys, bound));
}

/** checkSidekiqPrefixLook of what a look saw (lookForSidekiqData, or the plan's walk: sidekiqDataLooks). */
export async function judgeSidekiqPrefix(redis: Redis, keys: SidekiqKeys, check: PrefixCheck, look: SidekiqDataLook): Promise<{ hasData: boolean | 'unknown'; cutShort?: KeyspaceCut }> {
  if (look.found) return { hasData: true };
  // Keys this user may not read (its ACL) are named by the run's and the check's notes; they are
  // no proof of a wrong prefix: this user could not use that prefix anyway.
  const elsewhere = (look.prefixes ?? []).filter((p) => p.prefix !== keys.prefix && p.keys > 0);
  const here = keys.prefix === '' ? 'without a prefix' : `under the prefix "${keys.prefix}"`;
  const keysOf = (p: { readonly keys: number }) => `${p.keys} key${p.keys === 1 ? '' : 's'}`;
  // Cut short: how far the look got, in the words; never "no Sidekiq data" as a fact.
  const [noData, howFar] = look.cutShort
    ? ['No Sidekiq data found', ` (none of Sidekiq's own keys; its look for queue lists stopped after about ${look.cutShort.lookedAt.toLocaleString('en-US')} of its ${look.cutShort.keys.toLocaleString('en-US')} keys, its time out)`]
    : ['No Sidekiq data', ''];
  if (elsewhere.length === 0) {
    // A wrong database number (`/1` where Sidekiq uses 0) finds nothing either: "nothing to move"
    // or "DRAINED" there would be as false as under a wrong prefix.
    const others = await otherDatabasesWithSidekiq(redis);
    if (others.length === 0) return look.cutShort ? { hasData: 'unknown', cutShort: look.cutShort } : { hasData: false };
    const db = redis.options.db ?? 0;
    const found = others.map((o) => `database ${o.db} (${keysOf(o)})`).join(', ');
    throw new InputError(`${noData} in database ${db} of ${check.name}${howFar}, but Sidekiq keys are there in ${found}: put /${others[0]!.db} at the end of the URL. Nothing was touched.`);
  }
  const found = elsewhere.map((p) => (p.prefix === '' ? `no prefix (${keysOf(p)})` : `"${p.prefix}" (${keysOf(p)})`)).join(', ');
  const first = elsewhere[0]!.prefix;
  const fix = first === '' ? `leave out ${check.option}` : `use ${check.option} ${first}`;
  throw new InputError(`${noData} ${here} on ${check.name}${howFar}, but Sidekiq keys are there under ${found}: ${fix}. Nothing was touched.`);
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
   * Of `liveProcesses`, those not heard from for more than SILENT_BEATS beats (they may have been
   * killed; the census counts them live until their heartbeat expires). Absent when none.
   */
  readonly silentProcesses?: number;
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
 * among PREFIX_SEARCH_KEYS keys. Their queue lists, working lists and keys of ours (1,000 keys
 * each at most) come from ONE walk of the keyspace (shared-walk.ts) for them all: three a prefix,
 * each its own walk, were fifteen walks of every key of the database when fewer than 1,000 exist.
 * `bound` stops it (its first page whatever the time; `lookCutShort`: the jobs are then a floor).
 * `alsoOurs`: prefixes the run works on besides `keys`' (a namespace move's target prefix on the
 * same Redis), not "other".
 */
export async function otherSidekiqPrefixes(redis: Redis, keys: SidekiqKeys, alsoOurs: readonly string[] = [], bound: ScanBound = {}): Promise<OtherPrefix[]> {
  const doing = 'Counting the jobs under other prefixes';
  const others = (await findSidekiqPrefixes(redis)).filter((p) => p.prefix !== keys.prefix && !alsoOurs.includes(p.prefix)).slice(0, 5);
  if (others.length === 0) return [];
  try {
    // Per prefix: its queue lists, GitLab's reliable-fetch working lists there (jobs a worker
    // under that prefix took, which only a fetcher running under that prefix puts back; after
    // GitLab's namespace move, none does; super_fetch's private lists match `queue:*` and are
    // counted with the queues), and jobs of ours under it (in-flight keys, quarantine lists).
    const looks = others.map(({ prefix }) => ({ queues: upTo(`${prefix}queue:`, 1000), working: upTo(`${prefix}working:queue:`, 1000), ours: upTo(`${prefix}sidekiq-migrate:`, 1000) }));
    const fed = looks.flatMap((l) => [l.queues, l.working, l.ours]);
    const extents = await walkForLooks(redis, fed, bound, doing);
    const found: OtherPrefix[] = [];
    for (const [n, { prefix, keys: count, unreadable: unreadableFound }] of others.entries()) {
      const head = Buffer.byteLength(prefix, 'utf8');
      const look = looks[n]!;
      const queues = look.queues.keys;
      const working = look.working.keys.filter((key) => parseFetcherKey(key.subarray(head)).fetcher === 'reliable-fetch');
      const ours = look.ours.keys.flatMap((key): [Buffer, string][] => {
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
      // Its looks the walk's time stopped (not those that had their 1,000 keys): how far it got.
      const timed = extents.slice(3 * n, 3 * n + 3).filter((e) => e.cutShort === 'time');
      const cut = timed.length === 0 ? {} : { lookCutShort: await keyspaceCut(redis, Math.max(1, Math.min(...timed.map((e) => e.pages)))) };
      found.push({ prefix, keys: count, jobs, ...(held > 0 ? { held } : {}), ...(dormant > 0 ? { dormant } : {}), ...(taken > 0 ? { taken } : {}), ...(unreadable > 0 ? { unreadable } : {}), ...cut });
    }
    return found;
  } catch (error) {
    throw classifyRedisError(error, doing);
  }
}

/** A look (shared-walk.ts) that keeps the keys starting with `head`, and has enough at `limit` (at most `limit` kept). */
function upTo(head: string, limit: number): PageLook & { readonly keys: Buffer[] } {
  const keys: Buffer[] = [];
  const seen = new Set<string>();
  return {
    heads: [head],
    keys,
    onPage: (page) => {
      // SCAN may return a key twice: kept once.
      for (const key of page) {
        if (keys.length >= limit || seen.has(key.toString('latin1'))) continue;
        seen.add(key.toString('latin1'));
        keys.push(key);
      }
      return keys.length >= limit;
    },
  };
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
