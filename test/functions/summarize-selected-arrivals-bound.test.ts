import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { exitCodeOf } from '../../cli/deployed/watch-execution.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { commandClock } from '../support/command-clock.js';
import { fakeContext } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { runToSummary, summarizeInput, viaJson } from './support/run-workflow.js';

// The summarize function of a selective transfer (a shard move) at GitLab scale: the jobs of the
// classes it did not select stay on their queues, and GitLab's `default` may hold millions. The
// summary counted the selected classes' jobs put back on each listed queue after its item ended
// by reading every job of the queue, with no time bound: 1,000,000 jobs of ~750 bytes took 5.2 s
// at loopback (3,000,000: 22.6 s, LRANGEs deep in the list up to 69 ms), about 3 minutes for
// 10,000,000 extrapolated to a Lambda's fraction of a core at +5 ms: the looks over the keyspace
// got no time, and from about 16,000,000 (or two such queues) the function's 5 minutes passed and
// the run failed at its very end (middy's timeout, retried into the same read), every time it was
// run again. Here time is the Redis commands the summary sends (commandClock, each 500 ms): 60 s
// left, and 100,000 such jobs (hundreds of pages) stand for it: the count now stops at its share
// of the time, and the summary says so.
const OTHER_JOBS = 100_000;
const LEFT_MS = 60_000;
const MS_PER_COMMAND = 500;
const lambda = lambdaOnOwnServers();

describe('the summarize handler of a selective transfer whose queue keeps 100,000 jobs of other classes, 60 s (120 commands) left', { timeout: 180_000 }, () => {
  it('returns in time a summary that says the count of selected jobs put back was cut short, never "Complete"', async () => {
    const { source, target, h } = lambda;
    const selected = [1, 2, 3].map((i) => sidekiqPayload({ className: 'Shard::Worker', queue: 'default', args: `[${i}]` }));
    const other = sidekiqPayload({ className: 'Main::Worker', queue: 'default', args: '[0]' });
    await source.rpush('queue:default', other, ...selected);
    await source.sadd('queues', 'default');
    const run = await runToSummary(h, { runId: 'shard-1', mode: 'transfer', target: 'target', sets: [], classes: ['Shard::Worker'] });
    // The other classes' backlog, as GitLab's default queue holds it (the pages are not what this test is about).
    const args = JSON.stringify(['x'.repeat(600), 1, { project_id: 123 }]);
    for (let i = 0; i < OTHER_JOBS; i += 10_000) {
      await source.rpush('queue:default', ...Array.from({ length: 10_000 }, (_, j) => sidekiqPayload({ className: 'Main::Worker', queue: 'default', args, jid: (i + j).toString(16).padStart(24, '0') })));
    }

    const clients = await Promise.all(['source', 'target'].map(async (name) => (await h.connections.get(name)).redis));
    const clock = commandClock(clients, MS_PER_COMMAND);
    let took: number;
    let summary: RunSummary;
    try {
      const started = Date.now();
      summary = viaJson((await h.summarize(summarizeInput(run), fakeContext(LEFT_MS))) as RunSummary);
      took = Date.now() - started;
    } finally {
      clock.stop();
    }
    // Within its time: 120 commands at the most.
    expect(took, `${clock.commands()} commands sent`).toBeLessThanOrEqual(LEFT_MS);
    // The count had a quarter of it (half of the looks' half): 15 s, 30 commands at the most, its
    // pages among them; it read a part of the queue and says how much of how many.
    expect(clock.sent('lrange')).toBeGreaterThan(0);
    expect(clock.sent('lrange')).toBeLessThanOrEqual(30);
    expect(summary.selectedArrivalsCutShort).toMatchObject({ jobs: 1 + OTHER_JOBS, queues: 1 });
    expect(summary.selectedArrivalsCutShort!.read).toBeGreaterThan(0);
    expect(summary.selectedArrivalsCutShort!.read).toBeLessThan(1 + OTHER_JOBS);

    const out = renderSummary(summary, 'source');
    expect(out).toMatch(
      /\nThe count of jobs of the selected classes put back on the source's queues after their transfer ended \(Sidekiq's shutdown requeue, a producer still on the old side\) was cut short: the summary's time for it ran out after [0-9,]+ of the [0-9,]+ jobs on 1 queue\(s\)\. Jobs of those classes there are not counted here; drain-check --classes counts them\./,
    );
    expect(out.trimEnd().split('\n').at(-1)).toMatch(/^Done, but jobs may have been left behind: jobs of the selected classes put back on 1 queue\(s\) not all counted \(cut short after [0-9,]+ of [0-9,]+ jobs\)/);
    expect(out).not.toContain('Complete');
    expect(summary.releasedLock).toBe(true);
    expect(exitCodeOf({ status: 'SUCCEEDED', summary } as Parameters<typeof exitCodeOf>[0])).toBe(0);
    // The selected jobs moved, once; the other classes' stayed.
    expect(await jobsIn(target)).toEqual(selected.map((p) => jobEntry('queue:default', p)).sort());
    expect(await source.llen('queue:default')).toBe(1 + OTHER_JOBS);
    expect(await source.lindex('queue:default', 0)).toBe(other);
  });
});
