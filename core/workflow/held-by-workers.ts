import { findFetcherLists } from '../drain/fetcher-lists.js';
import { censusProcesses } from '../drain/live-processes.js';
import { isDrainedQueue, type RoutingPlan } from '../routing/routing-plan.js';
import type { Connection } from './connections.js';

/** Private lists a summary names (one per worker process and queue): its state stays small. */
const LISTS_NAMED = 10;

/**
 * Jobs workers took from the queues a run empties (a re-route's retired queues; a transfer's every
 * queue) into their fetchers' private lists (fetcher-lists.ts), which no run moves. A live
 * worker's are being worked on; a gone worker's wait until a process of the same fetcher puts them
 * back on their old queue, after the run: the run said "Complete" over them. Undefined when none.
 */
export interface HeldByWorkers {
  /** In lists whose worker is alive: being worked on. */
  readonly working: number;
  /** In lists whose worker is gone: nobody runs them until they are put back. */
  readonly abandoned: number;
  /** The largest lists of each kind, first `LISTS_NAMED`, and how many lists there are. */
  readonly workingLists: readonly { readonly key: string; readonly size: number }[];
  readonly abandonedLists: readonly { readonly key: string; readonly size: number }[];
  readonly lists: number;
}

export async function heldByWorkers(source: Connection, plan: RoutingPlan | undefined, nowMs: number): Promise<HeldByWorkers | undefined> {
  const census = await censusProcesses(source.redis, source.keys, nowMs / 1000);
  const lists = (await findFetcherLists(source.redis, source.keys, census.processes)).filter((l) => plan === undefined || isDrainedQueue(plan, l.queue));
  if (lists.length === 0) return undefined;
  const of = (alive: boolean) => lists.filter((l) => l.ownerAlive === alive).sort((a, b) => b.size - a.size || (a.key < b.key ? -1 : 1));
  const named = (alive: boolean) => of(alive).slice(0, LISTS_NAMED).map((l) => ({ key: l.key, size: l.size }));
  const sum = (alive: boolean) => of(alive).reduce((n, l) => n + l.size, 0);
  return { working: sum(true), abandoned: sum(false), workingLists: named(true), abandonedLists: named(false), lists: lists.length };
}
