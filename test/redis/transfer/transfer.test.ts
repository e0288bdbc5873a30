import { describe, expect, it } from 'vitest';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { transferSet } from '../../../core/transfer/set-transfer.js';
import { RunLock } from '../../../core/redis/run-lock.js';
import { ledgerKey } from '../../../core/transfer/transfer-keys.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { renameRoutingPlan } from '../../../core/routing/routing-plan.js';
import { keyValueSnapshot, ourKeys } from '../../support/exact-jobs.js';
import { allJobs } from '../../support/redis-snapshot.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');

function request(overrides: Partial<TransferRunRequest> = {}): TransferRunRequest {
  return {
    source: redis.source(),
    target: redis.target(),
    sourceKeys: keys,
    targetKeys: keys,
    runId: 'run-1',
    dryRun: false,
    sets: ['schedule', 'retry', 'dead'],
    queues: true,
    sliceSize: 4,
    ...overrides,
  };
}

const job = (i: number, queue = 'default', extra?: string) => sidekiqPayload({ className: 'A', queue, args: `[${i},1.0,4611686018427387905]`, extra });

describe('transferring to a new Redis', () => {
  it('moves every queue and set entry byte for byte, keeping scores, order and the queues set', async () => {
    const source = redis.source();
    const queued = Array.from({ length: 10 }, (_, i) => job(i));
    for (const p of queued) await source.lpush('queue:default', p);
    await source.sadd('queues', 'default');
    const scheduled = Array.from({ length: 9 }, (_, i) => [`${1795462903 + i}.8474274`, job(100 + i)] as const);
    for (const [score, p] of scheduled) await source.zadd('schedule', score, p);
    const dead = job(200);
    await source.zadd('dead', '1795459305.8610797', dead);
    await source.lpush('queue:backlog', 'not json at all');
    const sourceScores = await source.zrange('schedule', 0, '-1', 'WITHSCORES');

    const summary = await runTransfer(request());

    const target = redis.target();
    expect(summary.totals).toMatchObject({ claimed: 21, written: 21, duplicates: 0, unparsable: 1 });
    // Fetch order on the target is the source's order.
    expect((await target.lrange('queue:default', 0, -1)).reverse()).toEqual([...queued]);
    expect(await target.zrange('schedule', 0, '-1', 'WITHSCORES')).toEqual(sourceScores);
    expect(await target.zrange('dead', 0, '-1')).toEqual([dead]);
    expect(await target.lrange('queue:backlog', 0, -1)).toEqual(['not json at all']);
    expect((await target.smembers('queues')).sort()).toEqual(['backlog', 'default']);
    // Nothing is left on the source but its bookkeeping.
    expect((await allJobs(source, '')).filter((j) => !j.key.endsWith('queues'))).toEqual([]);
    expect(await ourKeys(source)).toEqual([]);
  });

  it('puts moved jobs ahead of what producers already wrote to the target, or behind it with append', async () => {
    const source = redis.source();
    const old = Array.from({ length: 7 }, (_, i) => job(i));
    for (const p of old) await source.lpush('queue:default', p);
    const fresh = [job(100), job(101)];
    for (const p of fresh) await redis.target().lpush('queue:default', p);

    await runTransfer(request({ queues: ['default'], sets: [], sliceSize: 3 }));
    const front = (await redis.target().lrange('queue:default', 0, -1)).reverse();

    expect(front).toEqual([...old, ...fresh]);

    await redis.target().flushall();
    for (const p of old) await source.lpush('queue:default', p);
    for (const p of fresh) await redis.target().lpush('queue:default', p);
    await runTransfer(request({ queues: ['default'], sets: [], sliceSize: 3, placement: 'append', runId: 'run-2' }));

    expect((await redis.target().lrange('queue:default', 0, -1)).reverse()).toEqual([...fresh, ...old]);
  });

  it('claims the entries due soonest first', async () => {
    const source = redis.source();
    const entries = Array.from({ length: 10 }, (_, i) => ({ score: String(1000 - i), payload: job(i) }));
    for (const e of entries) await source.zadd('retry', e.score, e.payload);

    const { onPage: _unused, ...context } = request();
    const first = await transferSet({ ...context, set: 'retry', sliceSize: 3, maxPages: 1 });

    expect(first.done).toBe(false);
    // The first slice took the three lowest scores, and they kept them.
    expect(await redis.target().zrange('retry', 0, '-1', 'WITHSCORES')).toEqual([entries[9]!.payload, '991', entries[8]!.payload, '992', entries[7]!.payload, '993']);
    expect(await source.zcard('retry')).toBe(7);
  });

  it('carries payloads that are not valid UTF-8 byte for byte', async () => {
    const latin1 = Buffer.from([0x7b, 0x22, 0x63, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]); // {"c":"\xe9"}
    await redis.source().lpush('queue:default', latin1);
    await redis.source().zadd('retry', '12.5', latin1);

    await runTransfer(request());

    expect(await redis.target().lrangeBuffer('queue:default', 0, -1)).toEqual([latin1]);
    expect(await redis.target().zrangeBuffer('retry', 0, '-1')).toEqual([latin1]);
  });

  it('re-routes on the way when asked (renames)', async () => {
    const queued = job(1, 'old');
    const scheduled = job(2, 'old');
    await redis.source().lpush('queue:old', queued);
    await redis.source().zadd('schedule', '5', scheduled);

    const summary = await runTransfer(request({ plan: renameRoutingPlan(new Map([['old', 'new']])) }));

    expect(summary.totals.rerouted).toBe(2);
    expect(await redis.target().lrange('queue:new', 0, -1)).toEqual([queued.replace('"queue":"old"', '"queue":"new"')]);
    expect(await redis.target().zrange('schedule', 0, '-1')).toEqual([scheduled.replace('"queue":"old"', '"queue":"new"')]);
    expect(await redis.target().smembers('queues')).toEqual(['new']);
  });

  it('uses each side\'s own key prefix', async () => {
    await redis.source().lpush('resque:gitlab:queue:default', job(1));
    await redis.source().zadd('resque:gitlab:retry', '1', job(2));

    await runTransfer(request({ sourceKeys: new SidekiqKeys('resque:gitlab:'), targetKeys: new SidekiqKeys('') }));

    expect(await redis.target().llen('queue:default')).toBe(1);
    expect(await redis.target().zcard('retry')).toBe(1);
    expect(await redis.source().exists('resque:gitlab:queue:default', 'resque:gitlab:retry')).toBe(0);
  });

  it('a dry run counts and writes nothing on either side', async () => {
    for (let i = 0; i < 5; i++) await redis.source().lpush('queue:default', job(i));
    await redis.source().zadd('schedule', '1', job(9));
    const before = [await keyValueSnapshot(redis.source(), ''), await keyValueSnapshot(redis.target(), '')];

    const summary = await runTransfer(request({ dryRun: true, sliceSize: 2 }));

    expect(summary.totals).toMatchObject({ claimed: 6, written: 6 });
    expect([await keyValueSnapshot(redis.source(), ''), await keyValueSnapshot(redis.target(), '')]).toEqual(before);
  });

  it('refuses to start while another run holds the lock on either side, naming it', async () => {
    await redis.source().lpush('queue:default', job(1));
    await RunLock.acquire(redis.target(), '', { runId: 'other-run', operation: 'reroute' }, 30_000, 'target');

    await expect(runTransfer(request())).rejects.toThrow(/target .*locked by run other-run \(reroute/);
    expect(await redis.source().llen('queue:default')).toBe(1);
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
  });

  it('names the end whose lock another run holds; a dry run takes no lock, and is not refused by one', async () => {
    await redis.source().lpush('queue:default', job(1));
    await RunLock.acquire(redis.source(), '', { runId: 'other-run', operation: 'reroute' }, 30_000, 'source');

    await expect(runTransfer(request({ sourceName: 'redis://s', targetName: 'redis://t' }))).rejects.toThrow(/^source redis:\/\/s is locked by run other-run \(reroute/);
    const dry = await runTransfer(request({ dryRun: true }));
    expect(dry.totals).toMatchObject({ claimed: 1 });
    await RunLock.releaseIfHeld(redis.source(), '', 'other-run');
    await RunLock.acquire(redis.target(), '', { runId: 'other-run', operation: 'reroute' }, 30_000, 'target');
    await expect(runTransfer(request({ sourceName: 'redis://s', targetName: 'redis://t' }))).rejects.toThrow(/^target redis:\/\/t is locked by run other-run \(reroute/);
    await expect(runTransfer(request())).rejects.toThrow(/^target is locked by run other-run \(reroute/);
  });

  it("retires the run's ledgers of every set and queue it moved at its end (a TTL), and leaves those of a dry run alone", async () => {
    for (let i = 0; i < 3; i++) await redis.source().lpush('queue:default', job(i));
    await redis.source().zadd('schedule', '1', job(9));

    await runTransfer(request({ ledgerTtlSeconds: 600 }));

    for (const sourceKey of ['queue:default', 'schedule']) {
      const ttl = await redis.target().ttl(ledgerKey('', 'run-1', sourceKey));
      expect(ttl, sourceKey).toBeGreaterThan(590);
      expect(ttl, sourceKey).toBeLessThanOrEqual(600);
    }
  });

  it('keeps the rate limit on average', async () => {
    for (let i = 0; i < 40; i++) await redis.source().lpush('queue:default', job(i));
    const started = Date.now();

    await runTransfer(request({ sets: [], sliceSize: 10, rateLimit: 100 }));

    // 40 jobs at 100 jobs/s: the last slice may not start before ~400 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
  });
});
