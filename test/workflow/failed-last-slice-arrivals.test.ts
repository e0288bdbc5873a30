// A queue transfer's page failed after its claim (its write to the target refused: out of memory),
// leaving its slice in flight; the task returned the slices before it, and the next one started at
// the failed page with the cursor those gave. Meanwhile a producer pushed jobs onto the source
// queue. The next task's claim counted the originals still to take as if the failed slice's were
// still on the queue, so its window reached up into the arrivals and took as many of them as
// originals (up to a slice): they were moved, and the summary counted them nowhere as arrived —
// "Complete", where 5 jobs had arrived during the run. Nothing was lost; the counts were not the
// jobs'. The claim now counts what the failed slice left in flight among the originals taken.
// Here the failed slice is the pass's last ('append': the claim left the count at 0, its mark
// kept): the retried slice takes back what is in flight and claims nothing more. Found by hand-made
// mutation testing (audit-mutants): claimQueueJobs-14.lua's bound for 'oldest' claims without a
// mark to go by (`want = math.min(want, unclaimed)`) dropped, and every test passed.
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { targetRefusesWrite } from '../support/target-refuses-write.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

describe('an append transfer whose last slice failed after claiming the last originals, while a producer pushed', () => {
  it('the retried slice claims no arrival: every original on the target once, the 5 arrivals left on the source and counted as such, never "Complete"', async () => {
    const source = redis.source();
    const originals = Array.from({ length: 40 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
    for (const p of originals) await source.lpush('queue:q', p);
    await source.sadd('queues', 'q');
    const arrivals = Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `["arrived",${i}]` }));
    // Slices of 8: the 5th, the pass's last, claims the last 8 originals; its write is refused.
    const provider = targetRefusesWrite(connect(), 5, async () => {
      for (const p of arrivals) await source.lpush('queue:q', p);
    });

    const executions = await runWorkflowLocally({ runId: 'arrivals-last-slice', mode: 'transfer', target: 'target', placement: 'append', pageSize: 8, pagesPerInvocation: 3 }, localTaskHandlers(provider), { retryIntervalMs: 0 });

    expect(provider.refused()).toBe(1);
    expect(executions.map((e) => e.error)).toEqual([undefined]);
    const summary = executions[0]!.output as RunSummary;
    expect((await jobsIn(redis.target())).sort()).toEqual(originals.map((p) => jobEntry('queue:q', p)).sort());
    expect(await jobsIn(source)).toEqual(arrivals.map((p) => jobEntry('queue:q', p)).sort());
    expect(summary.queues['q']).toMatchObject({ written: 40, leftOnSource: 5 });
    const words = renderSummary(summary, 'redis://source', { width: 400 });
    expect(words).toContain('5 job(s) still on the source when their transfer ended, added during the run (queue:q 5): run move again or see drain-check.');
    expect(words).not.toContain('Complete');
  });
});
