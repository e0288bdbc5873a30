import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { renderDrainReport } from '../../cli/workflow/render-drain-report.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { captureOutput, fakeContext, logRecords } from './support/lambda-harness.js';
import { coldStart, type LoadedHandlers } from './support/load-handlers.js';
import { viaJson } from './support/run-workflow.js';

// The deployed check given an empty Redis (a connection pointed at the wrong host or /db): the CLI
// says "no Sidekiq data at all there"; the function's report carried no such flag, so
// `drain-check --deployed` printed only "DRAINED — 0 job(s) left", the go-ahead to retire the
// Redis meant. Its report (and its log line) now say the same as the local check, its remembered
// key (its one write) not taken for Sidekiq data on the next scheduled check.
const redis = privateRedis();

let h: LoadedHandlers;
beforeAll(async () => {
  h = await coldStart({ SIDEKIQ_MIGRATE_SOURCE_URL: redis.url(), SIDEKIQ_MIGRATE_SOURCE_PREFIX: '' });
});
afterAll(async () => {
  // Unset when loading the handlers outlasted its hook: the servers are still stopped.
  await (h as LoadedHandlers | undefined)?.connections.close();
  vi.unstubAllEnvs();
});

describe('the deployed drain check of a Redis with no Sidekiq data at all', { timeout: 60_000 }, () => {
  it('says so in its report, as the local check does, and keeps saying it on the next scheduled check', async () => {
    await redis.client().set('cache:some-page', 'x');
    const out = captureOutput();
    let first: DrainReport;
    let second: DrainReport;
    try {
      first = viaJson((await h.drainCheck({ scheduled: true }, fakeContext())) as DrainReport);
      second = viaJson((await h.drainCheck({ scheduled: true }, fakeContext())) as DrainReport);
    } finally {
      out.stop();
    }
    const local = await runCli('drain-check', '--redis', redis.url(), '--json');

    expect(first).toMatchObject({ remaining: 0, noSidekiqData: true, verdict: { state: 'drained' } });
    expect(second).toMatchObject({ remaining: 0, noSidekiqData: true, verdict: { state: 'drained' } });
    expect(JSON.parse(local.stdout)).toMatchObject({ noSidekiqData: true });
    // What `drain-check --deployed` prints of it: the local check's line.
    expect(renderDrainReport(first).split('\n')[0]).toBe(
      `${redis.url()}: DRAINED — 0 job(s) left: no Sidekiq data at all there (no queue, set, process or statistic of Sidekiq's, under any prefix or in another database): check that this is the Redis you meant (host, port, /db)`,
    );
    expect(logRecords(out.records()).map((r) => r['noSidekiqData'])).toEqual([true, true]);
  });

  it('says nothing of it where Sidekiq keys are', async () => {
    await redis.client().sadd('queues', 'default');
    const report = (await h.drainCheck({ remember: false }, fakeContext())) as DrainReport;
    expect(report.verdict.state).toBe('drained');
    expect(report).not.toHaveProperty('noSidekiqData');
  });
});
