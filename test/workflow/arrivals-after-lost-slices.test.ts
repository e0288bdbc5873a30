// A queue transfer counts the jobs its queue held when its pass began as originals, moves them,
// and leaves what producers push meanwhile on the source, counted as such ("N job(s) still on the
// source when their transfer ended, added during the run"). Two faults made a pass take arrivals
// as originals, so that what the summary said arrived was short (and, with no arrival left,
// "Complete" where jobs had arrived):
// - the pass's first slice failed after its claim (its write refused): the retry, with no cursor,
//   took the queue's length then, arrivals included, as the pass's bound;
// - a slice's acknowledge ran but its reply was lost: the next task started from a cursor that
//   did not count that slice, with nothing in flight to tell, and took as many arrivals.
// A set's pass (schedule, retry, dead) is bounded the same way, by the set's size when it began,
// and took entries added during the pass the same ways, and one more: a slice that failed after
// its claim in the middle of the pass (the queues' pass counted those since failed-page-arrivals).
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { faultAt } from '../support/fault-at-script.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

async function seed(source: Redis): Promise<{ originals: string[]; arrivals: string[]; push: () => Promise<void> }> {
  const originals = Array.from({ length: 40 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
  for (const p of originals) await source.lpush('queue:q', p);
  await source.sadd('queues', 'q');
  const arrivals = Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `["arrived",${i}]` }));
  return { originals, arrivals, push: async () => void (await source.lpush('queue:q', ...arrivals)) };
}

async function expectArrivalsLeft(runId: string, placement: 'front' | 'append', provider: ConnectionProvider & { faults: () => number }, originals: string[], arrivals: string[]) {
  const executions = await runWorkflowLocally({ runId, mode: 'transfer', target: 'target', placement, pageSize: 7, pagesPerInvocation: 3 }, localTaskHandlers(provider), { retryIntervalMs: 0 });
  expect(provider.faults()).toBe(1);
  expect(executions.map((e) => e.error)).toEqual([undefined]);
  const summary = executions[0]!.output as RunSummary;
  expect((await jobsIn(redis.target())).sort()).toEqual(originals.map((p) => jobEntry('queue:q', p)).sort());
  expect(await jobsIn(redis.source())).toEqual(arrivals.map((p) => jobEntry('queue:q', p)).sort());
  expect(summary.queues['q']).toMatchObject({ leftOnSource: 5 });
  const words = renderSummary(summary, 'redis://source', { width: 400 });
  expect(words).toContain('5 job(s) still on the source when their transfer ended, added during the run (queue:q 5)');
  expect(words).not.toMatch(/^Complete/m);
  return { summary, words };
}

describe('a queue transfer whose slices failed or lost their replies while a producer pushed: the arrivals stay on the source, counted', () => {
  for (const placement of ['front', 'append'] as const) {
    it(`${placement}: the pass's first slice fails after its claim (its write never sent: the connection dropped), 5 jobs pushed before the task is retried`, async () => {
      const { originals, arrivals, push } = await seed(redis.source());
      const provider = faultAt(connect(), 'target', 'copyJobsToLists-n4', 1, async () => {
        await push();
        throw Object.assign(new Error('write ECONNRESET'), { code: 'ECONNRESET' });
      });
      await expectArrivalsLeft(`first-${placement}`, placement, provider, originals, arrivals);
    });

    it(`${placement}: a slice's acknowledge runs but its reply is lost, 5 jobs pushed before the next task`, async () => {
      const { originals, arrivals, push } = await seed(redis.source());
      const provider = faultAt(connect(), 'source', 'acknowledgeQueueBatch-4', 2, async (exec) => {
        await exec();
        await push();
        throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      });
      await expectArrivalsLeft(`stale-${placement}`, placement, provider, originals, arrivals);
    });
  }
});

describe('a set transfer whose slices failed or lost their replies while entries were added: what was added stays on the source, counted', () => {
  const cases = [
    ["the pass's first slice fails after its claim (its write never sent)", 'target', 'copyEntriesToSet-6', 1, false],
    ['a later slice fails after its claim (its write never sent)', 'target', 'copyEntriesToSet-6', 2, false],
    ["a slice's acknowledge runs but its reply is lost", 'source', 'acknowledgeSetBatch-10', 2, true],
  ] as const;
  for (const [what, side, script, nth, ran] of cases) {
    it(`${what}, 5 entries added to retry (due later) before the next task`, async () => {
      const source = redis.source();
      const originals = Array.from({ length: 40 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
      for (const [i, p] of originals.entries()) await source.zadd('retry', String(2e9 + i), p);
      const added = Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `["added",${i}]` }));
      const provider = faultAt(connect(), side, script, nth, async (exec) => {
        if (ran) await exec();
        for (const [i, p] of added.entries()) await source.zadd('retry', String(3e9 + i), p);
        throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      });

      const executions = await runWorkflowLocally({ runId: `set-${nth}-${side}`, mode: 'transfer', target: 'target', pageSize: 7, pagesPerInvocation: 3, queues: false }, localTaskHandlers(provider), { retryIntervalMs: 0 });

      expect(provider.faults()).toBe(1);
      expect(executions.map((e) => e.error)).toEqual([undefined]);
      const summary = executions[0]!.output as RunSummary;
      expect(await jobsIn(redis.target())).toEqual(originals.map((p, i) => jobEntry('retry', p, String(2e9 + i))).sort());
      expect(await jobsIn(source)).toEqual(added.map((p, i) => jobEntry('retry', p, String(3e9 + i))).sort());
      expect(summary.sets['retry']).toMatchObject({ leftOnSource: 5 });
      const words = renderSummary(summary, 'redis://source', { width: 400 });
      expect(words).toContain('5 job(s) still on the source when their transfer ended, added during the run (retry 5)');
      expect(words).not.toMatch(/^Complete/m);
      expect(await source.keys('sidekiq-migrate:*:originals:*')).toEqual([]);
    });
  }
});
