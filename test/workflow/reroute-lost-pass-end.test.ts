// A queue re-route's pass record (pass-record.ts) is deleted by the slice that ends the pass, in the
// round trip that reads the queue's length for the arrivals' count (DEL + LLEN in one MULTI). When
// that round trip ran but its reply was lost, the task fails and is retried with its input; if the
// slice was the pass's first, that input has no cursor, the record is gone, and the retry begins the
// pass again from the queue's length then: jobs pushed in between are moved as originals, and the
// moves of the lost attempt are in no count. Every job is still moved once, and the summary says
// its counts may be short, never that they are exact; it cannot say how many arrived (they moved).
// Keeping the record past the pass (a marker the run's clean-up deletes) would make these counts
// exact: not done, documented in guarantees-and-limits.md.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import type { Connection, ConnectionProvider } from '../../core/workflow/connections.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn, keysUnder, withQueue } from '../support/exact-jobs.js';
import { lost } from '../support/reroute-faults.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

/** `provider` whose source runs its first MULTI that deletes a pass record, then `meanwhile`, then loses its reply. */
function losingPassEnd(provider: ConnectionProvider, meanwhile: () => Promise<void>): ConnectionProvider & { faults: () => number } {
  let faults = 0;
  const wrap = (client: Redis): Redis =>
    new Proxy(client, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'multi') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        return () => {
          const multi = target.multi();
          const exec = multi.exec.bind(multi);
          multi.exec = (async () => {
            const queued = (multi as unknown as { _queue: { name: string; args: unknown[] }[] })._queue;
            if (faults > 0 || !queued.some((c) => c.name === 'del' && String(c.args[0]).includes(':originals:queue:'))) return exec();
            faults++;
            await exec();
            await meanwhile();
            throw lost();
          }) as typeof multi.exec;
          return multi;
        };
      },
    });
  return {
    ...provider,
    get: async (name: string): Promise<Connection> => {
      const c = await provider.get(name);
      return name === 'source' ? { ...c, redis: wrap(c.redis) } : c;
    },
    faults: () => faults,
  };
}

describe("a queue re-route whose first slice ended its pass and lost the reply of the pass's end, 5 jobs pushed before the retry", () => {
  for (const placement of ['front', 'append'] as const) {
    it(placement, async () => {
      const source = redis.source();
      const originals = Array.from({ length: 7 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
      for (const p of originals) await source.lpush('queue:old', p);
      await source.sadd('queues', 'old');
      const arrivals = Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `["arrived",${i}]` }));
      const provider = losingPassEnd(connect(), async () => void (await source.lpush('queue:old', ...arrivals)));

      const runId = `lost-end-${placement}`;
      const executions = await runWorkflowLocally({ runId, mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, placement, pageSize: 7, pagesPerInvocation: 2 }, localTaskHandlers(provider), { retryIntervalMs: 0 });
      expect(provider.faults()).toBe(1);
      expect(executions.map((e) => e.error)).toEqual([undefined]);
      const summary = executions[0]!.output as RunSummary;
      const totals = summary.totals as RerouteCounters;
      const words = renderSummary(summary, 'redis://source', { width: 400 });
      // Every job once: the 7 originals and the 5 pushed in between all moved (the retry took them for originals).
      expect(await jobsIn(source)).toEqual([...originals, ...arrivals].map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))).sort());
      // The retry's counts only (5 moved, none arrived), flagged: never presented as exact.
      expect(totals).toMatchObject({ moved: 5, arrived: 0, uncountedAttempts: 1 });
      expect(words).toMatch(/Counts may be short: 1 attempt of a page task may have moved jobs these counts do not include/);
      expect(words).toMatch(/^Complete: everything that could be moved was moved \(counts may be short: see "Needs a look" above\)\.$/m);
      expect(await keysUnder(source, `sidekiq-migrate:${runId}:originals:`)).toEqual([]);
    });
  }
});
