import { describe, expect, it } from 'vitest';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { MetricNames } from '../../functions/support/metric-names.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { fakeContext } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { runToSummary } from './support/run-workflow.js';

// The drain-check alarms (orphans, stuck) fire after `persistPeriods` periods in a row, each of
// the schedule's rate, with a missing period taken as not breaching. CloudWatch puts a data point
// in the period of its EMF timestamp, which was the end of the check: a check of a large Redis
// lasts up to its function's 120 s, so a schedule firing within 120 s of a period's end had its
// data points cross into the next period whenever a check took longer than the one before — one
// period with two, the one before with none, the alarm's row broken. With orphans on the old Redis
// every check, it stayed OK. Here a check of 400,000 `retry` entries (about a second) stands for
// one of minutes: its data point is now stamped with the check's start, the instant the schedule
// fired it, in the period of that firing whatever the check's duration.
const ENTRIES = 400_000;
const lambda = lambdaOnOwnServers({ targetArgs: false });

describe('the drain check handler of a Redis whose check takes a while', { timeout: 120_000 }, () => {
  it('stamps its metrics with the check’s start, so that its data point lands in the period the schedule fired it in', async () => {
    const { source, h } = lambda;
    for (let i = 0; i < ENTRIES; i += 10_000) {
      const args: (string | number)[] = [];
      for (let j = i; j < i + 10_000; j++) args.push(1_700_000_000 + j, sidekiqPayload({ className: 'GoneWorker', queue: 'gone', args: `[${j}]`, jid: j.toString(16).padStart(24, '0') }));
      await source.zadd('retry', ...args);
    }
    const out = lambda.captureOutput();

    const started = Date.now();
    const report = (await h.drainCheck({ remember: false }, fakeContext(120_000))) as DrainReport;
    const ended = Date.now();

    out.stop();
    expect(report.sets.retry).toMatchObject({ total: ENTRIES });
    const emf = out.records().filter((r) => r['_aws'] !== undefined);
    expect(emf).toHaveLength(1);
    expect(emf[0]![MetricNames.OrphanedJobs]).toBe(ENTRIES);
    const stamped = (emf[0]!['_aws'] as { Timestamp: number }).Timestamp;
    expect(ended - started, 'the check must take a while for this test to say anything').toBeGreaterThan(500);
    expect(stamped).toBeGreaterThanOrEqual(started);
    expect(stamped - started).toBeLessThan(100);
  });

  it('leaves no timestamp behind when a check published nothing: the next invocation in the process stamps its own', async () => {
    const { source, h } = lambda;
    await expect(h.drainCheck({ connection: 'nope' }, fakeContext())).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await source.flushall();
    await source.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
    await source.sadd('queues', 'old');
    const out = lambda.captureOutput();
    const before = Date.now();
    await runToSummary(h, { runId: 'after-check', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, sets: [] });
    out.stop();
    const stamps = out.records().flatMap((r) => (r['_aws'] === undefined ? [] : [(r['_aws'] as { Timestamp: number }).Timestamp]));
    expect(stamps.length).toBeGreaterThan(0);
    for (const t of stamps) expect(t).toBeGreaterThanOrEqual(before);
  });
});
