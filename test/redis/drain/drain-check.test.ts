import { drainExitCode } from '../../../cli/commands/drain-check-command.js';
import type { DrainReport } from '../../../core/drain/drain-report.js';
import { describe, expect, it } from 'vitest';
import { drainCheck } from '../../../core/drain/drain-check.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { inflightKey } from '../../../core/transfer/transfer-keys.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { keyValueSnapshot } from '../../support/exact-jobs.js';
import { heartbeat } from '../../support/sidekiq-heartbeat.js';
import { floatSeconds, sidekiqPayload } from '../../support/sidekiq-jobs.js';

/** The exit code of the checked prefix alone: this shared server holds other tests' prefixes, whose jobs nobody runs. */
const ownExitCode = (report: DrainReport) => drainExitCode({ ...report, otherPrefixes: [] });

const redis = connectShared();
const NOW = 1_795_459_303; // seconds
const at = (seconds: number) => () => seconds * 1000;

/** A queued job; `enqueuedAt` in seconds is written as Ruby writes a Float (`1795459303.0`), a string as is. */
const queued = (queue: string, enqueuedAt: number | string) =>
  sidekiqPayload({ className: 'A', queue, extra: `"enqueued_at":${typeof enqueuedAt === 'number' ? floatSeconds(enqueuedAt) : enqueuedAt}` });

/**
 * The reasons about this test's prefix: the shared test server holds other tests' prefixes, which
 * a check names in a reason of its own (see 'names jobs under other prefixes' in cli-namespace-move).
 */
const ownReasons = (reasons: readonly string[]) => reasons.filter((r) => !r.startsWith('jobs under another prefix of this Redis'));

describe('the drain check', () => {
  it('reports depth, oldest age and live listeners per queue, with Sidekiq 6 seconds and Sidekiq 8 milliseconds', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await redis.lpush(keys.queue('default'), queued('default', `${NOW - 120}.5`), queued('default', `${NOW - 10}.25`));
    await redis.lpush(keys.queue('v8'), queued('v8', String((NOW - 300) * 1000)) /* Sidekiq 8: integer milliseconds */);
    await heartbeat(redis, keys, 'web:1:aaaaaaaaaaaa', ['default', 'v8'], { beatAt: NOW - 3 });

    const report = await drainCheck(redis, keys, { now: at(NOW) });

    expect(report.queues).toEqual([
      { queue: 'default', depth: 2, oldestAgeSeconds: 119.5, listeners: 1 },
      { queue: 'v8', depth: 1, oldestAgeSeconds: 300, listeners: 1 },
    ]);
    expect(report.processes).toEqual({ live: 1, quiet: 0, stale: 0 });
    expect(report.orphans.total).toBe(0);
  });

  it('does not count stale, vanished or quiet processes as listeners', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await redis.lpush(keys.queue('a'), queued('a', NOW));
    await redis.lpush(keys.queue('b'), queued('b', NOW));
    await redis.lpush(keys.queue('c'), queued('c', NOW));
    await redis.lpush(keys.queue('d'), queued('d', NOW));
    await heartbeat(redis, keys, 'h:1:stale0000000', ['a'], { beatAt: NOW - 90, stale: true });
    await redis.sadd(keys.processes, 'h:2:gone00000000'); // stopped: hash expired, member left behind
    await heartbeat(redis, keys, 'h:3:quiet0000000', ['c'], { beatAt: NOW - 1, quiet: true });
    await heartbeat(redis, keys, 'h:4:ms0000000000', ['d'], { beatAt: NOW - 2, millis: true });

    const report = await drainCheck(redis, keys, { now: at(NOW) });

    expect(report.queues.map((q) => [q.queue, q.listeners])).toEqual([['a', 0], ['b', 0], ['c', 0], ['d', 1]]);
    expect(report.processes).toEqual({ live: 1, quiet: 1, stale: 2 });
    expect(report.orphans).toMatchObject({ queued: 3, queues: ['a', 'b', 'c'] });
    expect(report.verdict.state).toBe('stuck');
    expect(report.verdict.reasons[0]).toMatch(/3 job\(s\) will never run .*queues nobody listens to: a, b, c/);
  });

  it('counts set entries due within the hour and those that will land where nobody listens', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: NOW });
    await redis.zadd(keys.sortedSet('schedule'), String(NOW - 5), sidekiqPayload({ className: 'A', queue: 'default' }));
    await redis.zadd(keys.sortedSet('schedule'), String(NOW + 600), sidekiqPayload({ className: 'A', queue: 'old' }));
    await redis.zadd(keys.sortedSet('schedule'), String(NOW + 7200), sidekiqPayload({ className: 'A', queue: 'default' }));
    await redis.zadd(keys.sortedSet('retry'), String(NOW + 10), sidekiqPayload({ className: 'A', queue: null }));
    await redis.zadd(keys.sortedSet('dead'), String(NOW - 100), sidekiqPayload({ className: 'A', queue: 'old' }));

    const report = await drainCheck(redis, keys, { now: at(NOW) });

    expect(report.sets.schedule).toEqual({ total: 3, dueNow: 1, dueWithinHour: 2, lastDueAt: NOW + 7200, orphaned: 1, toRetiredQueues: 0, orphanedEstimated: false });
    // A retry without a queue field goes to "default", which is listened to.
    expect(report.sets.retry).toMatchObject({ total: 1, orphaned: 0 });
    expect(report.sets.dead).toMatchObject({ total: 1, dueNow: 0, dueWithinHour: 0, orphaned: 1 });
    expect(report.orphans).toMatchObject({ scheduled: 1, total: 1 });
  });

  it('counts every set entry; only beyond the count limit does it estimate, and then never says drained', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const pipeline = redis.pipeline();
    for (let i = 0; i < 3000; i++) pipeline.zadd(keys.sortedSet('retry'), String(NOW + i), sidekiqPayload({ className: 'A', queue: i % 4 === 0 ? 'old' : 'new', args: `[${i}]` }));
    await pipeline.exec();
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['new'], { beatAt: NOW });

    const counted = await drainCheck(redis, keys, { now: at(NOW), retiredQueues: ['old'] });
    const estimated = await drainCheck(redis, keys, { now: at(NOW), retiredQueues: ['gone'], countLimit: 500 });

    expect(counted.sets.retry).toMatchObject({ total: 3000, orphaned: 750, toRetiredQueues: 750, orphanedEstimated: false });
    expect(estimated.sets.retry).toMatchObject({ total: 3000, toRetiredQueues: 0, orphanedEstimated: true });
    // Nothing names the retired queue in what was read, yet the rest was not read: not drained.
    expect(estimated.remaining).toBe(0);
    expect(estimated.verdict.state).toBe('draining');
    expect(estimated.verdict.reasons.join('\n')).toContain('retry holds 3000 entries, more than a check counts');
    // The CLI's exit code: 3 for jobs nobody will run (750 for `old`, which nobody fetches); once
    // someone does, never 0 on an estimate.
    expect(ownExitCode(counted)).toBe(3);
    await heartbeat(redis, keys, 'w:2:bbbbbbbbbbbb', ['old'], { beatAt: NOW });
    const listened = await drainCheck(redis, keys, { now: at(NOW), retiredQueues: ['gone'], countLimit: 500 });
    expect(listened.orphans.total).toBe(0);
    expect(ownExitCode(listened)).toBe(1);
    expect(ownExitCode(await drainCheck(redis, keys, { now: at(NOW), retiredQueues: ['gone'] }))).toBe(0);
  });

  it('reports in-flight leftovers of interrupted transfers as stuck work', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await redis.rpush(inflightKey(keys.prefix, 'crashed-run', 'queue:default'), 'a', 'b');

    const report = await drainCheck(redis, keys, { now: at(NOW) });

    expect(report.inflight).toEqual([expect.objectContaining({ runId: 'crashed-run', sourceKey: 'queue:default', type: 'list', size: 2 })]);
    expect(report.remaining).toBe(2);
    expect({ ...report.verdict, reasons: ownReasons(report.verdict.reasons) }).toMatchObject({ state: 'stuck', reasons: [expect.stringMatching(/2 job\(s\) are in flight .*crashed-run.*run the transfer again/)] });
  });

  it('says drained when nothing is left, naming dead jobs that remain', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await redis.zadd(keys.sortedSet('dead'), '1', sidekiqPayload({ className: 'A' }));

    const report = await drainCheck(redis, keys, { now: at(NOW) });

    expect({ ...report.verdict, reasons: ownReasons(report.verdict.reasons) }).toEqual({ state: 'drained', reasons: ['1 dead job(s) remain; they never run unless retried: transfer them or accept losing them'] });
  });

  it('never says drained over a job a Sidekiq poller moved from a set to a queue it had already read', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const job = queued('default', NOW - 5);
    await redis.zadd(keys.sortedSet('schedule'), String(NOW - 1), job);
    await redis.sadd(keys.queues, 'default');
    await heartbeat(redis, keys, 'web:1:aaaaaaaaaaaa', ['default'], { beatAt: NOW - 3 });
    // Once the queues are read, before the sets are: the poller (Sidekiq 7's, one atomic script) enqueues the due job.
    let moved = false;
    const polled = interferingRedis(redis, async (call) => {
      if (moved || call.command !== 'zcard') return;
      moved = true;
      await redis.multi().zrem(keys.sortedSet('schedule'), job).lpush(keys.queue('default'), job).exec();
    });

    const report = await drainCheck(polled, keys, { now: at(NOW) });

    expect(moved).toBe(true);
    expect(await redis.llen(keys.queue('default'))).toBe(1);
    expect(report.verdict.state).not.toBe('drained');
    expect(ownReasons(report.verdict.reasons)).toEqual([
      'jobs moved between the keys this check read while it read them (a Sidekiq poller, fetcher or worker at work): 1 job(s) found in one atomic look at them afterwards; check again',
    ]);
    expect(report.remaining).toBe(1);
  });

  it('never says drained over a job moved meanwhile to a queue it never listed, nor (retired queues) to a retired queue it had read', async () => {
    for (const [queue, retiredQueues] of [['fresh', undefined], ['old', ['old']]] as const) {
      const keys = new SidekiqKeys(uniquePrefix());
      const job = queued(queue, NOW - 5);
      await redis.zadd(keys.sortedSet('schedule'), String(NOW - 1), job);
      await heartbeat(redis, keys, 'web:1:aaaaaaaaaaaa', ['default'], { beatAt: NOW - 3 });
      // Sidekiq's push: the queue joins `queues` with its first job.
      let moved = false;
      const polled = interferingRedis(redis, async (call) => {
        if (moved || call.command !== 'zcard') return;
        moved = true;
        await redis.multi().zrem(keys.sortedSet('schedule'), job).sadd(keys.queues, queue).lpush(keys.queue(queue), job).exec();
      });

      const report = await drainCheck(polled, keys, { now: at(NOW), ...(retiredQueues ? { retiredQueues } : {}) });

      expect(moved).toBe(true);
      expect(report.verdict.state, queue).not.toBe('drained');
      expect(report.movedDuringCheck, queue).toBe(1);
    }
  });

  it('a user whose ACL refuses MULTI looks again in one pipeline, and never says drained over the moved job either', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const user = `no-multi-${keys.prefix.replace(/\W/g, '')}`;
    await redis.acl('SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-multi');
    const limited = redis.duplicate({ username: user, password: 'pw' });
    try {
      const job = queued('default', NOW - 5);
      await redis.zadd(keys.sortedSet('schedule'), String(NOW - 1), job);
      await redis.sadd(keys.queues, 'default');
      let moved = false;
      const polled = interferingRedis(limited, async (call) => {
        if (moved || call.command !== 'zcard') return;
        moved = true;
        await redis.multi().zrem(keys.sortedSet('schedule'), job).lpush(keys.queue('default'), job).exec();
      });

      const report = await drainCheck(polled, keys, { now: at(NOW) });

      expect(moved).toBe(true);
      expect(report.verdict.state).not.toBe('drained');
      expect(report.movedDuringCheck).toBe(1);
    } finally {
      limited.disconnect();
      await redis.acl('DELUSER', user);
    }
  });

  it('with a previous check: draining at a rate with an estimate, or stuck without progress', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: NOW });
    for (let i = 0; i < 100; i++) await redis.lpush(keys.queue('default'), queued('default', NOW - 10));
    const first = await drainCheck(redis, keys, { now: at(NOW) });
    await redis.ltrim(keys.queue('default'), 0, 39); // 60 jobs ran in the next 60 s
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: NOW + 60 });

    const second = await drainCheck(redis, keys, { now: at(NOW + 60), previous: first });
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: NOW + 120 });
    const third = await drainCheck(redis, keys, { now: at(NOW + 120), previous: second });

    expect(first.verdict.state).toBe('draining');
    expect(second.verdict).toMatchObject({ state: 'draining', ratePerSecond: 1, etaSeconds: 40 });
    expect(third.verdict.state).toBe('stuck');
    expect(third.verdict.reasons).toContain('no progress since the previous check, 60 s ago: 40 → 40 job(s) ready to run');
  });

  it('future entries are not "no progress": it is draining until the last one is due', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: NOW });
    await redis.zadd(keys.sortedSet('retry'), String(NOW + 86_400), sidekiqPayload({ className: 'A', queue: 'default' }));
    const first = await drainCheck(redis, keys, { now: at(NOW) });
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: NOW + 60 });

    const second = await drainCheck(redis, keys, { now: at(NOW + 60), previous: first });

    expect(second.verdict.state).toBe('draining');
    expect(second.verdict.etaSeconds).toBe(86_340);
    expect(second.verdict.reasons[0]).toMatch(/1 scheduled or retrying job\(s\) come due later, the last in 24.0 h/);
  });

  it('routing-rule case: reports jobs still arriving on retired queues, and ignores busy destinations', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['old', 'new'], { beatAt: NOW });
    await redis.lpush(keys.queue('old'), queued('old', NOW - 30));
    for (let i = 0; i < 10; i++) await redis.lpush(keys.queue('new'), queued('new', NOW - 1));
    const first = await drainCheck(redis, keys, { now: at(NOW), retiredQueues: ['old'] });
    // A node with stale rules pushes two more jobs to `old`; `new` stays busy at the same depth.
    await redis.lpush(keys.queue('old'), queued('old', NOW + 10), queued('old', NOW + 20));
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['old', 'new'], { beatAt: NOW + 60 });

    const second = await drainCheck(redis, keys, { now: at(NOW + 60), previous: first, retiredQueues: ['old'] });

    expect(second.queues.find((q) => q.queue === 'old')).toMatchObject({ depth: 3, arrivedSinceLastCheck: 2 });
    expect(second.queues.find((q) => q.queue === 'new')).not.toHaveProperty('arrivedSinceLastCheck');
    expect(second.remaining).toBe(3);
    expect(second.verdict.state).toBe('stuck');
    expect(second.verdict.reasons).toContain('jobs still arrive on retired queues (old: 2): a node still uses the old routing rules, or a sidekiq-cron definition still names the queue');
  });

  it('writes nothing', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await redis.lpush(keys.queue('default'), queued('default', NOW));
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: NOW, beating: false });
    await redis.zadd(keys.sortedSet('retry'), '1795459303.5', queued('default', NOW));
    const before = await keyValueSnapshot(redis, keys.prefix);
    expect(Object.keys(before).length).toBeGreaterThan(3);

    await drainCheck(redis, keys, { now: at(NOW) });

    // Every key's value (bytes, order, scores, hash fields) and expiry, not just the key names.
    expect(await keyValueSnapshot(redis, keys.prefix)).toEqual(before);
  });
});
