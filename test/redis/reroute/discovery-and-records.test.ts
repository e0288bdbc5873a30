// Queue discovery page by page, a run's options (queues off, onPage), and the records a run keeps
// (moves, rewritten entries), on real Redis with exact names and values.
import { describe, expect, it } from 'vitest';
import { discoverQueues, discoverQueuesPage } from '../../../core/reroute/discover-queues.js';
import { encodeMove, movesKey, readMoves } from '../../../core/reroute/move-record.js';
import { planReroute } from '../../../core/reroute/plan-reroute.js';
import { rewrittenEntriesKey } from '../../../core/reroute/rewritten-entries.js';
import { runReroute } from '../../../core/reroute/run-reroute.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { expectExactJobs, jobEntry, withQueue } from '../../support/exact-jobs.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();
const plan = classRoutingPlan(new Map([['A', 'new']]));

describe('queue discovery', () => {
  it('pages through SCAN with a small COUNT: done exactly on the last page, every queue once, skipped keys named', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const names = Array.from({ length: 12 }, (_, i) => `q${i}`);
    for (const name of names) await redis.lpush(keys.queue(name), 'x');
    await redis.lpush(keys.queue('sq|host:1:abc|q0'), 'x');
    await redis.set(keys.queue('plain'), 'x');

    const found = new Set<string>();
    const skipped: string[] = [];
    let page = await discoverQueuesPage(redis, keys, '0', 1);
    let pages = 1;
    for (;;) {
      page.queues.forEach((q) => found.add(q));
      skipped.push(...page.skipped.map((s) => `${s.key} ${s.reason}`));
      expect(page.done).toBe(page.cursor === '0');
      if (page.done) break;
      page = await discoverQueuesPage(redis, keys, page.cursor, 1);
      pages++;
    }
    const whole = await discoverQueues(redis, keys, 1);

    expect(pages).toBeGreaterThan(1);
    expect([...found].sort()).toEqual([...names].sort());
    expect([...new Set(skipped)].sort()).toEqual([
      `${keys.prefix}queue:plain not a list but a string`,
      `${keys.prefix}queue:sq|host:1:abc|q0 private in-flight list of Sidekiq Pro super_fetch`,
    ]);
    expect(whole.queues).toEqual([...names].sort());
    expect(whole.skipped.map((s) => s.key).sort()).toEqual([`${keys.prefix}queue:plain`, `${keys.prefix}queue:sq|host:1:abc|q0`]);
  });

  it('takes glob characters in the prefix literally', async () => {
    const base = uniquePrefix();
    const keys = new SidekiqKeys(`${base}a*[b]?\\:`);
    await redis.lpush(keys.queue('mine'), 'x');
    await redis.lpush(`${base}aXXbY\\:queue:theirs`, 'x');
    await redis.lpush(`${base}a*[b]?:queue:theirs_too`, 'x');

    const { queues } = await discoverQueues(redis, keys);

    expect(queues).toEqual(['mine']);
  });

  it('does not report a key that is deleted between SCAN and TYPE', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await redis.lpush(keys.queue('gone'), 'x');
    await redis.lpush(keys.queue('stays'), 'x');
    const client = interferingRedis(redis, async (call) => {
      if (call.command === 'pipeline') await redis.del(keys.queue('gone'));
    });

    const found = await discoverQueues(client, keys);

    expect(found).toEqual({ queues: ['stays'], skipped: [] });
  });

  it('says what it was scanning when Redis fails', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const client = interferingRedis(redis, () => {
      throw new Error('ERR something broke');
    });

    await expect(discoverQueues(client, keys)).rejects.toThrow(`Scanning ${keys.prefix}queue:* for queues: ERR something broke`);
  });
});

describe("a run's options", () => {
  it('with queues off, re-routes the sets only and leaves every queue as it is; onPage names each key', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const queued = sidekiqPayload({ className: 'A', queue: 'old' });
    const retried = sidekiqPayload({ className: 'A', queue: 'old' });
    await redis.lpush(keys.queue('old'), queued);
    await redis.zadd(keys.sortedSet('retry'), '5', retried);
    const seen: string[] = [];

    const setsOnly = await runReroute({ redis, keys, plan, dryRun: false, sets: ['retry', 'dead'], queues: false, pageSize: 10, onPage: (key, page) => seen.push(`${key} ${String(page.done)}`) });

    expect(setsOnly.queues).toEqual({});
    expect(setsOnly.totals).toMatchObject({ scanned: 1, moved: 1 });
    expect(seen).toEqual(['retry true', 'dead true']);
    await expectExactJobs(redis, keys.prefix, [jobEntry(String(keys.queue('old')), queued), jobEntry(String(keys.sortedSet('retry')), withQueue(retried, 'old', 'new'), 5)]);

    const all = await runReroute({ redis, keys, plan, dryRun: false, sets: [], queues: true, pageSize: 10, onPage: (key, page) => seen.push(`${key} ${String(page.done)}`) });

    expect(all.totals).toMatchObject({ scanned: 1, moved: 1 });
    expect(seen.slice(2)).toEqual(['old true']);
  });

  it('a plan with queues off reports no queue at all', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    await redis.lpush(keys.queue('old'), sidekiqPayload({ className: 'A', queue: 'old' }));
    await redis.lpush(keys.queue('new'), sidekiqPayload({ className: 'A', queue: 'new' }));
    await redis.set(keys.queue('plain'), 'x');

    const planned = await planReroute({ redis, keys, plan, sets: ['retry'], queues: false, pageSize: 10 });

    expect(planned).toMatchObject({ queues: {}, untouchedQueues: [], skippedKeys: [] });
    expect(planned.totals.scanned).toBe(0);
  });
});

describe('the records a run keeps', () => {
  it("reads a run's moves sorted, and refuses a member it did not write, naming it", async () => {
    const prefix = uniquePrefix();
    const key = movesKey(prefix, 'r1');
    const moves = [
      { routedClass: 'B', from: 'b', to: 'x' },
      { routedClass: 'A', from: null, to: 'y' },
      { routedClass: 'A', from: 'a', to: 'x' },
    ];
    await redis.sadd(key, ...moves.map(encodeMove));

    const read = await readMoves(redis, prefix, 'r1');
    const bad = `not a move ${'x'.repeat(90)}`;
    await redis.sadd(key, bad);

    expect(key).toBe(`${prefix}sidekiq-migrate:r1:moves`);
    expect(read).toEqual([moves[2], moves[1], moves[0]]);
    await expect(readMoves(redis, prefix, 'r1')).rejects.toThrow(`${key} holds ${JSON.stringify(bad.slice(0, 80))}, which is not a move this tool records; not rolling back from it.`);
    expect(await readMoves(redis, prefix, 'r2')).toBeNull();
  });

  it('names the record of rewritten entries under the run, per set', () => {
    expect(rewrittenEntriesKey('p:', 'r1', 'retry')).toBe('p:sidekiq-migrate:r1:rewritten:retry');
  });
});
