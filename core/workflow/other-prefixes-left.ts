import type { Redis } from 'ioredis';
import { parseFetcherKey } from '../drain/fetcher-lists.js';
import { nameFromBytes } from '../redis/key-name.js';
import type { ScanExtent } from '../redis/bounded-scan.js';
import { walkForLooks, type PageLook } from '../redis/shared-walk.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import { sidekiqShape } from '../redis/sidekiq-prefixes.js';

/** Keys a summary names (the largest first), and prefixes: its state stays small. */
const PLACES_NAMED = 20;
const PREFIXES_NAMED = 5;
/** Job keys under other prefixes the look reads at most (a key each, deduplicated): then it stops, and says so. */
export const OTHER_PREFIX_KEYS_READ = 10_000;
/** Prefixes counted apart, at most (a keyspace of `user:N:queue:x` lists would make one per user). */
const PREFIXES_KEPT = 1_000;

/**
 * Jobs on the source under other key prefixes than the run's own (GitLab's `resque:gitlab:`
 * leftovers beside its unprefixed keys, another app's namespace; or, for a run under
 * `--namespace`, jobs under no prefix): no run moves them unless told their prefix. The plan's
 * note named them on stderr, and the run ended "Complete" over them. Undefined when there are
 * none and the look reached the end of the keyspace.
 */
export interface JobsUnderOtherPrefixes {
  /** The prefix the run works on (how it is named in the summary's words). */
  readonly own: string;
  readonly jobs: number;
  /** The largest keys holding them, as lossless names (key-name.ts), and how many more hold some. */
  readonly places: readonly { readonly name: string; readonly jobs: number }[];
  readonly more: number;
  /** The prefixes holding them, most jobs first (the first PREFIXES_NAMED), and how many more. */
  readonly prefixes: readonly string[];
  readonly morePrefixes: number;
  /** Sidekiq-shaped keys there that this user may not read (its ACL): what they hold is unknown. */
  readonly unreadable?: number;
  /**
   * The look stopped before the end of the keyspace: at the summary's time bound, or at
   * OTHER_PREFIX_KEYS_READ keys. `jobs` then counts what it reached: there may be more.
   */
  readonly cutShort?: 'time' | 'keys';
}

export interface OtherPrefixBound {
  /** Most job-shaped keys under other prefixes read (default OTHER_PREFIX_KEYS_READ). */
  readonly keys?: number;
  /** Epoch ms after which no further SCAN page is read (the first always is): the summary's budget. */
  readonly until?: number;
  readonly clock?: () => number;
}

/**
 * One SCAN of the keyspace, a pipeline of TYPE and size per page with candidates: every key
 * shaped like Sidekiq's job-holding keys (queues, schedule/retry/dead/interrupted, GitLab's
 * reliable-fetch working lists, our in-flight and quarantine keys) under a prefix not in `own`
 * (the run's source prefix, and a same-server move's target prefix). Our other keys (locks,
 * ledgers, records) hold no jobs and are never candidates.
 */
export async function jobsUnderOtherPrefixes(redis: Redis, own: readonly string[], bound: OtherPrefixBound = {}): Promise<JobsUnderOtherPrefixes | undefined> {
  const look = otherPrefixesLeftLook(redis, own, bound.keys);
  const [extent] = await walkForLooks(redis, [look], { ...(bound.until === undefined ? {} : { until: bound.until }), ...(bound.clock ? { clock: bound.clock } : {}) }, DOING);
  return look.result(extent!);
}

const DOING = 'Looking for jobs under other prefixes of the source';

/**
 * jobsUnderOtherPrefixes as a look a shared walk feeds (shared-walk.ts): every key (the prefixes
 * are not known beforehand, so no MATCH can narrow the walk); it has enough at `limit` job-shaped
 * keys. `result` of the walk's extent for it.
 */
export function otherPrefixesLeftLook(redis: Redis, own: readonly string[], limit = OTHER_PREFIX_KEYS_READ): PageLook & { result(extent: ScanExtent): JobsUnderOtherPrefixes | undefined } {
  const ours = new Set(own);
  const seen = new Set<string>();
  const byPrefix = new Map<string, number>();
  let places: { name: string; jobs: number }[] = [];
  let holding = 0;
  let jobs = 0;
  let unreadable = 0;
  const onPage = async (page: Buffer[]): Promise<boolean> => {
    const candidates = page.flatMap((key) => {
      const shape = jobKeyShape(key);
      // SCAN may return a key twice (while the server rehashes): counted once.
      if (!shape || ours.has(shape.prefix) || seen.has(key.toString('latin1'))) return [];
      seen.add(key.toString('latin1'));
      return [{ key, ...shape }];
    });
    if (candidates.length > 0) {
      const pipeline = redis.pipeline();
      for (const c of candidates) {
        pipeline.type(c.key);
        if (c.type === 'zset') pipeline.zcard(c.key);
        else pipeline.llen(c.key); // on a key of another type an error, which its TYPE explains
      }
      const replies = (await pipeline.exec()) ?? [];
      for (const [i, c] of candidates.entries()) {
        const [[typeError, type], [sizeError, size]] = [replies[2 * i] ?? [null, null], replies[2 * i + 1] ?? [null, null]];
        if (isNoPermission(typeError) || isNoPermission(sizeError)) {
          unreadable++;
          continue;
        }
        if (typeError) throw typeError;
        if (type !== c.type) continue;
        if (sizeError) throw sizeError;
        if (typeof size !== 'number' || size === 0) continue;
        jobs += size;
        holding++;
        if (byPrefix.has(c.prefix) || byPrefix.size < PREFIXES_KEPT) byPrefix.set(c.prefix, (byPrefix.get(c.prefix) ?? 0) + size);
        places.push({ name: nameFromBytes(c.key), jobs: size });
        if (places.length > 2 * PLACES_NAMED) places = largestFirst(places).slice(0, PLACES_NAMED);
      }
    }
    return seen.size >= limit;
  };
  return {
    heads: [''],
    match: '*',
    onPage: async (page) => {
      try {
        return await onPage(page);
      } catch (error) {
        throw classifyRedisError(error, DOING);
      }
    },
    result: (extent) => {
      const cutShort: JobsUnderOtherPrefixes['cutShort'] = extent.cutShort === undefined ? undefined : extent.cutShort === 'enough' ? 'keys' : 'time';
      if (jobs === 0 && unreadable === 0 && cutShort === undefined) return undefined;
      const prefixes = [...byPrefix].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([prefix]) => prefix);
      const named = largestFirst(places).slice(0, PLACES_NAMED);
      return {
        own: own[0] ?? '',
        jobs,
        places: named,
        more: holding - named.length,
        prefixes: prefixes.slice(0, PREFIXES_NAMED),
        morePrefixes: Math.max(0, prefixes.length - PREFIXES_NAMED),
        ...(unreadable > 0 ? { unreadable } : {}),
        ...(cutShort ? { cutShort } : {}),
      };
    },
  };
}

const largestFirst = <P extends { name: string; jobs: number }>(places: P[]): P[] => places.sort((a, b) => b.jobs - a.jobs || (a.name < b.name ? -1 : 1));

/** Sidekiq's sorted sets of jobs (the last part of their key). */
const JOB_SETS = new Set(['schedule', 'retry', 'dead', 'interrupted']);

/** The prefix and type of a key that holds jobs in Sidekiq's layout (or ours), or null. */
function jobKeyShape(key: Buffer): { prefix: string; type: string } | null {
  // latin1: one character per byte. Most keys of a large keyspace (caches, duplicate-job keys)
  // are none of these: rejected on one decode, before the regular expressions below.
  const text = key.toString('latin1');
  if (!text.includes('queue:') && !text.includes('sidekiq-migrate:') && !JOB_SETS.has(text.slice(text.lastIndexOf(':') + 1))) return null;
  // GitLab's reliable-fetch working lists (jobs a worker under that prefix took): sidekiqShape
  // leaves them out, as no layout of their own.
  const working = /(^|:)working:queue:/.exec(text);
  if (working) {
    const head = working.index + working[1]!.length;
    return parseFetcherKey(key.subarray(head)).fetcher === 'reliable-fetch' ? { prefix: key.subarray(0, head).toString('utf8'), type: 'list' } : null;
  }
  const shape = sidekiqShape(key);
  // `queues`, `processes` and `stat:processed` name no jobs.
  return shape && (shape.type === 'list' || shape.type === 'zset') ? shape : null;
}

/** A refusal of a key the user's ACL does not cover (NOPERM). */
function isNoPermission(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOPERM');
}
