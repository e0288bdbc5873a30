import { describe, expect, it } from 'vitest';
import { drainExitCode } from '../../cli/commands/drain-check-command.js';
import { renderDrainReport } from '../../cli/workflow/render-drain-report.js';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { captureOutput, emfRecords, fakeContext, logRecords } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { commandClock } from '../support/command-clock.js';
import type { LoadedHandlers } from './support/load-handlers.js';
import { viaJson } from './support/run-workflow.js';
import { MetricNames } from '../../functions/support/metric-names.js';

// The deployed drain check at GitLab scale: a Redis with millions of keys that are not Sidekiq's.
// Its looks for in-flight keys, quarantine lists and private lists were bounded by its time, but
// its discovery of queue lists (a SCAN of `queue:*`) and its look for sidekiq-cron namespaces (a
// SCAN of `cron_jobs:*`) were not: about a second a million keys each at loopback, they outlasted
// the invocation, and a check that times out answers nothing. Now they share the looks' time; one
// cut short says what it did not confirm (the queues the `queues` set names are still counted) and
// the verdict is never drained (exit code 1).
const KEYS = 500_000;
const keys = new SidekiqKeys('');
const now = () => Math.floor(Date.now() / 1000);
const job = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, extra: `"enqueued_at":${now()}.0` });
const lambda = lambdaOnOwnServers({ sourceArgs: ['--enable-debug-command', 'local'], targetArgs: false });

/** The check's time: 120 round trips of the clock's. */
const LEFT_MS = 60_000;
const MS_PER_ROUND_TRIP = 500;

/**
 * `check` on a clock that moves 500 ms a round trip the container's client makes (commandClock):
 * one walk of the 500,000 keys (SCAN pages of 1,000, as the looks read them) is 500 round trips,
 * four times the check's 60 s, so that no look can finish in its share, and a look not bounded by
 * its time outlasts the check. On a loaded 2-core CI a wall-clock budget (3 s, then 1.5 walks
 * measured before the check) failed the test on time alone; round trips are the same anywhere.
 */
async function onTheClock<T>(h: LoadedHandlers, check: () => Promise<T>): Promise<{ report: T; took: number }> {
  const { redis } = await h.connections.get('source');
  const clock = commandClock([redis], MS_PER_ROUND_TRIP, { perRoundTrip: true });
  try {
    const started = Date.now();
    const report = await check();
    return { report, took: Date.now() - started };
  } finally {
    clock.stop();
  }
}

describe('the drain check handler on a Redis with 500,000 other keys and 60 s (120 round trips) left', { timeout: 240_000 }, () => {
  it('answers in time: queues of the `queues` set counted, the cut-short looks said, not drained, exit code 1', async () => {
    const { h, source: redis } = lambda;
    await redis.call('DEBUG', 'POPULATE', String(KEYS), 'cache:digest');
    await redis.sadd('queues', 'named');
    await redis.rpush('queue:named', job('named', 1), job('named', 2));
    await heartbeat(redis, keys, 'web:1:aaaaaaaaaaaa', ['named'], { beatAt: now() });

    const { report, took } = await onTheClock(h, async () => viaJson((await h.drainCheck({ remember: false }, fakeContext(LEFT_MS))) as DrainReport));

    expect(took, `${took / MS_PER_ROUND_TRIP} round trips`).toBeLessThanOrEqual(LEFT_MS);
    expect(report.queues.map((q) => [q.queue, q.depth])).toEqual([['named', 2]]);
    expect(report.remaining).toBe(2);
    expect(report.verdict.state).toBe('draining');
    expect(report.keyspaceLookCutShort?.looks).toEqual(expect.arrayContaining(['queue lists not in the `queues` set', 'sidekiq-cron namespaces other than default']));
    const out = renderDrainReport(report);
    const line = /\n {2}- (.*) not all looked at: the check's time ran out after about ([0-9,]+) of the Redis's ([0-9,]+) keys; (.*), so this is not a verdict of drained\n/.exec(out);
    expect(line, out).not.toBeNull();
    expect(line![1]).toContain('queue lists not in the `queues` set');
    expect(line![1]).toContain('sidekiq-cron namespaces other than default');
    expect(Number(line![2]!.replaceAll(',', ''))).toBeLessThan(KEYS);
    expect(Number(line![3]!.replaceAll(',', ''))).toBe(await redis.dbsize());
    expect(line![4]).toContain('every queue the `queues` set names was counted: only a queue list missing from it may have been missed');
    expect(line![4]).toContain('sidekiq-cron definitions of namespaces other than default (cron_jobs:NAME) were not all read');
    // A look cut short: the count is a floor, and the headline says so.
    expect(out.split('\n')[0]).toBe(`${report.redis}: DRAINING — at least 2 job(s) left`);
    expect(out).not.toContain('DRAINED');
    expect(drainExitCode(report)).toBe(1);
  });
});

describe('the drain check handler scoped to a retired queue the `queues` set does not name, among 500,000 other keys and 60 s (120 round trips) left', { timeout: 240_000 }, () => {
  it('counts the retired queue whatever the time: its jobs are left, not drained', async () => {
    const { h, source: redis } = lambda;
    await redis.flushall();
    await redis.call('DEBUG', 'POPULATE', String(KEYS), 'cache:digest');
    await redis.sadd('queues', 'named');
    await redis.rpush('queue:retired', job('retired', 1), job('retired', 2));
    await heartbeat(redis, keys, 'web:1:cccccccccccc', ['retired'], { beatAt: now() });

    const { report, took } = await onTheClock(h, async () => viaJson((await h.drainCheck({ remember: false, retiredQueues: ['retired'] }, fakeContext(LEFT_MS))) as DrainReport));

    expect(took, `${took / MS_PER_ROUND_TRIP} round trips`).toBeLessThanOrEqual(LEFT_MS);
    expect(report.queues.map((q) => [q.queue, q.depth])).toEqual([['retired', 2]]);
    expect(report.remaining).toBe(2);
    const out = renderDrainReport(report);
    expect(out.split('\n')[0]).toBe(`${report.redis}: DRAINING — at least 2 job(s) left of the 1 retired queue(s) only (jobs of other queues are not counted)`);
    expect(out).toContain('; every queue the `queues` set names and every retired queue was counted: only a queue list missing from them may have been missed;');
    expect(drainExitCode(report)).toBe(1);
  });
});

describe('the drain check handler with another prefix among 500,000 other keys and 60 s (120 round trips) left', { timeout: 240_000 }, () => {
  it("answers in time: the other prefix's look cut short is said, not drained, exit code 3 for its jobs", async () => {
    const { h, source: redis } = lambda;
    await redis.flushall();
    await redis.call('DEBUG', 'POPULATE', String(KEYS), 'cache:digest');
    // GitLab's namespace move leaves `resque:gitlab:` keys: enough that the search for prefixes finds them.
    const other = redis.pipeline();
    for (let i = 0; i < 50_000; i++) other.rpush(`resque:gitlab:queue:q${i}`, job(`q${i}`, i));
    await other.exec();
    await redis.sadd('queues', 'named');

    const { report, took } = await onTheClock(h, async () => viaJson((await h.drainCheck({ remember: false }, fakeContext(LEFT_MS))) as DrainReport));

    expect(took, `${took / MS_PER_ROUND_TRIP} round trips`).toBeLessThanOrEqual(LEFT_MS);
    expect(report.otherPrefixes?.map((p) => p.prefix)).toEqual(['resque:gitlab:']);
    expect(report.keyspaceLookCutShort?.looks).toEqual(expect.arrayContaining(["other prefixes' queue lists, working lists and in-flight keys"]));
    const out = renderDrainReport(report);
    expect(out).toMatch(/\n {2}- [^\n]*other prefixes' queue lists, working lists and in-flight keys not all looked at: the check's time ran out after about [0-9,]+ of the Redis's [0-9,]+ keys; jobs there are not confirmed absent[^\n]*, so this is not a verdict of drained\n/);
    expect(out).not.toContain('DRAINED');
    expect(drainExitCode(report)).toBe(3); // the other prefix's jobs, where no Sidekiq runs
  });
});

describe('the drain check handler on a Redis with 500,000 other keys and nothing of Sidekiq under its prefix, 60 s (120 round trips) left', { timeout: 240_000 }, () => {
  it('answers in time: its look for Sidekiq data under the prefix cut short is said, never DRAINED nor "No Sidekiq data", exit code 1, DrainState 1', async () => {
    const { h, source: redis } = lambda;
    // Nothing under the prefix: no `queues`, no set, no queue list. The check's look for Sidekiq
    // data there (before the report) had no time bound: a walk of every key, which outlasted the
    // invocation on a large keyspace (a check that times out answers nothing, its alarms silent).
    await redis.flushall();
    await redis.call('DEBUG', 'POPULATE', String(KEYS), 'cache:digest');
    const out = captureOutput();

    let report: DrainReport;
    let took: number;
    try {
      ({ report, took } = await onTheClock(h, async () => viaJson((await h.drainCheck({ remember: false }, fakeContext(LEFT_MS))) as DrainReport)));
    } finally {
      out.stop();
    }

    expect(took, `${took / MS_PER_ROUND_TRIP} round trips`).toBeLessThanOrEqual(LEFT_MS);
    expect(report.remaining).toBe(0);
    expect(report.verdict.state).toBe('draining');
    expect(report.keyspaceLookCutShort?.looks).toEqual(expect.arrayContaining(['Sidekiq data under this prefix']));
    const rendered = renderDrainReport(report);
    const line = /\n {2}- (.*) not all looked at: the check's time ran out after about ([0-9,]+) of the Redis's ([0-9,]+) keys; (.*), so this is not a verdict of drained\n/.exec(rendered);
    expect(line, rendered).not.toBeNull();
    expect(line![1]).toContain('Sidekiq data under this prefix');
    expect(Number(line![2]!.replaceAll(',', ''))).toBeLessThan(KEYS);
    expect(line![4]).toContain("none of Sidekiq's own keys is under this prefix and its look for queue lists found none before its time ran out: whether this Redis holds Sidekiq data there (or it is the wrong prefix) is not known");
    // None counted: what was not read, never "at least 0".
    expect(rendered.split('\n')[0]).toBe(`${report.redis}: DRAINING — 0 job(s) counted; not all read: ${report.keyspaceLookCutShort!.looks.join(', ')} (see below)`);
    expect(rendered).not.toContain('DRAINED');
    expect(rendered).not.toContain('No Sidekiq data');
    expect(drainExitCode(report)).toBe(1);
    // The alarm's metric: not drained (0), nor stuck (2).
    expect(emfRecords(out.records())[0]!.values).toMatchObject({ [MetricNames.DrainState]: 1, [MetricNames.RemainingJobs]: 0 });
    expect(logRecords(out.records()).find((r) => String(r['message']).endsWith(' is draining'))).toMatchObject({ state: 'draining', keyspaceLookCutShort: { looks: expect.arrayContaining(['Sidekiq data under this prefix']) } });
  });
});

describe('the drain check handler with time to look at every key', { timeout: 120_000 }, () => {
  it('finds a queue list the `queues` set does not name, and a cron definition of another namespace', async () => {
    const { h, source: redis } = lambda;
    await redis.flushall();
    const filler = redis.pipeline();
    for (let i = 0; i < 5_000; i++) filler.set(`cache:other:${i}`, '1');
    await filler.exec();
    await redis.sadd('queues', 'named');
    await redis.rpush('queue:named', job('named', 1));
    await redis.rpush('queue:hidden', job('hidden', 2), job('hidden', 3));
    await redis.sadd('cron_jobs:nightly', 'cron_job:nightly:report');
    await redis.hset('cron_job:nightly:report', 'name', 'report', 'status', 'enabled', 'message', JSON.stringify({ class: 'ReportWorker', queue: 'hidden', args: [] }));
    await heartbeat(redis, keys, 'web:1:bbbbbbbbbbbb', ['named', 'hidden'], { beatAt: now() });

    const report = viaJson((await h.drainCheck({ remember: false }, fakeContext())) as DrainReport);

    expect(report.queues.map((q) => [q.queue, q.depth])).toEqual([
      ['hidden', 2],
      ['named', 1],
    ]);
    expect(report.remaining).toBe(3);
    expect(report.cron?.map((c) => [c.name, c.queue])).toEqual([['report', 'hidden']]);
    expect(report.keyspaceLookCutShort).toBeUndefined();
    expect(renderDrainReport(report)).not.toContain('not all looked at');
    expect(report.verdict.state).toBe('draining');
  });
});
