import type { Redis } from 'ioredis';
import { censusProcesses, type ProcessCensus } from '../drain/live-processes.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';

/**
 * The census of one Redis's Sidekiq processes, taken at the first call and the same at every
 * later one: a summary asks it up to six questions (the queues jobs went to, those left in place,
 * the set entries left, each as unheard and as heard only by silent processes, and the workers'
 * private lists). Each census read apart was a window in which a process could appear or go
 * between reads, and the summary's lines could then disagree (audit-census); and each costs one
 * SMEMBERS and one HMGET + PTTL per process. Nothing is read until it is asked: a summary with
 * nothing left in place reads none for those questions.
 */
export type CensusOnce = () => Promise<ProcessCensus>;

/** A CensusOnce of `redis`'s processes under `keys`, taken at the clock's time of its first call. */
export function censusOnce(redis: Redis, keys: SidekiqKeys, clock: () => number = () => Date.now() / 1000): CensusOnce {
  let taken: Promise<ProcessCensus> | undefined;
  return () => (taken ??= censusProcesses(redis, keys, clock()));
}

/**
 * Queues a run put jobs on that no live Sidekiq process fetches from, on a Redis where live
 * processes do run: a mapping with a typo, a queue name given as its key (`queue:new`), or a rule
 * whose queue no process was told to listen to. Nothing is lost, but those jobs wait until a
 * process fetches from their queue, and "Complete" alone would not say so. With no live process
 * at all (Sidekiq stopped for the migration, or not yet started on a new Redis) nothing is said:
 * every queue is unheard then, by design.
 */
export interface UnheardQueues {
  /** Live, not quiet Sidekiq processes on the Redis the jobs went to (0: the routing said, findQueuesNobodyFetches). */
  readonly liveProcesses: number;
  /**
   * Of `liveProcesses`, those not heard from for more than SILENT_BEATS beats (they may have been
   * killed: their heartbeat hash lives 60 s after their last beat), and how long the least silent
   * of them has not been heard from (seconds). Absent when every one beats (and in older summaries).
   */
  readonly notHeardFrom?: { readonly processes: number; readonly silentSeconds: number };
  /** The queues nobody fetches from, most jobs first (the first UNHEARD_LISTED), with the jobs put there. */
  readonly queues: readonly { readonly queue: string; readonly jobs: number }[];
  /** How many such queues, all told. */
  readonly total: number;
}

/** Queues a summary names: its state stays small whatever the mapping. */
export const UNHEARD_LISTED = 10;

/**
 * The destinations in `jobsTo` (queue → jobs put there) that no live process fetches from, or
 * undefined when there are none or no live process runs on the census's Redis. Reads the census
 * (one read of the processes set and one of their heartbeats, as the drain check's) only when
 * there is a queue to ask about.
 */
export async function findUnheardQueues(census: CensusOnce, jobsTo: Readonly<Record<string, number>>): Promise<UnheardQueues | undefined> {
  return findQueuesNobodyFetches(census, jobsTo, undefined);
}

/**
 * The queues of `jobsOn` (queue → jobs there) that nobody fetches from: with live processes on
 * `redis`, those none of them listens to (findUnheardQueues); with none live, those
 * `heardWithoutProcesses` says no process will listen to once Sidekiq runs again (a re-route's
 * routing: a queue it retires that nothing routes to), or none when it is not given (every queue
 * is unheard while Sidekiq is stopped, by design). Undefined when there are none.
 */
export async function findQueuesNobodyFetches(
  censusOf: CensusOnce,
  jobsOn: Readonly<Record<string, number>>,
  heardWithoutProcesses: ((queue: string) => boolean) | undefined,
): Promise<UnheardQueues | undefined> {
  const places = Object.entries(jobsOn).filter(([, jobs]) => jobs > 0);
  if (places.length === 0) return undefined;
  const census = await censusOf();
  const listening = census.processes.filter((p) => p.live && !p.quiet);
  const liveProcesses = listening.length;
  if (liveProcesses === 0 && !heardWithoutProcesses) return undefined;
  const silences = listening.flatMap((p) => (p.silentSeconds === undefined ? [] : [p.silentSeconds]));
  const heard = liveProcesses > 0 ? (queue: string) => (census.listeners.get(queue) ?? 0) > 0 : heardWithoutProcesses!;
  const unheard = places.filter(([queue]) => !heard(queue)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (unheard.length === 0) return undefined;
  return {
    liveProcesses,
    ...(silences.length > 0 ? { notHeardFrom: { processes: silences.length, silentSeconds: Math.min(...silences) } } : {}),
    queues: unheard.slice(0, UNHEARD_LISTED).map(([queue, jobs]) => ({ queue, jobs })),
    total: unheard.length,
  };
}

/** Two executions' findings as one: the queues' jobs added, the latest census kept. */
export function combineUnheard(a: UnheardQueues | undefined, b: UnheardQueues | undefined): UnheardQueues | undefined {
  if (!a || !b) return b ?? a;
  const jobs = new Map<string, number>();
  for (const { queue, jobs: n } of [...a.queues, ...b.queues]) jobs.set(queue, (jobs.get(queue) ?? 0) + n);
  const queues = [...jobs].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([queue, n]) => ({ queue, jobs: n }));
  // Names beyond the lists are not known here: the larger total is a floor of the union's.
  return { liveProcesses: b.liveProcesses, ...(b.notHeardFrom ? { notHeardFrom: b.notHeardFrom } : {}), queues: queues.slice(0, UNHEARD_LISTED), total: Math.max(a.total, b.total, queues.length) };
}

/**
 * Queues a run put jobs on that only live Sidekiq processes not heard from for more than
 * SILENT_BEATS beats listen to (their heartbeat hash lives 60 s after their last beat, so the
 * census counts them live): if those were killed, nobody fetches from them. Said apart from
 * UnheardQueues (which counts them heard), never instead of it.
 */
export interface UnheardSilentQueues {
  /** How long the least silent of those processes has not been heard from (seconds): true of each. */
  readonly silentSeconds: number;
  /** Live, not quiet processes on that Redis that beat. */
  readonly beatingProcesses: number;
  /** The queues, most jobs first (the first UNHEARD_LISTED), with the jobs put there. */
  readonly queues: readonly { readonly queue: string; readonly jobs: number }[];
  /** How many such queues, all told. */
  readonly total: number;
}

/** The destinations in `jobsTo` heard only by processes not heard from (UnheardSilentQueues), or undefined when there are none. The census is read only when there is a queue to ask about. */
export async function findQueuesHeardOnlyBySilent(censusOf: CensusOnce, jobsTo: Readonly<Record<string, number>>): Promise<UnheardSilentQueues | undefined> {
  const places = Object.entries(jobsTo).filter(([, jobs]) => jobs > 0);
  if (places.length === 0) return undefined;
  const census = await censusOf();
  const found = places.filter(([queue]) => (census.listeners.get(queue) ?? 0) > 0 && (census.beatingListeners.get(queue) ?? 0) === 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (found.length === 0) return undefined;
  const names = new Set(found.map(([queue]) => queue));
  const listening = census.processes.filter((p) => p.live && !p.quiet);
  const silences = listening.filter((p) => p.silentSeconds !== undefined && p.queues.some((q) => names.has(q))).map((p) => p.silentSeconds!);
  return {
    silentSeconds: Math.min(...silences),
    beatingProcesses: listening.filter((p) => p.silentSeconds === undefined).length,
    queues: found.slice(0, UNHEARD_LISTED).map(([queue, jobs]) => ({ queue, jobs })),
    total: found.length,
  };
}

/** Two executions' findings as one (combineUnheard): the latest census's silence and count kept. */
export function combineUnheardSilent(a: UnheardSilentQueues | undefined, b: UnheardSilentQueues | undefined): UnheardSilentQueues | undefined {
  if (!a || !b) return b ?? a;
  const { queues, total } = combineUnheard({ liveProcesses: 0, ...a }, { liveProcesses: 0, ...b })!;
  return { silentSeconds: b.silentSeconds, beatingProcesses: b.beatingProcesses, queues, total };
}
