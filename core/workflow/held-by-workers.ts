import { fetcherListsLook, scanFetcherLists, type FetcherList, type FetcherListBound, type FetcherListLook } from '../drain/fetcher-lists.js';
import type { ScanExtent } from '../redis/bounded-scan.js';
import type { PageLook } from '../redis/shared-walk.js';
import { censusProcesses, type SidekiqProcess } from '../drain/live-processes.js';
import { runningJobs, type RunningJobs } from '../drain/running-jobs.js';
import { silentHolders, withSilentOwners, type SilentHolder } from '../drain/silent-holders.js';
import { redisKey } from '../redis/key-name.js';
import { selectJob } from '../transfer/class-selection.js';
import { isDrainedQueue, type RoutingPlan } from '../routing/routing-plan.js';
import type { Connection } from './connections.js';
import type { CensusOnce } from './unheard-queues.js';

/** Private lists a summary names (one per worker process and queue): its state stays small. */
const LISTS_NAMED = 10;

/**
 * Jobs workers took from the queues a run empties (a re-route's retired queues; a transfer's every
 * queue) into their fetchers' private lists (fetcher-lists.ts), which no run moves. A live
 * worker's are being worked on (not done: one whose worker dies goes back on its old queue, so
 * never "Complete" over them: left-behind.ts heldByLiveWorkers); a gone worker's wait until a
 * process of the same fetcher puts them back on their old queue, after the run: the run said
 * "Complete" over both. Undefined when none.
 */
export interface HeldByWorkers {
  /**
   * In lists whose worker is alive (its heartbeat there): being worked on, but for `silentWorking`
   * of them.
   */
  readonly working: number;
  /**
   * Of `working`, those in lists of live processes not heard from for more than SILENT_BEATS beats
   * (live-processes.ts `silentSeconds`, as drain-check reckons it): they may have been killed, and
   * then nobody works on them (`notHeardFrom` names them). Absent when none (and in older summaries).
   */
  readonly silentWorking?: number;
  /** In lists whose worker is gone: nobody runs them until they are put back. */
  readonly abandoned: number;
  /**
   * The largest lists of each kind, first `LISTS_NAMED`, and how many lists there are. Of the
   * working ones, those of processes that beat first; one of a process not heard from carries
   * `ownerSilentSeconds`, as drain-check's `fetched` does.
   */
  readonly workingLists: readonly { readonly key: string; readonly size: number; readonly ownerSilentSeconds?: number }[];
  readonly abandonedLists: readonly { readonly key: string; readonly size: number }[];
  readonly lists: number;
  /**
   * The look stopped before the end of the keyspace (fetcher-lists.ts): at the summary's time
   * bound, or at FETCHER_LIST_LIMIT lists. The counts are then of the lists it reached: there may
   * be more. Absent when it looked everywhere.
   */
  readonly cutShort?: 'time' | 'lists';
  /**
   * Jobs of those queues live Sidekiq processes run that are in no list (Sidekiq's own fetch took
   * them with BRPOP: only their heartbeat, `IDENTITY:workers`, shows them), read as drain-check
   * reads them (running-jobs.ts). Not done: one that fails goes to retry there, one whose process is
   * killed is lost. Of RUNNING_PROCESSES_READ live processes at most: `processesNotRead` counts
   * the others (then `jobs` is a floor). Absent when none.
   */
  readonly running?: RunningJobs & { readonly processesNotRead?: number };
  /**
   * The live processes not heard from for more than SILENT_BEATS beats that hold such jobs (in
   * their private lists, `silentWorking`, or in no list, `running.silentJobs`), as drain-check's
   * `notHeardFrom` says them: the first 10, longest silent first, each with its largest lists
   * (`LISTS_NAMED` in all, and each process's largest past them) and the jobs in all of them (`inLists`). A killed process's heartbeat lives 60 s after
   * its last beat: what it holds is not being worked on. Absent when none (and in older summaries).
   */
  readonly notHeardFrom?: readonly (SilentHolder & { readonly inLists: number })[];
}

/** Most jobs of one private list read for a selection (a list holds a worker's few jobs in progress). */
const SELECTED_READ = 1_000;

/**
 * `classes`: a selective transfer's; only their jobs count (each list is read, SELECTED_READ jobs
 * at most). `bound`: when the SCANs stop (fetcher-lists.ts); undefined only when none were found
 * and the look reached the end.
 */
export async function heldByWorkers(source: Connection, plan: RoutingPlan | undefined, nowMs: number, classes?: ReadonlySet<string>, bound: FetcherListBound = {}): Promise<HeldByWorkers | undefined> {
  const census = await censusProcesses(source.redis, source.keys, nowMs / 1000);
  return heldIn(source, plan, classes, await scanFetcherLists(source.redis, source.keys, census.processes, bound), census.processes);
}

/**
 * heldByWorkers as a look a shared walk of the source feeds (shared-walk.ts): the census first
 * (the summary's one census of the source's processes, unheard-queues.ts CensusOnce), then the
 * walk's pages, then `result` of its extent for this look.
 */
export async function heldByWorkersLook(source: Connection, plan: RoutingPlan | undefined, censusOf: CensusOnce, classes?: ReadonlySet<string>): Promise<PageLook & { result(extent: ScanExtent): Promise<HeldByWorkers | undefined> }> {
  const census = await censusOf();
  const look = fetcherListsLook(source.redis, source.keys, census.processes);
  return { ...look, result: async (extent) => heldIn(source, plan, classes, await look.result(extent), census.processes) };
}

/**
 * Live processes whose heartbeats the summary reads for jobs they run (two HVALS each, in one
 * round trip): a fleet is tens to hundreds; past this the count is a floor, said as such.
 */
export const RUNNING_PROCESSES_READ = 1_000;

/** Of the private lists found, those of the queues the run empties (`classes`' jobs only), and what live processes run of them in no list, as HeldByWorkers. */
async function heldIn(source: Connection, plan: RoutingPlan | undefined, classes: ReadonlySet<string> | undefined, look: FetcherListLook, processes: readonly SidekiqProcess[]): Promise<HeldByWorkers | undefined> {
  const found = look.lists.filter((l) => plan === undefined || isDrainedQueue(plan, l.queue));
  const lists = classes === undefined ? found : await selectedIn(source, found, classes);
  const live = processes.filter((p) => p.live);
  const drained = (queue: string) => plan === undefined || isDrainedQueue(plan, queue);
  // A job whose class cannot be read may be of the selection: counted, never left unsaid.
  const selected = (payload: Buffer | null) => {
    if (classes === undefined || payload === null) return true;
    const selection = selectJob(payload, classes);
    return selection.take || selection.unparsable;
  };
  const read = await runningJobs(source.redis, source.keys, live.slice(0, RUNNING_PROCESSES_READ), lists, (queue, payload) => drained(queue) && selected(payload));
  const notRead = live.length - Math.min(live.length, RUNNING_PROCESSES_READ);
  // Processes not read may run such jobs: said even when those read run none.
  const running = notRead > 0 ? { ...(read ?? { jobs: 0, processes: [] }), processesNotRead: notRead } : read;
  if (lists.length === 0 && look.cutShort === undefined && running === undefined) return undefined;
  // Lists of live owners not heard from for several beats, and those owners, as drain-check says them.
  const marked = withSilentOwners(lists, live);
  // Each its lists, largest first: LISTS_NAMED of them in all, and each process's largest past
  // them (its words need one), so at most LISTS_NAMED + NOT_HEARD_FROM_NAMED - 1 keys in the
  // state (256 KiB; workingLists names them too): 100 before, 59 KB with 512-byte queue names
  // (bench/README.md, audit-review2). `inLists` counts the jobs of all; the words say the rest.
  let unnamed = LISTS_NAMED;
  const silent = silentHolders(live, marked, read).map((p) => {
    const lists = [...p.lists].sort((a, b) => b.size - a.size || (a.key < b.key ? -1 : 1)).slice(0, Math.max(1, unnamed));
    unnamed -= lists.length;
    return { ...p, lists, inLists: p.lists.reduce((n, l) => n + l.size, 0) };
  });
  const bySize = (a: FetcherList, b: FetcherList) => b.size - a.size || (a.key < b.key ? -1 : 1);
  const of = (alive: boolean) => marked.filter((l) => l.ownerAlive === alive).sort(bySize);
  // The working lists of processes that beat first: those are the ones being worked on.
  const working = [...of(true).filter((l) => l.ownerSilentSeconds === undefined), ...of(true).filter((l) => l.ownerSilentSeconds !== undefined)];
  const named = (found: readonly FetcherList[]) => found.slice(0, LISTS_NAMED).map((l) => ({ key: l.key, size: l.size, ...(l.ownerSilentSeconds !== undefined ? { ownerSilentSeconds: l.ownerSilentSeconds } : {}) }));
  const sum = (found: readonly FetcherList[]) => found.reduce((n, l) => n + l.size, 0);
  const silentWorking = sum(working.filter((l) => l.ownerSilentSeconds !== undefined));
  return {
    working: sum(working),
    ...(silentWorking > 0 ? { silentWorking } : {}),
    abandoned: sum(of(false)),
    workingLists: named(working),
    abandonedLists: named(of(false)),
    lists: lists.length,
    ...(look.cutShort ? { cutShort: look.cutShort } : {}),
    ...(running ? { running } : {}),
    ...(silent.length > 0 ? { notHeardFrom: silent } : {}),
  };
}

/** Private lists read in one round trip (each a worker's few jobs in progress, SELECTED_READ at most). */
const LISTS_PER_READ = 100;

/** The lists with jobs of `classes`, each sized by those only: a round trip per LISTS_PER_READ lists, not per list. */
async function selectedIn<L extends { readonly key: string; readonly size: number }>(source: Connection, lists: readonly L[], classes: ReadonlySet<string>): Promise<L[]> {
  const out: L[] = [];
  for (let first = 0; first < lists.length; first += LISTS_PER_READ) {
    const chunk = lists.slice(first, first + LISTS_PER_READ);
    const pipeline = source.redis.pipeline();
    for (const list of chunk) pipeline.lrangeBuffer(redisKey(list.key), 0, SELECTED_READ - 1);
    const replies = (await pipeline.exec()) ?? [];
    for (const [i, list] of chunk.entries()) {
      const [error, jobs] = replies[i] ?? [new Error('no reply')];
      if (error) throw error;
      const size = (jobs as Buffer[]).filter((job) => selectJob(job, classes).take).length;
      if (size > 0) out.push({ ...list, size });
    }
  }
  return out;
}
