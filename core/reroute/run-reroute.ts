import type { SortedSetName } from '../redis/sidekiq-keys.js';
import { findDrainedQueues } from './drained-queues.js';
import type { PageResult } from './drive-pages.js';
import { rerouteQueue, type Placement } from './queue-slice.js';
import { addCounters, emptyCounters, type RerouteCounters } from './reroute-counters.js';
import type { RerouteContext } from './reroute-options.js';
import { rerouteSet } from './set-page.js';

export interface RerouteRunRequest extends RerouteContext {
  readonly sets: readonly SortedSetName[];
  readonly queues: boolean;
  /** ZSCAN COUNT for sets and jobs per slice for queues. */
  readonly pageSize: number;
  readonly placement?: Placement;
  readonly unmapped?: 'leave' | 'quarantine';
  /** Called after every page: `key` is the set or queue name. */
  readonly onPage?: (key: string, page: PageResult<unknown, unknown>) => void;
}

export interface RerouteRunSummary {
  readonly sets: Partial<Record<SortedSetName, RerouteCounters>>;
  readonly queues: Record<string, RerouteCounters>;
  readonly totals: RerouteCounters;
}

/**
 * A whole re-route in this process, page after page: each selected set, then every drained queue.
 * The same page functions the Step Functions workflow calls one Lambda at a time; this is the
 * direct path for tests, benchmarks and a quick local run. Re-running after an interruption
 * resumes: routed entries are skipped, drained queues hold only what is left.
 */
export async function runReroute(request: RerouteRunRequest): Promise<RerouteRunSummary> {
  const totals = emptyCounters();
  const sets: Partial<Record<SortedSetName, RerouteCounters>> = {};
  for (const set of request.sets) {
    const run = await rerouteSet({ ...request, set, count: request.pageSize, onPage: (page) => request.onPage?.(set, page) });
    sets[set] = run.counters;
    addCounters(totals, run.counters);
  }
  const queues: Record<string, RerouteCounters> = {};
  if (request.queues) {
    const { drained } = await findDrainedQueues(request.redis, request.keys, request.plan);
    for (const queue of drained) {
      const run = await rerouteQueue({ ...request, queue, sliceSize: request.pageSize, onPage: (page) => request.onPage?.(queue, page) });
      queues[queue] = run.counters;
      addCounters(totals, run.counters);
    }
  }
  return { sets, queues, totals };
}
