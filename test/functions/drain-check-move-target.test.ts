// The deployed drain check after a move (drainCheck.runId: the schedule's input names the run)
// looked at the source only: a target that restarted empty after the move, with every job moved,
// still gave "drained" (DrainState 0, the go-ahead alarm). Given the run, the handler now also looks
// at the target connection's id: lost, the check is stuck and its reason and log say so.
import { describe, expect, it } from 'vitest';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { MetricNames } from '../../functions/support/metric-names.js';
import { jobsIn } from '../support/exact-jobs.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { emfRecords, fakeContext, logRecords } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { runWorkflow } from './support/run-workflow.js';

const lambda = lambdaOnOwnServers();

describe('the deployed drain check given the move it follows', () => {
  it('says drained while the target keeps its id, and stuck, naming the loss, once the target lost its data', { timeout: 60_000 }, async () => {
    const { source, target, h } = lambda;
    await source.rpush('queue:default', ...Array.from({ length: 20 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` })));
    await source.sadd('queues', 'default');
    const run = await runWorkflow(h, { runId: 'moved-1', mode: 'transfer', target: 'target' });
    expect(run.summary.complete).toBe(true);
    expect(await jobsIn(target)).toHaveLength(20);
    const out = lambda.captureOutput();

    const kept = (await h.drainCheck({ runId: 'moved-1', remember: false }, fakeContext())) as DrainReport;
    // As a restart without persistence leaves it.
    await target.flushall();
    const lost = (await h.drainCheck({ connection: 'source', runId: 'moved-1', remember: false }, fakeContext())) as DrainReport;
    const sourceOnly = (await h.drainCheck({ remember: false }, fakeContext())) as DrainReport;

    out.stop();
    expect(kept).toMatchObject({ remaining: 0, verdict: { state: 'drained' }, moveTarget: { runId: 'moved-1', lost: false } });
    expect(lost).toMatchObject({ remaining: 0, verdict: { state: 'stuck' }, moveTarget: { runId: 'moved-1', idNow: null, lost: true } });
    expect(lost.verdict.reasons[0]).toMatch(/^the target redis:\/\/127\.0\.0\.1:\d+ lost what run moved-1 moved there: its target id \S+, which the run found there, is gone \(/);
    // Without the run: the source alone, drained (what the check looked at is the source).
    expect(sourceOnly).toMatchObject({ verdict: { state: 'drained' } });
    expect(sourceOnly.moveTarget).toBeUndefined();
    const states = emfRecords(out.records()).map((r) => r.values[MetricNames.DrainState]);
    expect(states).toEqual([0, 2, 0]);
    const logs = logRecords(out.records()).filter((r) => r['level'] === 'INFO' && String(r['message']).endsWith(' is stuck'));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ moveTarget: { runId: 'moved-1', lost: true } });
  });

  it('a run id the source has no record of, or a target connection it was not given: InvalidInputError, named', async () => {
    const { h } = lambda;
    await expect(h.drainCheck({ runId: 'never-ran', remember: false }, fakeContext())).rejects.toThrow(/--run-id never-ran: redis:\/\/127\.0\.0\.1:\d+ holds no record of that run/);
    await expect(h.drainCheck({ runId: 'moved-1', target: 'elsewhere', remember: false }, fakeContext())).rejects.toThrow(/this drain check has no connection "elsewhere"/);
  });
});
