import { describe, expect, it } from 'vitest';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { MetricNames } from '../../functions/support/metric-names.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { commandClock } from '../support/command-clock.js';
import { fakeContext } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { runToSummary } from './support/run-workflow.js';

// The drain-check alarms (orphans, stuck) fire after `persistPeriods` periods in a row, each of
// the schedule's rate, with a missing period taken as not breaching. CloudWatch puts a data point
// in the period of its EMF timestamp, which was the end of the check: a check of a large Redis
// lasts up to its function's 120 s, so a schedule firing within 120 s of a period's end had its
// data points cross into the next period whenever a check took longer than the one before — one
// period with two, the one before with none, the alarm's row broken. With orphans on the old Redis
// every check, it stayed OK. Here time is the Redis commands the check sends (commandClock, each
// 500 ms): a check of 10,000 `retry` entries (50 ZSCAN pages) lasts over half a minute of it, as one of a
// large Redis does; its data point is now stamped with the check's start, the instant the
// schedule fired it, in the period of that firing whatever the check's duration.
const ENTRIES = 10_000;
const lambda = lambdaOnOwnServers({ targetArgs: false });

describe('the drain check handler of a Redis whose check takes a while', { timeout: 120_000 }, () => {
  it('stamps its metrics with the check’s start, so that its data point lands in the period the schedule fired it in', async () => {
    const { source, h } = lambda;
    for (let i = 0; i < ENTRIES; i += 1_000) {
      const args: (string | number)[] = [];
      for (let j = i; j < i + 1_000; j++) args.push(1_700_000_000 + j, sidekiqPayload({ className: 'GoneWorker', queue: 'gone', args: `[${j}]`, jid: j.toString(16).padStart(24, '0') }));
      await source.zadd('retry', ...args);
    }
    const { redis: checked } = await h.connections.get('source');
    const out = lambda.captureOutput();
    const clock = commandClock([checked], 500);
    let started: number;
    let ended: number;
    let report: DrainReport;
    try {
      started = Date.now();
      // The deployed function's 120 s: its sets' half reads the 50 pages.
      report = (await h.drainCheck({ remember: false }, fakeContext(120_000))) as DrainReport;
      ended = Date.now();
    } finally {
      clock.stop();
    }

    out.stop();
    expect(report.sets.retry).toMatchObject({ total: ENTRIES, orphaned: ENTRIES });
    expect(report.sets.retry.orphanedEstimated).toBeFalsy();
    expect(clock.sent('zscan'), 'the check read the set in pages').toBeGreaterThanOrEqual(ENTRIES / 200);
    const emf = out.records().filter((r) => r['_aws'] !== undefined);
    expect(emf).toHaveLength(1);
    expect(emf[0]![MetricNames.OrphanedJobs]).toBe(ENTRIES);
    const stamped = (emf[0]!['_aws'] as { Timestamp: number }).Timestamp;
    // The check lasted over half a minute of the clock's (a stamp at its end is far from its start); its stamp is its start.
    expect(ended - started, 'the check must take a while for this test to say anything').toBeGreaterThan(30_000);
    expect(stamped).toBe(started);
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
