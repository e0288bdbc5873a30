// A queue transfer's pass is bounded by a mark kept on the source with its count
// (claimQueueJobs-14's KEYS[7]): `append`, the newest original's bytes, taken in its first claim,
// where it stops; `front`, the newest original not claimed yet, where each claim begins (moved down
// with the claims). Neither a worker's fetches nor a stopping Sidekiq's requeue at the tail (RPUSH)
// moves it. Before, by the count alone, p jobs fetched at the tail and p pushed at the head left
// the length, and the count, as they were: a `front` pass reached as many of the arrivals as were
// fetched; and either pass claimed jobs pushed back in place of as many of the newest originals,
// which the summary then called "added during the run" (cli-append-requeue, cli-mark-requeue).
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import type { TransferCounters } from '../../core/transfer/transfer-counters.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { faultAt } from '../support/fault-at-script.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

describe('a queue transfer while a Sidekiq worker fetches from the source queue and a producer pushes', () => {
  for (const placement of ['front', 'append'] as const) {
    it(`${placement}: 3 fetched (BRPOP, tail) and 5 pushed after the first claim: every job once; what is left on the source is said, exactly, and is what arrived`, async () => {
      const source = redis.source();
      const originals = Array.from({ length: 40 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
      for (const p of originals) await source.lpush('queue:q', p);
      await source.sadd('queues', 'q');
      // Loaded first, so that the pipeline met is the claim that runs (not one refused NOSCRIPT, sent
      // again after the fetches and pushes: the pass would then begin after them).
      await source.script('LOAD', new LuaScript('claimQueueJobs-14').source);
      const arrivals = Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `["arrived",${i}]` }));
      const fetched: string[] = [];
      const provider = faultAt(connect(), 'source', 'claimQueueJobs-14', 1, async (exec) => {
        const replies = await exec();
        for (let i = 0; i < 3; i++) fetched.push((await source.rpop('queue:q'))!);
        await source.lpush('queue:q', ...arrivals);
        return replies;
      });

      const executions = await runWorkflowLocally({ runId: `fetch-${placement}`, mode: 'transfer', target: 'target', placement, pageSize: 7, pagesPerInvocation: 3 }, localTaskHandlers(provider), { retryIntervalMs: 0 });
      expect(executions.map((e) => e.error)).toEqual([undefined]);
      const summary = executions[0]!.output as RunSummary;
      const totals = summary.totals as TransferCounters;
      const words = renderSummary(summary, 'redis://source', { width: 400 });
      // The worker took the 3 oldest originals still on the queue (`append` had claimed the 7 oldest);
      // every other job is on exactly one side.
      expect(fetched).toEqual(placement === 'front' ? originals.slice(0, 3) : originals.slice(7, 10));
      const kept = originals.filter((p) => !fetched.includes(p));
      const onTarget = await jobsIn(redis.target());
      const onSource = await jobsIn(source);
      const rest = [...kept, ...arrivals];
      const written = rest.filter((p) => onTarget.includes(jobEntry('queue:q', p)));
      const left = rest.filter((p) => onSource.includes(jobEntry('queue:q', p)));
      expect([...onTarget, ...onSource].sort()).toEqual([...written.map((p) => jobEntry('queue:q', p)), ...left.map((p) => jobEntry('queue:q', p))].sort());
      expect(written.length + left.length).toBe(42);
      // Every original the worker left was moved; what stayed arrived during the run.
      expect(kept.filter((p) => !written.includes(p))).toEqual([]);
      expect(left.every((p) => arrivals.includes(p))).toBe(true);
      // The counts are what happened: claimed and written as many as are on the target (arrivals the
      // pass reached among them), left on the source as many as are there.
      expect(totals).toMatchObject({ claimed: written.length, written: written.length, leftOnSource: left.length });
      if (left.length > 0) {
        expect(words).toContain(`${left.length} job(s) still on the source when their transfer ended, added during the run (queue:q ${left.length})`);
        expect(words).toMatch(/^Done, but jobs remain on the source/m);
      } else {
        expect(words).toMatch(/^Complete/m);
      }
      // Either pass ends at its mark and reaches none of the arrivals (a `front` pass reached 3 of the
      // 5 by its count, as many as the worker fetched, before claimQueueJobs-14).
      expect(left.length).toBe(5);
    });
  }

  it('append: 3 jobs a stopping Sidekiq pushes back (RPUSH, tail) after the first claim: all 40 originals and the 3 moved, nothing left, Complete', async () => {
    const source = redis.source();
    const originals = Array.from({ length: 40 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
    for (const p of originals) await source.lpush('queue:q', p);
    await source.sadd('queues', 'q');
    await source.script('LOAD', new LuaScript('claimQueueJobs-14').source);
    const requeued = Array.from({ length: 3 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `["requeued",${i}]` }));
    const provider = faultAt(connect(), 'source', 'claimQueueJobs-14', 1, async (exec) => {
      const replies = await exec();
      await source.rpush('queue:q', ...requeued);
      return replies;
    });

    const executions = await runWorkflowLocally({ runId: 'requeue-append', mode: 'transfer', target: 'target', placement: 'append', pageSize: 7, pagesPerInvocation: 3 }, localTaskHandlers(provider), { retryIntervalMs: 0 });
    expect(executions.map((e) => e.error)).toEqual([undefined]);
    const summary = executions[0]!.output as RunSummary;
    const words = renderSummary(summary, 'redis://source', { width: 400 });
    // The pass claims up to its mark, the newest original: the 3 pushed back under it and every
    // original. Before, by count, it claimed the 3 in place of the 3 newest originals, which stayed
    // on the source called "added during the run".
    expect(await jobsIn(redis.target())).toEqual([...originals, ...requeued].map((p) => jobEntry('queue:q', p)).sort());
    expect(await jobsIn(source)).toEqual([]);
    expect(summary.totals as TransferCounters).toMatchObject({ claimed: 43, written: 43, leftOnSource: 0 });
    expect(words).toMatch(/^Complete/m);
    expect(words).not.toMatch(/added during the run/);
  });
});
