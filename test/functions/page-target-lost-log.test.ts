// A target that lost its data (flushed, or restarted empty) between two slices of one page task:
// the task returns the slices it wrote, and its warning log told why it stopped in the words of a
// step that had written nothing ("… This step wrote nothing."), although its first slice had
// written 10 jobs there. The log now says what this step wrote before it saw the loss.
import { describe, expect, it } from 'vitest';
import type { PlanOutput } from '../../core/workflow/steps/plan-step.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { waitUntil } from '../support/wait-until.js';
import { fakeContext, logRecords } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { viaJson } from './support/run-workflow.js';

const lambda = lambdaOnOwnServers();

/** Every job in flight on the source, as `queue:NAME ⇥ hex ⇥ ` (the queue it was claimed from). */
async function inflight(): Promise<string[]> {
  const entries: string[] = [];
  const { source } = lambda;
  for (const key of await source.keys('sidekiq-migrate:*:inflight:*')) {
    for (const p of await source.lrangeBuffer(key, 0, -1)) entries.push(jobEntry(key.replace(/^sidekiq-migrate:[^:]+:inflight:/, ''), p));
  }
  return entries;
}

describe('a page task whose target lost its data between two of its slices', () => {
  it('returns the slice it wrote, and its warning says it wrote 10 jobs there before it saw the loss, not "This step wrote nothing"', { timeout: 60_000 }, async () => {
    const { source, target, h } = lambda;
    const seeded = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
    await source.rpush('queue:default', ...seeded);
    await source.sadd('queues', 'default');
    // Slices of 10 at 10 jobs/s: the task waits a second after each slice, then renews its locks.
    const plan = viaJson((await h.plan({ runId: 'lost-mid-page', mode: 'transfer', target: 'target', sets: [], pageSize: 10, rateLimit: 10, pagesPerInvocation: 3 }, fakeContext())) as PlanOutput);
    const item = plan.work.batch.find((i) => i.kind === 'queue' && i.name === 'default')!;
    const out = lambda.captureOutput();

    const task = h.transferQueue(viaJson({ settings: plan.settings, item }), fakeContext());
    // The first slice is on the target: it loses its data (FLUSHALL, as a restart without persistence) during the wait.
    await waitUntil('the first slice is written', async () => (await target.llen('queue:default')) === 10);
    await target.flushall();
    const returned = viaJson((await task) as WorkItem);

    out.stop();
    expect(returned).toMatchObject({ done: false, counters: { claimed: 10, written: 10, duplicates: 0 } });
    // The 10 written went with the target's data; the other 20 are on the source, queued or in flight.
    expect(await jobsIn(target)).toEqual([]);
    expect([...(await jobsIn(source)), ...(await inflight())].sort()).toEqual(seeded.slice(10).map((p) => jobEntry('queue:default', p)).sort());
    const warnings = logRecords(out.records()).filter((r) => r['level'] === 'WARN');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      message: 'queue default: a page failed after 1 page(s) were written; returning those, the next task starts at the failed page',
      error: { name: 'TargetLostDataError' },
    });
    const said = (warnings[0]!['error'] as { message: string }).message;
    expect(said).not.toContain('wrote nothing');
    expect(said).toMatch(
      /^The target redis:\/\/127\.0\.0\.1:\d+ lost its data \(its target id \S+ is gone: restarted empty, flushed or failed over\); any job this run had written there and acknowledged before the loss went with it\. This step had written 10 job\(s\) there \(counted as written\), and writes nothing more\.$/,
    );
    // The next task starts at the failed page and stops before writing: that one did write nothing.
    await expect(h.transferQueue(viaJson({ settings: plan.settings, item: returned }), fakeContext())).rejects.toMatchObject({
      message: expect.stringMatching(/This step wrote nothing\.$/),
    });
    expect(await jobsIn(target)).toEqual([]);
    await h.releaseLock({ settings: plan.settings }, fakeContext());
  });
});
