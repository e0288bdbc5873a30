import { describe, expect, it } from 'vitest';
import { runReroute } from '../../../core/reroute/run-reroute.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { privateRedis } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

// A set page's Lua call (rerouteSetEntries-n6.lua) moves each entry with the score the set holds
// when it runs (ZMSCORE in the call). -n4 was also given each entry's score as the page read it,
// checked and never used: an argument and a guard per entry of Redis's work (issue #18,
// bench/README audit-rrcpu). The call now carries four arguments an entry and no score.
const server = privateRedis(); // its own redis-server, flushed before each test
const NOW = 1_795_459_303;

describe("a set page's Lua call", () => {
  it('carries each entry as original, rewrite, digest and move index, no score; every entry moves with its own score', async () => {
    const redis = server.client();
    const keys = new SidekiqKeys('');
    const entries = Array.from({ length: 3 }, (_, i) => ({ payload: sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, jid: String(i).padStart(24, '0') }), score: `${NOW + i}.${[5, 25, 75][i]}` }));
    for (const e of entries) await redis.zadd('schedule', e.score, e.payload);
    // The scores as the page reads them (Redis's text of each double): none goes into the call.
    const read = await redis.zrange('schedule', '0', '-1', 'WITHSCORES');
    expect(read.filter((_, i) => i % 2 === 1)).toEqual(entries.map((e) => e.score));
    await redis.config('SET', 'slowlog-log-slower-than', '0');
    await redis.slowlog('RESET');

    const summary = await runReroute({ redis, keys, plan: classRoutingPlan(new Map([['A', 'new']])), dryRun: false, sets: ['schedule'], queues: false, pageSize: 50 });
    await redis.config('SET', 'slowlog-log-slower-than', '10000');

    expect(summary.totals.moved).toBe(3);
    const logged = (await redis.slowlog('GET', '1000')) as [number, number, number, string[]][];
    const calls = logged.map((entry) => entry[3]).filter((args) => String(args[0]).toUpperCase() === 'EVALSHA');
    // One call, sent twice when the server did not know the script yet (NOSCRIPT, then again).
    expect(calls.length).toBeGreaterThan(0);
    expect(new Set(calls.map((args) => JSON.stringify(args))).size).toBe(1);
    const [, , numkeys, ...rest] = calls[0]!;
    const argv = rest.slice(Number(numkeys));
    // Runs without an id record no moves: '0', '' and then the entries, four arguments each.
    expect(argv.slice(0, 2)).toEqual(['0', '']);
    expect(argv.length - 2).toBe(4 * entries.length);
    for (const e of entries) expect(argv).not.toContain(e.score);
    const after = await redis.zrange('schedule', '0', '-1', 'WITHSCORES');
    expect(after).toEqual(entries.flatMap((e) => [e.payload.replace('"queue":"old"', '"queue":"new"'), e.score]));
  });
});
