import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { exitCodeOf } from '../../cli/deployed/watch-execution.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { fakeContext } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { runToSummary, summarizeInput, viaJson } from './support/run-workflow.js';

// The summarize function at GitLab scale: a source with millions of keys that are not Sidekiq's
// (caches, duplicate-job digests). Its SCANs for quarantine lists and in-flight keys were
// unbounded, about a second a million keys each at loopback: with 2,000,000 keys and 3 s left
// they outlasted the invocation, and the summary of a run whose moves all finished failed with
// the function's timeout. Now every look over the keyspace shares half the invocation's time, and
// one cut short says so in the summary that `watch` prints.
const KEYS = 2_000_000;
const lambda = lambdaOnOwnServers({ sourceArgs: ['--enable-debug-command', 'local'] });

describe('the summarize handler on a source with 2,000,000 other keys and 3 s left', { timeout: 120_000 }, () => {
  it('returns in time a summary that says which looks were cut short, never "Complete"', async () => {
    const { source, target, h } = lambda;
    const queued = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' });
    await source.rpush('queue:old', queued);
    await source.sadd('queues', 'old');
    const run = await runToSummary(h, { runId: 'scale-1', mode: 'transfer', target: 'target', sets: ['schedule'] });
    // The other keys arrive now: the plan's own look at the keyspace is not what this test is about.
    await source.call('DEBUG', 'POPULATE', String(KEYS), 'cache:digest');

    const summary = viaJson((await h.summarize(summarizeInput(run), fakeContext(3_000))) as RunSummary);

    const out = renderSummary(summary, 'source');
    const cut = /\nThe look for quarantine lists and in-flight keys on the source \(sidekiq-migrate:\*\) was cut short: the summary's time for it ran out after about ([0-9,]+) of its ([0-9,]+) keys\./.exec(out);
    expect(cut, out).not.toBeNull();
    // The other keys, `queues` and the run's own keys at the look, as after it: no index of in-flight
    // keys among them (each acknowledge that emptied an in-flight key took its name out with it).
    expect(Number(cut![2]!.replaceAll(',', ''))).toBe(await source.dbsize());
    expect(await source.exists('sidekiq-migrate:inflight-keys')).toBe(0);
    expect(Number(cut![1]!.replaceAll(',', ''))).toBeLessThan(KEYS);
    expect(out.trimEnd().split('\n').at(-1)).toMatch(/^Done, but jobs may have been left behind: quarantine lists and in-flight keys on the source not all looked at \(cut short after about [0-9,]+ of [0-9,]+ keys\)/); // the count: DBSIZE, checked above
    expect(out).not.toContain('Complete');
    // As `watch` judges a succeeded execution whose summary is unconfirmed: 0, as for every "may have been left behind".
    expect(exitCodeOf({ status: 'SUCCEEDED', summary } as Parameters<typeof exitCodeOf>[0])).toBe(0);
    expect(await jobsIn(target)).toEqual([jobEntry('queue:old', queued)]);
  });
});
