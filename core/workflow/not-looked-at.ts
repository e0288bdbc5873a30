import { queueListsAmong } from '../reroute/discover-queues.js';
import { keyspaceCut, type KeyspaceCut, type ScanBound, type ScanExtent } from '../redis/bounded-scan.js';
import { nameFromBytes } from '../redis/key-name.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import { walkForLooks, type PageLook } from '../redis/shared-walk.js';
import { misplacedArrivals } from '../reroute/rollback-arrivals.js';
import { SORTED_SET_NAMES } from '../redis/sidekiq-keys.js';
import { isDrainedQueue, type RoutingPlan } from '../routing/routing-plan.js';
import type { Connection } from './connections.js';
import type { RunSettings } from './work-item.js';

/** Sets and queues a summary names for what they hold (a GitLab has hundreds of queues): its state stays small. */
const NOT_LOOKED_AT_LISTED = 20;

/**
 * Jobs in the sets and queues a run's scope left out (`--sets` without some of schedule, retry,
 * dead, interrupted; `--no-queues`): the queues a re-route's routing retires (a transfer: every
 * queue; a rollback: its classes' jobs there). It said "Complete: everything that could be moved
 * was moved" over them. Counted whole (ZCARD, LLEN): a left-out set may hold entries that need no
 * move, so this says "not looked at", not "left behind by the routing". Undefined when the scope
 * is everything, or what it left out is empty.
 */
export interface NotLookedAt {
  readonly jobs: number;
  /** The largest first: a set by its name, a queue as `queue:NAME`. */
  readonly places: readonly { readonly name: string; readonly jobs: number }[];
  /** How many more sets and queues hold some, beyond `places`. */
  readonly more: number;
  /** The options that narrowed the scope: `--sets`, `--no-queues`. */
  readonly options: readonly string[];
  /**
   * Left-out sets and queues whose count failed (a key of another type: WRONGTYPE), with Redis's
   * error: what they hold is unknown, never taken as none. The first NOT_LOOKED_AT_LISTED, and
   * how many there are.
   */
  readonly uncounted?: { readonly places: readonly { readonly name: string; readonly error: string }[]; readonly total: number };
  /**
   * `--no-queues`: the summary's walk of the keyspace stopped (its time) before it found every
   * queue list; those the `queues` set names were counted whatever the time, a list it does not
   * name may be missing: `jobs` is then a floor. How far the walk got.
   */
  readonly queuesCutShort?: KeyspaceCut;
}

export async function jobsNotLookedAt(settings: Pick<RunSettings, 'mode' | 'sets' | 'queues'>, source: Connection, plan: RoutingPlan | undefined, bound: ScanBound = {}): Promise<NotLookedAt | undefined> {
  const look = notLookedAtLook(settings, source, plan);
  const extent = look.heads.length === 0 ? { pages: 0 } : (await walkForLooks(source.redis, [look], bound, look.doing))[0]!;
  return look.result(extent);
}

/**
 * jobsNotLookedAt as a look a shared walk of the source feeds (shared-walk.ts): with
 * `--no-queues`, the queue lists (`queue:*`: every one, not only those the `queues` set names);
 * without, nothing (`heads` empty: no walk needed). `result` of the walk's extent for it counts.
 */
export function notLookedAtLook(settings: Pick<RunSettings, 'mode' | 'sets' | 'queues'>, source: Connection, plan: RoutingPlan | undefined): PageLook & { readonly doing: string; result(extent: ScanExtent): Promise<NotLookedAt | undefined> } {
  const found = new Set<string>();
  const doing = `Looking for the queues --no-queues left out (${source.keys.prefix}queue:*)`;
  return {
    heads: settings.queues ? [] : [`${source.keys.prefix}queue:`],
    doing,
    onPage: async (page) => {
      try {
        for (const q of (await queueListsAmong(source.redis, source.keys, page)).queues) found.add(q);
      } catch (error) {
        throw classifyRedisError(error, doing);
      }
    },
    result: async (extent) => {
      try {
        // Those the `queues` set names, whatever the walk reached (a walk cut short misses only others).
        if (!settings.queues && (await source.redis.type(source.keys.queues)) === 'set') {
          const named = (await source.redis.smembersBuffer(source.keys.queues)).map((name) => source.keys.queue(nameFromBytes(name)));
          if (named.length > 0) for (const q of (await queueListsAmong(source.redis, source.keys, named.map((key) => (Buffer.isBuffer(key) ? key : Buffer.from(key))))).queues) found.add(q);
        }
        const cut = !settings.queues && extent.cutShort ? await keyspaceCut(source.redis, extent.pages) : undefined;
        const counted = await countNotLookedAt(settings, source, plan, [...found].sort());
        if (!cut) return counted;
        return { ...(counted ?? { jobs: 0, places: [], more: 0, options: optionsOf(settings) }), queuesCutShort: cut };
      } catch (error) {
        throw classifyRedisError(error, doing);
      }
    },
  };
}

const optionsOf = (settings: Pick<RunSettings, 'sets' | 'queues'>): string[] => [...(SORTED_SET_NAMES.some((set) => !settings.sets.includes(set)) ? ['--sets'] : []), ...(settings.queues ? [] : ['--no-queues'])];

async function countNotLookedAt(settings: Pick<RunSettings, 'mode' | 'sets' | 'queues'>, source: Connection, plan: RoutingPlan | undefined, discovered: readonly string[]): Promise<NotLookedAt | undefined> {
  const sets = SORTED_SET_NAMES.filter((set) => !settings.sets.includes(set));
  const queues = settings.queues ? [] : discovered.filter((q) => settings.mode !== 'reroute' || plan === undefined || isDrainedQueue(plan, q));
  if (sets.length === 0 && settings.queues) return undefined;
  const pipeline = source.redis.pipeline();
  for (const set of sets) pipeline.zcard(source.keys.sortedSet(set));
  for (const queue of queues) pipeline.llen(source.keys.queue(queue));
  const replies = (await pipeline.exec()) ?? [];
  const names = [...sets, ...queues.map((q) => `queue:${q}`)];
  // An error reply (a key of another type) is no count: named with its error, never 0 jobs.
  const uncounted = names.flatMap((name, i) => (replies[i]?.[0] ? [{ name, error: replies[i]![0].message }] : []));
  const counted = names.map((name, i) => ({ name, jobs: typeof replies[i]?.[1] === 'number' && replies[i]![0] === null ? (replies[i]![1] as number) : 0 }));
  // A rollback's queues are live: only the jobs of a class it puts back are its to move.
  if (plan?.kind === 'reverse') {
    for (const [i, queue] of queues.entries()) {
      const c = counted[sets.length + i]!;
      if (c.jobs > 0) counted[sets.length + i] = { ...c, jobs: await misplacedArrivals(source.redis, source.keys.queue(queue), queue, plan, c.jobs) };
    }
  }
  const found = counted
    .filter((p) => p.jobs > 0)
    .sort((a, b) => b.jobs - a.jobs || (a.name < b.name ? -1 : 1));
  if (found.length === 0 && uncounted.length === 0) return undefined;
  const options = optionsOf(settings);
  const places = found.slice(0, NOT_LOOKED_AT_LISTED);
  return {
    jobs: found.reduce((n, p) => n + p.jobs, 0),
    places,
    more: found.length - places.length,
    options,
    ...(uncounted.length > 0 ? { uncounted: { places: uncounted.slice(0, NOT_LOOKED_AT_LISTED), total: uncounted.length } } : {}),
  };
}
