// A class-selective transfer (move --classes / --store) bounds each pass by what the key held when
// the pass began: a queue's pass by its length then (in tail offsets: producers push at the head,
// so their pushes move no offset), a set's by its highest score then. Jobs of a selected class that
// producers push meanwhile stay on the source, counted ("added during the run"). These are the
// faults that made a whole-key pass take arrivals as originals (arrivals-after-lost-slices.test.ts)
// — a slice failing after its claim (the pass's first, retried with no cursor, or a later one), a
// claim or an acknowledge whose reply is lost — each while a producer pushes jobs of the selected
// class and of another. Every job is exactly once, in its order, and the summary says what arrived.
//
// Each pass keeps its bound on the source, changed in the same atomic step as its claims, so that a
// retried first slice or a restarted task finds it: a set's pass its highest score at the start, a
// queue's pass its length at the start and how many jobs it has claimed since (an `append` pass
// lowers its bound by the claims a lost slice made).
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import type { TransferCounters } from '../../core/transfer/transfer-counters.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { faultAt } from '../support/fault-at-script.js';
import { jobEntry, jobsIn, keysUnder } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

const SELECTED = 'Shard::Job';
const classOf = (i: number) => (i % 2 === 0 ? SELECTED : 'Stays::Job');
/**
 * What the summary says of `place` (20 jobs of the selected class among its originals, 5 of it
 * arrived): the 5 left, never "Complete"; what it counts as taken is at most the 20 (a lost reply's
 * jobs are on the target, not in the counts) and, when short, said to be.
 */
function expectSaid(summary: RunSummary, place: string, counters: RunSummary['sets'][string] | undefined) {
  const row = counters as TransferCounters;
  expect(row.leftOnSource).toBe(5);
  expect(row.claimed + (row.resumed ?? 0)).toBeLessThanOrEqual(20);
  expect(row.written).toBeLessThanOrEqual(20);
  expect((summary.totals as TransferCounters).byClass?.['Shard::Job'] ?? {}).toEqual(row.claimed > 0 ? { [place]: row.claimed } : {});
  const words = renderSummary(summary, 'redis://source', { width: 400 });
  expect(words).toContain(`5 job(s) still on the source when their transfer ended, added during the run (${place} 5)`);
  expect(words).not.toMatch(/^Complete/m);
  if (row.written < 20) expect(words).toContain('Counts may be short: 1 attempt of a page task may have moved jobs');
}

const lost = (what: string) => Object.assign(new Error(`${what} ECONNRESET`), { code: 'ECONNRESET' });

// [what, side, script, nth, whether the faulted call ran]
const cases = (claim: string, copy: string, acknowledge: string) =>
  [
    ["the pass's first slice fails after its claim (its write never sent: the connection dropped)", 'target', copy, 1, false],
    ["the pass's first claim runs but its reply is lost", 'source', claim, 1, true],
    ['a later slice fails after its claim (its write never sent)', 'target', copy, 2, false],
    ["a slice's acknowledge runs but its reply is lost", 'source', acknowledge, 2, true],
    ["a later task's slice fails after its claim (its write never sent)", 'target', copy, 5, false],
    ["a later task's acknowledge runs but its reply is lost", 'source', acknowledge, 5, true],
  ] as const;

describe('a class-selective queue transfer (front and append) whose slices failed or lost their replies while a producer pushed: the arrivals stay on the source, counted', () => {
  for (const placement of ['front', 'append'] as const) {
  for (const [what, side, script, nth, ran] of cases('claimSelectedQueueJobs-11', 'copyJobsToLists-n4', 'acknowledgeQueueBatch-4')) {
    it(`${placement}: ${what}; 5 selected jobs and 3 others pushed before the task is retried`, async () => {
      const source = redis.source();
      const originals = Array.from({ length: 40 }, (_, i) => sidekiqPayload({ className: classOf(i), queue: 'q', args: `[${i}]` }));
      for (const p of originals) await source.lpush('queue:q', p);
      await source.sadd('queues', 'q');
      const arrivals = Array.from({ length: 8 }, (_, i) => sidekiqPayload({ className: i < 5 ? SELECTED : 'Stays::Job', queue: 'q', args: `["arrived",${i}]` }));
      const provider = faultAt(connect(), side, script, nth, async (exec) => {
        if (ran) await exec();
        for (const p of arrivals) await source.lpush('queue:q', p);
        throw lost(ran ? 'read' : 'write');
      });
      const runId = `sel-${placement}-${nth}-${script}`;

      const executions = await runWorkflowLocally(
        { runId, mode: 'transfer', target: 'target', placement, classes: [SELECTED], sets: [], pageSize: 7, pagesPerInvocation: 3 },
        localTaskHandlers(provider),
        { retryIntervalMs: 0 },
      );

      expect(provider.faults()).toBe(1);
      expect(executions.map((e) => e.error)).toEqual([undefined]);
      const summary = executions[0]!.output as RunSummary;
      const moved = originals.filter((_, i) => classOf(i) === SELECTED);
      expect(await jobsIn(redis.target())).toEqual(moved.map((p) => jobEntry('queue:q', p)).sort());
      // The moved jobs in their order (front: RPUSHed newest first, the oldest at the consumer end;
      // append: LPUSHed oldest first, the newest at the head).
      expect(await redis.target().lrange('queue:q', 0, -1)).toEqual([...moved].reverse());
      // Every other job still queued, in its order (LPUSH: the newest at the head).
      expect(await source.lrange('queue:q', 0, -1)).toEqual([...originals.filter((p) => !moved.includes(p)), ...arrivals].reverse());
      expect((await keysUnder(source, `sidekiq-migrate:${runId}:`)).filter((k) => k.includes(':inflight:'))).toEqual([]);
      expectSaid(summary, 'queue:q', summary.queues['q']);
      // The pass's kept start (its length then, and what it claimed since) is deleted with the pass.
      expect(await source.keys('sidekiq-migrate:*:originals:*')).toEqual([]);
    });
  }
  }
});

describe('a class-selective set transfer whose slices failed or lost their replies while entries were added: what was added stays on the source, counted', () => {
  for (const [what, side, script, nth, ran] of cases('claimSelectedSetEntries-11', 'copyEntriesToSet-6', 'acknowledgeSetBatch-10')) {
    it(`${what}; 5 selected entries and 3 others added to retry (due later) before the task is retried`, async () => {
      const source = redis.source();
      const originals = Array.from({ length: 40 }, (_, i) => ({ payload: sidekiqPayload({ className: classOf(i), queue: 'q', args: `[${i}]` }), score: String(2e9 + i) }));
      for (const e of originals) await source.zadd('retry', e.score, e.payload);
      const added = Array.from({ length: 8 }, (_, i) => ({ payload: sidekiqPayload({ className: i < 5 ? SELECTED : 'Stays::Job', queue: 'q', args: `["added",${i}]` }), score: String(3e9 + i) }));
      const provider = faultAt(connect(), side, script, nth, async (exec) => {
        if (ran) await exec();
        for (const e of added) await source.zadd('retry', e.score, e.payload);
        throw lost(ran ? 'read' : 'write');
      });
      const runId = `sel-set-${nth}-${script}`;

      const executions = await runWorkflowLocally(
        { runId, mode: 'transfer', target: 'target', classes: [SELECTED], queues: false, sets: ['retry'], pageSize: 7, pagesPerInvocation: 3 },
        localTaskHandlers(provider),
        { retryIntervalMs: 0 },
      );

      expect(provider.faults()).toBe(1);
      expect(executions.map((e) => e.error)).toEqual([undefined]);
      const summary = executions[0]!.output as RunSummary;
      const moved = originals.filter((_, i) => classOf(i) === SELECTED);
      expect(await jobsIn(redis.target())).toEqual(moved.map((e) => jobEntry('retry', e.payload, e.score)).sort());
      expect(await jobsIn(source)).toEqual([...originals.filter((e) => !moved.includes(e)), ...added].map((e) => jobEntry('retry', e.payload, e.score)).sort());
      expect((await keysUnder(source, `sidekiq-migrate:${runId}:`)).filter((k) => k.includes(':inflight:'))).toEqual([]);
      expectSaid(summary, 'retry', summary.sets['retry']);
      // The pass's kept bound (its highest score at the start) is deleted with the pass.
      expect(await source.keys('sidekiq-migrate:*:originals:*')).toEqual([]);
    });
  }
});
