import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { captureOutput, fakeContext, logRecords, type OutputCapture } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { runToSummary, summarizeInput, viaJson } from './support/run-workflow.js';

// The summarize function's per-run log line is what an operator searches in CloudWatch when a
// run ends "Done, but jobs may have been left behind". It named the leftover and private-list
// looks the summary's time cut short, but not the two other looks that can be: jobs under other
// prefixes (`underOtherPrefixes.cutShort`) and --no-queues' queue lists (`notLookedAt.queuesCutShort`).
// A re-route with --no-queues on a Redis of 2,000,000 other keys and 3 s left cuts both short.
const KEYS = 2_000_000;
const lambda = lambdaOnOwnServers({ sourceArgs: ['--enable-debug-command', 'local'], targetArgs: false });

/**
 * One job on queue old (the server emptied first), a re-route by `renames` run to its summary by
 * the handlers: the summary task's log line about the run ("run …"), and all it printed.
 */
async function runLineOfReroute(runId: string, renames: Record<string, string>): Promise<{ line: Record<string, unknown> | undefined; out: OutputCapture }> {
  const { h, source: redis } = lambda;
  await redis.flushall();
  await redis.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old' }));
  await redis.sadd('queues', 'old');
  const run = await runToSummary(h, { runId, mode: 'reroute', sets: ['schedule'], routing: { kind: 'renames', renames } });
  const out = captureOutput();
  try {
    await h.summarize(summarizeInput(run), fakeContext());
  } finally {
    out.stop();
  }
  return { line: logRecords(out.records()).find((r) => /^run /.test(String(r['message']))), out };
}

describe('the summarize handler, its looks cut short by its time', { timeout: 120_000 }, () => {
  it("logs the other prefixes' look and --no-queues' queue look cut short on the run's line, without job data", async () => {
    const { h, source: redis } = lambda;
    const secretArgs = '["s3cr3t-arg"]';
    await redis.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: secretArgs }));
    await redis.sadd('queues', 'old');
    const run = await runToSummary(h, { runId: 'log-1', mode: 'reroute', queues: false, sets: ['schedule'], routing: { kind: 'renames', renames: { old: 'new' } } });
    await redis.call('DEBUG', 'POPULATE', String(KEYS), 'cache:digest');
    const keys = await redis.dbsize();
    const out = captureOutput();

    let summary: RunSummary;
    try {
      summary = viaJson((await h.summarize(summarizeInput(run), fakeContext(3_000))) as RunSummary);
    } finally {
      out.stop();
    }

    expect(summary.underOtherPrefixes?.cutShort).toBe('time');
    expect(summary.notLookedAt?.queuesCutShort).toBeDefined();
    const line = logRecords(out.records()).find((r) => /^run /.test(String(r['message'])));
    // Never "run complete" over what the CLI's summary calls "Done, but jobs were left behind":
    // queue:old's job, not looked at (--no-queues), and the looks cut short, named as counts.
    expect(line, out.text()).toMatchObject({
      message: 'run done, but jobs were left behind',
      complete: true,
      leftBehind: ['at least 1 in sets and queues this run did not look at'],
      underOtherPrefixesCutShort: 'time',
      notLookedAtQueuesCutShort: { lookedAt: summary.notLookedAt!.queuesCutShort!.lookedAt, keys: summary.notLookedAt!.queuesCutShort!.keys },
    });
    // DBSIZE when the walk stopped: the other keys and the run's (some released since `keys`).
    expect(summary.notLookedAt!.queuesCutShort!.keys).toBeGreaterThan(KEYS);
    expect(summary.notLookedAt!.queuesCutShort!.keys).toBeLessThanOrEqual(keys);
    expect(summary.notLookedAt!.queuesCutShort!.lookedAt).toBeLessThan(KEYS);
    expect((line!['mayHaveLeftBehind'] as string[]).join(' · ')).toMatch(/queue lists --no-queues left out not all looked at .* · the look for jobs under other prefixes was cut short/);
    expect(JSON.stringify(line)).not.toContain('s3cr3t-arg');
  });

  it("says 'run complete' only for a run that left nothing anywhere", async () => {
    const { source: redis } = lambda;
    const { line, out } = await runLineOfReroute('log-2', { old: 'new' });
    expect(line, out.text()).toMatchObject({ message: 'run complete', complete: true });
    expect(line).not.toHaveProperty('leftBehind');
    expect(line).not.toHaveProperty('mayHaveLeftBehind');
    expect(await redis.lrange('queue:new', 0, -1)).toHaveLength(1);
  });

  it("says a rename that matched no queue moved nothing, never 'run complete' (the CLI's 'Done, but --rename … moved nothing')", async () => {
    const { source: redis } = lambda;
    const { line, out } = await runLineOfReroute('log-3', { olld: 'new' });
    expect(line, out.text()).toMatchObject({ message: 'run done, but a rename moved nothing', complete: true, renamesMovedNothing: ['--rename olld=new moved nothing'] });
    expect(await redis.lrange('queue:old', 0, -1)).toHaveLength(1);
  });
});
