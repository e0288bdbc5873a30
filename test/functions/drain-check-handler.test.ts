import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { rememberedCheckKey } from '../../core/drain/remembered-check.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { MetricNames } from '../../functions/support/metric-names.js';
import { connectShared, sharedRedisUrl, uniquePrefix } from '../support/redis.js';
import { startRedisServer } from '../support/redis-server.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { captureOutput, emfRecords, fakeContext, logRecords, type OutputCapture } from './support/lambda-harness.js';
import { commandClock } from '../support/command-clock.js';
import { coldStart, type LoadedHandlers } from './support/load-handlers.js';
import { viaJson } from './support/run-workflow.js';

const redis = connectShared();
const keys = new SidekiqKeys(uniquePrefix());
const now = () => Math.floor(Date.now() / 1000);
const queued = (queue: string, enqueuedAt: number) => sidekiqPayload({ className: 'A', queue, args: '["drain-arg-5521"]', extra: `"enqueued_at":${enqueuedAt}.0` });

let h: LoadedHandlers;
let out: OutputCapture | undefined;
beforeAll(async () => {
  h = await coldStart({ SIDEKIQ_MIGRATE_SOURCE_URL: sharedRedisUrl(), SIDEKIQ_MIGRATE_SOURCE_PREFIX: keys.prefix });
});
afterEach(() => out?.stop());
afterAll(async () => {
  // Unset when loading the handlers outlasted its hook: the servers are still stopped.
  await (h as LoadedHandlers | undefined)?.connections.close();
  vi.unstubAllEnvs();
});

describe('the drain check handler', () => {
  it('reports what is left and emits it as metrics, then sees the Redis drained', async () => {
    await redis.lpush(keys.queue('old'), queued('old', now() - 60), queued('old', now() - 30), queued('old', now() - 10));
    await redis.lpush(keys.queue('live'), queued('live', now()));
    await heartbeat(redis, keys, 'web:1:aaaaaaaaaaaa', ['live'], { beatAt: now() });
    out = captureOutput();

    const stuck = (await h.drainCheck({ scheduled: true }, fakeContext())) as DrainReport;
    await redis.del(keys.queue('old'), keys.queue('live'));
    const drained = (await h.drainCheck({ connection: 'source', previous: viaJson(stuck) }, fakeContext())) as DrainReport;

    out.stop();
    expect(stuck).toMatchObject({ remaining: 4, orphans: { total: 3, queues: ['old'] }, verdict: { state: 'stuck' } });
    expect(drained).toMatchObject({ remaining: 0, verdict: { state: 'drained' } });
    const [first, second] = emfRecords(out.records());
    expect(first).toEqual({
      namespace: 'SidekiqMigrate',
      dimensions: { service: 'sidekiq-migrate', mode: 'drain-check' },
      values: {
        [MetricNames.QueueDepth]: 4,
        [MetricNames.OrphanedJobs]: 3,
        [MetricNames.RemainingJobs]: 4,
        [MetricNames.InflightJobs]: 0,
        [MetricNames.QuarantinedJobs]: 0,
        [MetricNames.RetiredQueueArrivals]: 0,
        // The 3 orphans, and other prefixes' jobs nobody runs on this shared server (exact below, on a private one).
        [MetricNames.UnrunJobs]: expect.any(Number),
        [MetricNames.DrainState]: 2,
      },
    });
    expect(first!.values[MetricNames.UnrunJobs]).toBeGreaterThanOrEqual(3);
    expect(second!.values).toMatchObject({ [MetricNames.QueueDepth]: 0, [MetricNames.RemainingJobs]: 0, [MetricNames.DrainState]: 0 });
    const lines = logRecords(out.records());
    // Before "drained", as the CLI: it waited for the live process to beat twice (confirm-drained.ts).
    expect(lines.map((r) => r['message'])).toEqual([
      `${sharedRedisUrl()} is stuck`,
      expect.stringMatching(/^Nothing left in lists and sets; waiting up to \d+ s for the 1 live Sidekiq process\(es\) to beat twice: /),
      `${sharedRedisUrl()} is drained`,
    ]);
    expect(drained).toMatchObject({ beatWait: { processes: 1 } });
    expect(drained).not.toHaveProperty('beatWait.unconfirmed');
    expect(out.text()).not.toContain('drain-arg-5521');
  });

  it("publishes an on-demand check (drain-check --deployed: no `scheduled`) apart from the schedule's series, which the alarms and the dashboard read", async () => {
    // A scoped on-demand check looks at less (one retired queue) and judges it drained, while the
    // schedule's check (all queues) judges the Redis stuck on its orphans: in the same series, its
    // DrainState 0 pulled the stuck alarm's Minimum down (and alone in a period, made "drained").
    await redis.lpush(keys.queue('orphaned'), queued('orphaned', now() - 60));
    out = captureOutput();
    const scheduled = (await h.drainCheck({ connection: 'source', scheduled: true }, fakeContext())) as DrainReport;
    const onDemand = (await h.drainCheck({ connection: 'source', retiredQueues: ['empty-retired'] }, fakeContext())) as DrainReport;
    out.stop();
    await redis.del(keys.queue('orphaned'));

    expect(scheduled.verdict.state).toBe('stuck');
    expect(onDemand.verdict.state).toBe('drained');
    const [fromSchedule, fromOperator] = emfRecords(out.records());
    expect(fromSchedule).toMatchObject({ dimensions: { service: 'sidekiq-migrate', mode: 'drain-check' }, values: { [MetricNames.OrphanedJobs]: 1, [MetricNames.DrainState]: 2 } });
    expect(fromOperator).toMatchObject({ dimensions: { service: 'sidekiq-migrate', mode: 'drain-check-on-demand' }, values: { [MetricNames.DrainState]: 0 } });
  });

  it('counts arrivals on retired queues since the previous check', async () => {
    const since = now() - 100;
    await redis.lpush(keys.queue('retired'), queued('retired', since - 50), queued('retired', since + 20), queued('retired', since + 40));
    await heartbeat(redis, keys, 'web:1:bbbbbbbbbbbb', ['retired'], { beatAt: now() });
    const previous = { checkedAt: since, remaining: 1, readyNow: 1 };
    out = captureOutput();

    const report = (await h.drainCheck({ previous, retiredQueues: ['retired'] }, fakeContext())) as DrainReport;

    out.stop();
    expect(report.verdict.state).toBe('stuck');
    expect(emfRecords(out.records())[0]!.values).toMatchObject({ [MetricNames.RetiredQueueArrivals]: 2, [MetricNames.RemainingJobs]: 3, [MetricNames.DrainState]: 2 });
    await redis.del(keys.queue('retired'));
  });

  it('counts quarantined jobs as stuck work and publishes them as QuarantinedJobs', async () => {
    await redis.rpush(keys.quarantine('old'), queued('old', now() - 100), queued('old', now() - 90));
    out = captureOutput();

    const report = (await h.drainCheck({ remember: false }, fakeContext())) as DrainReport;

    out.stop();
    expect(report).toMatchObject({ remaining: 2, quarantine: [{ key: keys.quarantine('old'), queue: 'old', size: 2 }], verdict: { state: 'stuck' } });
    expect(emfRecords(out.records())[0]!.values).toMatchObject({ [MetricNames.QuarantinedJobs]: 2, [MetricNames.RemainingJobs]: 2, [MetricNames.DrainState]: 2 });
    await redis.del(keys.quarantine('old'));
  });

  it('scheduled checks compare with the last check they remembered: rate and arrivals without --previous', async () => {
    const scoped = new SidekiqKeys(uniquePrefix());
    const scheduled = await coldStart({ SIDEKIQ_MIGRATE_SOURCE_URL: sharedRedisUrl(), SIDEKIQ_MIGRATE_SOURCE_PREFIX: scoped.prefix });
    try {
      await redis.lpush(scoped.queue('retired'), queued('retired', now() - 500), queued('retired', now() - 400), queued('retired', now() - 300));
      await heartbeat(redis, scoped, 'web:1:cccccccccccc', ['retired'], { beatAt: now() });
      // What the schedule sends: no previous report.
      const input = { connection: 'source', retiredQueues: ['retired'], scheduled: true };

      const first = (await scheduled.drainCheck(input, fakeContext())) as DrainReport;
      // A minute later (as remembered), a job was run and a new one arrived on the retired queue.
      const key = `${scoped.prefix}sidekiq-migrate:drain-check:${rememberedScope(['retired'])}`;
      await redis.set(key, JSON.stringify({ checkedAt: first.checkedAt - 60, remaining: 4, readyNow: 4 }));
      await redis.rpop(scoped.queue('retired'));
      await redis.lpush(scoped.queue('retired'), queued('retired', now()));
      const second = (await scheduled.drainCheck(input, fakeContext())) as DrainReport;
      // An unscoped check has its own memory: it is not compared with the scoped one.
      const unscoped = (await scheduled.drainCheck({ connection: 'source' }, fakeContext())) as DrainReport;
      const readOnly = (await scheduled.drainCheck({ ...input, remember: false }, fakeContext())) as DrainReport;

      expect(first.queues[0]).not.toHaveProperty('arrivedSinceLastCheck');
      expect(first.verdict.ratePerSecond).toBeUndefined();
      expect(second.queues).toEqual([expect.objectContaining({ queue: 'retired', depth: 3, arrivedSinceLastCheck: 1 })]);
      expect(second.verdict.ratePerSecond).toBeCloseTo(1 / 60, 2);
      expect(unscoped.verdict.ratePerSecond).toBeUndefined();
      expect(JSON.parse((await redis.get(key))!)).toEqual({ checkedAt: second.checkedAt, remaining: second.remaining, readyNow: second.readyNow });
      expect(await redis.ttl(key)).toBeGreaterThan(24 * 3600);
      // remember: false neither reads nor writes the memory.
      expect(readOnly.queues[0]).not.toHaveProperty('arrivedSinceLastCheck');
      expect(JSON.parse((await redis.get(key))!).checkedAt).toBe(second.checkedAt);
    } finally {
      await scheduled.connections.close();
    }
  });

  it("fails (InvalidInputError) instead of 'drained' when its prefix holds nothing and another holds Sidekiq data", async () => {
    const seeded = new SidekiqKeys(uniquePrefix());
    await redis.lpush(seeded.queue('old'), queued('old', now()));
    const wrong = await coldStart({ SIDEKIQ_MIGRATE_SOURCE_URL: sharedRedisUrl(), SIDEKIQ_MIGRATE_SOURCE_PREFIX: `${seeded.prefix}wrong` });
    try {
      const failure = wrong.drainCheck({}, fakeContext());
      await expect(failure).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringMatching(/^No Sidekiq data under the prefix ".*wrong:" on redis:\/\/.* but Sidekiq keys are there under .*: use /) });
      await expect(failure).rejects.toMatchObject({ message: expect.stringContaining(`"${seeded.prefix}" (1 key)`) });
      await expect(failure).rejects.toMatchObject({ message: expect.stringContaining("the connection's prefix SIDEKIQ_MIGRATE_SOURCE_PREFIX") });
      expect(await redis.llen(seeded.queue('old'))).toBe(1);
    } finally {
      await wrong.connections.close();
      await redis.del(seeded.queue('old'));
    }
  });

  it("publishes UnrunJobs for jobs under another prefix that no Sidekiq runs, which keeps a drained prefix's go-ahead off", async () => {
    const server = await startRedisServer();
    const client = new Redis(server.url);
    const gitlab = new SidekiqKeys('gitlab:');
    const leftovers = new SidekiqKeys('resque:gitlab:');
    const checked = await coldStart({ SIDEKIQ_MIGRATE_SOURCE_URL: server.url, SIDEKIQ_MIGRATE_SOURCE_PREFIX: gitlab.prefix });
    try {
      // The checked prefix is drained; GitLab's namespace move left 3 jobs under its old prefix.
      await heartbeat(client, gitlab, 'web:1:dddddddddddd', ['default'], { beatAt: now() });
      await client.lpush(leftovers.queue('default'), queued('default', now() - 60), queued('default', now() - 50), queued('default', now() - 40));
      out = captureOutput();

      const unrun = (await checked.drainCheck({ remember: false }, fakeContext())) as DrainReport;
      // A Sidekiq starts under that prefix: its jobs are that application's to run.
      await heartbeat(client, leftovers, 'web:2:eeeeeeeeeeee', ['default'], { beatAt: now() });
      const run = (await checked.drainCheck({ remember: false }, fakeContext())) as DrainReport;

      out.stop();
      expect(unrun).toMatchObject({ remaining: 0, verdict: { state: 'drained' }, otherPrefixes: [{ prefix: leftovers.prefix, jobs: 3, liveProcesses: 0 }] });
      expect(run).toMatchObject({ remaining: 0, verdict: { state: 'drained' }, otherPrefixes: [{ prefix: leftovers.prefix, jobs: 3, liveProcesses: 1 }] });
      const [before, after] = emfRecords(out.records());
      expect(before!.values).toMatchObject({ [MetricNames.DrainState]: 0, [MetricNames.RemainingJobs]: 0, [MetricNames.UnrunJobs]: 3 });
      expect(after!.values).toMatchObject({ [MetricNames.DrainState]: 0, [MetricNames.RemainingJobs]: 0, [MetricNames.UnrunJobs]: 0 });
      expect(await client.llen(leftovers.queue('default'))).toBe(3);
    } finally {
      out?.stop();
      await checked.connections.close();
      client.disconnect();
      await server.stop();
    }
  });

  it("checks the one connection it is deployed with when none is given (drain-check --deployed, drainCheck.connection 'target')", async () => {
    const target = new SidekiqKeys(uniquePrefix());
    // MigrationFunctions gives the drain check function only its connection's variables.
    const checked = await coldStart({ SIDEKIQ_MIGRATE_TARGET_URL: sharedRedisUrl(), SIDEKIQ_MIGRATE_TARGET_PREFIX: target.prefix });
    try {
      await redis.lpush(target.queue('old'), queued('old', now() - 60), queued('old', now() - 30));
      out = captureOutput();

      const report = (await checked.drainCheck({ remember: false }, fakeContext())) as DrainReport;

      out.stop();
      expect(report).toMatchObject({ remaining: 2, orphans: { total: 2, queues: ['old'] }, verdict: { state: 'stuck' } });
      expect(logRecords(out.records()).find((r) => r['connection'] !== undefined)).toMatchObject({ connection: 'target' });
      expect(await redis.llen(target.queue('old'))).toBe(2);
    } finally {
      out?.stop();
      await redis.del(target.queue('old'));
      await checked.connections.close();
    }
  });

  it('stops reading a set at its share of the time when the set is too large to read in it (a slow Redis, millions of retries): counts estimated, never drained, the check ends within its time', async () => {
    // Reading every entry of a large set (up to 1,000,000 a set) took longer than the function's
    // timeout: the check failed on every run, and no metric said what was left. Time here is the
    // Redis round trips the check makes (commandClock perRoundTrip, each 500 ms): its 60 s end in
    // 120 of them, half of them for the sets, and the set's 20,000 entries take 100 ZSCAN pages of
    // 200 to read. Round trips, not commands: the server is shared with the files before this one,
    // whose keys the check's look over the keyspace reads in pipelines (a command each cost 500 ms,
    // and a pipeline of them outlasted the whole check's time in one round trip: 282 commands in CI).
    const total = 20_000;
    // Written by a script on the server: 20,000 ZADDs from here take long on a loaded machine.
    const seed = `for i = 0, tonumber(ARGV[1]) - 1 do
      redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) + i, '{"retry":true,"queue":"gone_' .. (i % 50) .. '","args":[' .. i .. ',"' .. string.rep('p', 500) .. '"],"class":"Worker' .. (i % 50) .. '","jid":"' .. string.format('%024x', i) .. '","created_at":1795459303.8459766}')
    end`;
    await redis.eval(seed, 1, keys.sortedSet('schedule'), total, now() + 3600);
    const { redis: checked } = await h.connections.get('source');
    out = captureOutput();
    const clock = commandClock([checked], 500, { perRoundTrip: true });
    let took: number;
    let report: DrainReport;
    try {
      const started = Date.now();
      report = (await h.drainCheck({ remember: false }, fakeContext(60_000))) as DrainReport;
      took = Date.now() - started;
    } finally {
      clock.stop();
    }

    out.stop();
    await redis.del(keys.sortedSet('schedule'));
    // The whole check within its 60 s: 120 round trips at the most.
    expect(took, `${clock.commands()} commands sent`).toBeLessThanOrEqual(60_000);
    // The set read up to half of it (30 s: 60 round trips at the most, ZSCANs and all before them), never to its end.
    expect(clock.sent('zscan')).toBeGreaterThan(0);
    expect(clock.sent('zscan')).toBeLessThanOrEqual(60);
    expect(report.sets.schedule).toMatchObject({ total, orphanedEstimated: true });
    // Every entry is bound for a queue nobody fetches: the estimate is the whole set.
    expect(report.sets.schedule.orphaned).toBe(total);
    expect(report.verdict.state).toBe('stuck');
    const [emf] = emfRecords(out.records());
    expect(emf!.values).toMatchObject({ [MetricNames.OrphanedJobs]: total, [MetricNames.RemainingJobs]: total, [MetricNames.DrainState]: 2 });
  });

  it('says a process not heard from for several beats (killed, its heartbeat hash not yet expired) as the CLI does: with its private list and redis-move.md step 6.1, never drained', async () => {
    const identity = 'gitlab-sidekiq-9:4343:0a1b2c3d4e5f';
    const list = keys.prefix + 'working:queue:default:gitlab-sidekiq-9:4343:99aa88bb77cc';
    // A Sidekiq 6.4 heartbeat 40 s after its last beat: `beat` that old, the hash expiring 20 s later.
    await redis.sadd(keys.processes, identity);
    await redis.hset(keys.prefix + identity, 'info', JSON.stringify({ hostname: 'gitlab-sidekiq-9', pid: 4343, concurrency: 1, queues: ['default'], identity }), 'beat', String(Date.now() / 1000 - 40), 'quiet', 'false', 'busy', '1');
    await redis.pexpire(keys.prefix + identity, 20_000);
    await redis.rpush(list, queued('default', now() - 45));
    await redis.set(`${keys.prefix}reliable-fetcher-heartbeat-gitlab-sidekiq-9-4343-99aa88bb77cc`, '1', 'EX', 20);
    out = captureOutput();

    const report = (await h.drainCheck({ remember: false }, fakeContext())) as DrainReport;

    out.stop();
    await redis.del(keys.processes, keys.prefix + identity, list);
    expect(report.verdict.state).toBe('draining');
    expect(report.notHeardFrom).toEqual([{ identity, silentSeconds: expect.any(Number), beatEverySeconds: 5, lists: [{ key: list, size: 1 }], running: 0 }]);
    const n = Math.round(report.notHeardFrom![0]!.silentSeconds);
    expect(n).toBeGreaterThanOrEqual(40);
    expect(report.verdict.reasons).toContain(
      `Sidekiq process ${identity} not heard from for ${n} s (a live Sidekiq process beats every 5 s): it may have been killed. It holds 1 job(s) in its fetcher's private list ${list}, which go back to their queue on this Redis only when a live process with the same fetcher returns them (GitLab's reliable fetcher within the hour, once this one's fetcher heartbeat has expired): see docs/runbooks/redis-move.md, step 6.1`,
    );
    expect(report.verdict.reasons.join('\n')).not.toContain('being worked on by live processes');
  });

  it("says a queue's listeners not heard from for several beats apart as the CLI does (queues[].silentListeners), and logs the jobs only they listen to", async () => {
    const identity = 'gitlab-sidekiq-8:4343:0a1b2c3d4e5f';
    // A Sidekiq 6.4 heartbeat 40 s after its last beat: `beat` that old, the hash expiring 20 s later.
    await redis.sadd(keys.processes, identity);
    await redis.hset(keys.prefix + identity, 'info', JSON.stringify({ hostname: 'gitlab-sidekiq-8', pid: 4343, concurrency: 1, queues: ['default', 'mailers'], identity }), 'beat', String(Date.now() / 1000 - 40), 'quiet', 'false', 'busy', '0');
    await redis.pexpire(keys.prefix + identity, 20_000);
    await heartbeat(redis, keys, 'web:8:aaaaaaaaaaaa', ['mailers'], { beatAt: now() });
    await redis.lpush(keys.queue('default'), queued('default', now() - 45), queued('default', now() - 30));
    await redis.lpush(keys.queue('mailers'), queued('mailers', now() - 45));
    out = captureOutput();

    const report = (await h.drainCheck({ remember: false }, fakeContext())) as DrainReport;

    out.stop();
    await redis.del(keys.processes, keys.prefix + identity, keys.prefix + 'web:8:aaaaaaaaaaaa', keys.queue('default'), keys.queue('mailers'));
    expect(report.verdict.state).toBe('draining');
    expect(report.orphans.total).toBe(0);
    const byName = Object.fromEntries(report.queues.map((q) => [q.queue, q]));
    expect(byName.default).toMatchObject({ depth: 2, listeners: 1, silentListeners: 1 });
    expect(byName.mailers).toMatchObject({ depth: 1, listeners: 2, silentListeners: 1 });
    const [line] = logRecords(out.records()).filter((r) => typeof r.message === 'string' && / is draining$/.test(r.message));
    expect(line).toMatchObject({ [MetricNames.OrphanedJobs]: 0, queuesHeardOnlyBySilent: { queues: 1, jobs: 2, silentSeconds: expect.any(Number) } });
    expect((line!.queuesHeardOnlyBySilent as { silentSeconds: number }).silentSeconds).toBeGreaterThanOrEqual(40);
  });

  it('refuses input it does not know', async () => {
    await expect(h.drainCheck({ connection: 'source', retired: ['x'] }, fakeContext())).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('unknown option(s) input.retired') });
    await expect(h.drainCheck({ previous: { remaining: 'many' } }, fakeContext())).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('input.previous.checkedAt') });
    await expect(h.drainCheck({ connection: 'elsewhere' }, fakeContext())).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('SIDEKIQ_MIGRATE_ELSEWHERE_URL') });
  });
});

/** The scope part of a remembered check's key, computed independently of the key function's prefix handling. */
function rememberedScope(retiredQueues: string[]): string {
  return rememberedCheckKey('', retiredQueues).split(':').at(-1)!;
}
