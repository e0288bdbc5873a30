// Counts that may be short (a page task's attempt that did pages and never answered: its moves are
// in no counter) were said so by "Needs a look" and by the "Complete" verdict's tail only. The
// other verdicts stated their counts as they were: "Done, but jobs remain on the source (5,
// above)", "Done, but jobs were left behind: 3 unmapped …", and, of a class selection whose jobs
// the unanswered attempt had all moved, "Complete: no job of the selected classes was on the
// source; nothing was moved." Each verdict that states counts now says they may be short.
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { attemptNeverAnswers } from '../support/unanswered-attempt.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);



async function run(input: Record<string, unknown>, handlers: LocalHandlers): Promise<RunSummary> {
  const executions = await runWorkflowLocally(input, handlers, { retryIntervalMs: 0 });
  expect(executions.map((e) => e.error)).toEqual([undefined]);
  return executions[0]!.output as RunSummary;
}

/** Once a slice is on the target and acknowledged on the source (nothing in flight). */
const acknowledged = async (queue: string) => (await redis.target().llen(`queue:${queue}`)) > 0 && (await redis.source().keys('sidekiq-migrate:*:inflight:*')).length === 0;

/** The verdict: the summary's last line. */
const verdict = (summary: RunSummary) => renderSummary(summary, 'redis://source', { width: 1000 }).trimEnd().split('\n').at(-1);

describe('verdicts of a run whose counts may be short', () => {
  it('a class selection whose jobs the unanswered attempt moved: never "nothing was moved"', async () => {
    const source = redis.source();
    const jobs = Array.from({ length: 14 }, (_, i) => sidekiqPayload({ className: i < 7 ? 'Shard::Job' : 'Stays::Job', queue: 'q', args: `[${i}]` }));
    // The 7 selected jobs are the newest: the first slice (front placement) takes all of them.
    for (const p of [...jobs].reverse()) await source.rpush('queue:q', p);
    await source.sadd('queues', 'q');
    const provider = connect();
    const handlers = attemptNeverAnswers(localTaskHandlers(provider), provider, 'transferQueue', () => acknowledged('q'));

    const summary = await run({ runId: 'short-selected', mode: 'transfer', target: 'target', classes: ['Shard::Job'], pageSize: 7 }, handlers);

    expect(await jobsIn(redis.target())).toEqual(jobs.slice(0, 7).map((p) => jobEntry('queue:q', p)).sort());
    expect(await jobsIn(source)).toEqual(jobs.slice(7).map((p) => jobEntry('queue:q', p)).sort());
    expect(summary.totals).toMatchObject({ claimed: 0, resumed: 0, uncountedAttempts: 1 });
    expect(verdict(summary)).toBe('Complete: no job of the selected classes is left on the source. The counts say none was moved, but they may be short (see "Needs a look" above).');
  });

  it('a re-route that left unmapped jobs behind: "Done, but jobs were left behind" says its counts may be short', async () => {
    const source = redis.source();
    const mapped = Array.from({ length: 20 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    const unmapped = Array.from({ length: 3 }, (_, i) => sidekiqPayload({ className: 'Unmapped', queue: 'old', args: `[${i}]` }));
    for (const p of [...unmapped, ...mapped]) await source.lpush('queue:old', p);
    await source.sadd('queues', 'old');
    const provider = connect();
    const handlers = attemptNeverAnswers(localTaskHandlers(provider), provider, 'rerouteQueueSlice', async () => (await source.llen('queue:new')) > 0);

    const summary = await run({ runId: 'short-left', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 7, pagesPerInvocation: 2 }, handlers);

    expect(await jobsIn(source)).toEqual([...mapped.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))), ...unmapped.map((p) => jobEntry('queue:old', p))].sort());
    expect(summary.totals).toMatchObject({ uncountedAttempts: 1 });
    expect(verdict(summary)).toBe('Done, but jobs were left behind: 3 left in place, 3 of them where nobody fetches (see "Needs a look" above). The counts may be short (see "Needs a look" above).');
  });

  it('a transfer that left jobs on the source: "Done, but jobs remain on the source" says its counts may be short', async () => {
    const source = redis.source();
    const originals = Array.from({ length: 20 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
    for (const p of originals) await source.lpush('queue:q', p);
    await source.sadd('queues', 'q');
    const arrivals = Array.from({ length: 10 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `["arrived",${i}]` }));
    const provider = connect();
    // The second task (2 slices of 7 before it) moves the last 6 originals, a producer pushes 10
    // jobs, and the task dies before it answers. Its retry, from the same cursor, finds the pass
    // done (its count of originals on the source: claimQueueJobs-14.lua) and takes none of the 10
    // (it took the oldest 6 arrivals as the originals it was to take before that count was kept).
    // The 6 the first attempt moved are the counts' shortfall.
    let pushed = false;
    const handlers = attemptNeverAnswers(
      localTaskHandlers(provider),
      provider,
      'transferQueue',
      async () => {
        if ((await redis.target().llen('queue:q')) < 20 || (await source.keys('sidekiq-migrate:*:inflight:*')).length > 0) return false;
        // Marked before the pushes: two calls sent at once (the pass's end) come here together.
        if (!pushed) {
          pushed = true;
          for (const p of arrivals) await source.lpush('queue:q', p);
        }
        return true;
      },
      1,
    );

    const summary = await run({ runId: 'short-remain', mode: 'transfer', target: 'target', pageSize: 7, pagesPerInvocation: 2 }, handlers);

    expect(await jobsIn(redis.target())).toEqual(originals.map((p) => jobEntry('queue:q', p)).sort());
    expect(await jobsIn(source)).toEqual(arrivals.map((p) => jobEntry('queue:q', p)).sort());
    expect(summary.totals).toMatchObject({ written: 14, leftOnSource: 10, uncountedAttempts: 1 });
    expect(verdict(summary)).toBe('Done, but jobs remain on the source (10, above): run move again. The counts may be short (see "Needs a look" above).');
  });
});
