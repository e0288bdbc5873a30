import type { Redis } from 'ioredis';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { runReroute } from '../../core/reroute/run-reroute.js';
import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import type { PreparedRun, RunRequest, Timing } from '../runner/protocol.js';
import type { BenchRouting } from '../workload/routing.js';

const SET_NAMES = new Set(['schedule', 'retry']);

/**
 * (a) Ours: the re-route core exactly as the CLI's local runner calls it, sets then queues in one
 * runReroute call. The boundary between the two phases is taken from the page callback (the last
 * set page), so the queue phase includes finding the drained queues.
 */
export function prepareOurs(redis: Redis, routing: BenchRouting, request: RunRequest): PreparedRun {
  return {
    async run(onProgress) {
      let jobs = 0;
      let lastSetPage = 0;
      const start = performance.now();
      const summary = await runReroute({
        redis,
        keys: new SidekiqKeys(''),
        plan: routing.plan,
        dryRun: false,
        sets: ['schedule', 'retry'],
        queues: true,
        pageSize: request.pageSize,
        luaBatch: request.luaBatch,
        onPage: (key, page) => {
          if (SET_NAMES.has(key)) lastSetPage = performance.now();
          jobs += (page.counters as RerouteCounters).scanned;
          onProgress(jobs);
        },
      });
      const end = performance.now();
      const setsEnd = lastSetPage || start;
      const sets = ['schedule', 'retry'].map((s) => summary.sets[s as 'schedule' | 'retry']);
      return {
        setsSeconds: (setsEnd - start) / 1000,
        queuesSeconds: (end - setsEnd) / 1000,
        movedSets: sets.reduce((n, c) => n + (c?.moved ?? 0), 0),
        movedQueued: Object.values(summary.queues).reduce((n, c) => n + c.moved, 0),
        details: { totals: scalarCounters(summary.totals), schedule: scalarCounters(summary.sets.schedule), retry: scalarCounters(summary.sets.retry), drainedQueues: Object.keys(summary.queues).length },
      } satisfies Timing;
    },
  };
}

/** The counters without their per-queue and sample detail, for the report. */
function scalarCounters(c: RerouteCounters | undefined): Record<string, number> | null {
  if (!c) return null;
  const { scanned, moved, alreadyRouted, unmapped, unparsable, vanished, conflicts, quarantined } = c;
  return { scanned, moved, alreadyRouted, unmapped, unparsable, vanished, conflicts, quarantined };
}
