import { describe, expect, it } from 'vitest';
import { runReroute } from '../../../core/reroute/run-reroute.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';

// A set entry's score can change while it stays the same member: Sidekiq's API reschedules an
// entry with ZINCRBY (SortedEntry#reschedule, `conn.zincrby(name, at.to_f - score, payload)`), a
// producer ZADDs the same bytes again with a new time. The re-route reads a page (ZSCAN) and moves
// its entries in Lua calls after: one that changed its score in between must keep the new score.
// It got the score ZSCAN had returned, so the job ran at the time it had been moved away from.
const redis = connectShared();
const plan = classRoutingPlan(new Map([['A', 'new']]));
const NOW = 1_795_459_303;
const LATER = 3600;

const rewrite = (payload: string) => payload.replace('"queue":"old"', '"queue":"new"');

describe('re-routing a set entry rescheduled after the page was read', () => {
  it('keeps the score it has when it moves, not the one the scan saw (moved, and given back as a conflict)', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const set = keys.sortedSet('schedule');
    const entries = Array.from({ length: 12 }, (_, i) => ({ payload: sidekiqPayload({ className: 'A', queue: 'old', jid: newJid() }), score: NOW + i }));
    // One entry conflicts: its rewrite is in the set already (the same job, routed before).
    const conflicted = entries[0]!;
    const routedTwin = { payload: rewrite(conflicted.payload), score: NOW - 100 };
    for (const e of [...entries, routedTwin]) await redis.zadd(set, String(e.score), e.payload);

    let rescheduled = false;
    const meddling = interferingRedis(redis, async (call) => {
      // After the scan, before the page's Lua calls: every original is rescheduled an hour on.
      if (!rescheduled && call.scripts.length > 0) {
        rescheduled = true;
        for (const e of entries) await redis.zincrby(set, LATER, e.payload);
      }
    });

    const summary = await runReroute({ redis: meddling, keys, plan, dryRun: false, sets: ['schedule'], queues: false, pageSize: 50 });

    expect(rescheduled).toBe(true);
    expect(summary.totals.moved).toBe(11);
    expect(summary.totals.conflicts).toBe(1);
    const after = await redis.zrange(set, '0', '-1', 'WITHSCORES');
    const scores = new Map<string, string>();
    for (let i = 0; i < after.length; i += 2) scores.set(after[i]!, after[i + 1]!);
    const expected = new Map<string, string>([[routedTwin.payload, String(routedTwin.score)]]);
    expected.set(conflicted.payload, String(conflicted.score + LATER));
    for (const e of entries.slice(1)) expected.set(rewrite(e.payload), String(e.score + LATER));
    expect(scores).toEqual(expected);
  });
});
