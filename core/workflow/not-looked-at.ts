import { discoverQueues } from '../reroute/discover-queues.js';
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
}

export async function jobsNotLookedAt(settings: Pick<RunSettings, 'mode' | 'sets' | 'queues'>, source: Connection, plan: RoutingPlan | undefined): Promise<NotLookedAt | undefined> {
  const sets = SORTED_SET_NAMES.filter((set) => !settings.sets.includes(set));
  const queues = settings.queues ? [] : (await discoverQueues(source.redis, source.keys)).queues.filter((q) => settings.mode !== 'reroute' || plan === undefined || isDrainedQueue(plan, q));
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
  const options = [...(sets.length > 0 ? ['--sets'] : []), ...(settings.queues ? [] : ['--no-queues'])];
  const places = found.slice(0, NOT_LOOKED_AT_LISTED);
  return {
    jobs: found.reduce((n, p) => n + p.jobs, 0),
    places,
    more: found.length - places.length,
    options,
    ...(uncounted.length > 0 ? { uncounted: { places: uncounted.slice(0, NOT_LOOKED_AT_LISTED), total: uncounted.length } } : {}),
  };
}
