// A set page's claim on the source as Redis counts it (issue #18): a slice of MAX_JOBS_PER_CLAIM
// entries goes out as calls of MAX_JOBS_PER_CLAIM_CALL, and every call after the first finds the
// earlier calls' entries in flight. Whether each entry of its page is in flight already is asked
// with one ZMSCORE a page (claimSetEntries-16.lua), not a ZSCORE per entry: Redis ran one more
// redis.call for every entry claimed, on the server every Sidekiq client waits on. Same outcome:
// every entry moved once, with its score.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MAX_JOBS_PER_CLAIM, MAX_JOBS_PER_CLAIM_CALL } from '../../../core/transfer/transfer-options.js';
import { pageStep } from '../../../core/workflow/steps/page-step.js';
import { planStep } from '../../../core/workflow/steps/plan-step.js';
import { jobsIn } from '../../support/exact-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { connectionsPerTest } from '../../support/test-connections.js';
import { seedQueueAndSchedule } from '../../support/seed-queue-and-schedule.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);
const ENTRIES = 2 * MAX_JOBS_PER_CLAIM + 57;

/** How many times Redis ran `command` since the last CONFIG RESETSTAT (from scripts too). */
async function calls(client: Redis, command: string): Promise<number> {
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await client.info('commandstats'))?.[1] ?? 0);
}

describe("a set page's claim on the source", () => {
  it(`asks which entries are in flight once a claim call's page, not once an entry: ${ENTRIES} schedule entries moved in slices of ${MAX_JOBS_PER_CLAIM} (calls of ${MAX_JOBS_PER_CLAIM_CALL}), no ZSCORE, each entry once with its score`, async () => {
    const seeded = await seedQueueAndSchedule(redis.source(), ENTRIES);
    const planned = await planStep({ runId: 'run-1', mode: 'transfer', target: 'target', sets: ['schedule'], pageSize: MAX_JOBS_PER_CLAIM }, connect());
    const item = planned.work.batch.find((i) => i.kind === 'set')!;
    await redis.source().config('RESETSTAT');

    const after = await pageStep({ settings: planned.settings, item }, connect(), { deadline: Date.now() + 600_000 });

    expect(after).toMatchObject({ done: true, counters: { claimed: ENTRIES, written: ENTRIES } });
    // Each slice's claim calls: 20 a full slice of 1,000, 2 for the last 57.
    const claimCalls = Math.floor(ENTRIES / MAX_JOBS_PER_CLAIM) * Math.ceil(MAX_JOBS_PER_CLAIM / MAX_JOBS_PER_CLAIM_CALL) + Math.ceil((ENTRIES % MAX_JOBS_PER_CLAIM) / MAX_JOBS_PER_CLAIM_CALL);
    expect(await calls(redis.source(), 'evalsha')).toBeGreaterThanOrEqual(claimCalls);
    expect(await calls(redis.source(), 'zscore')).toBe(0);
    // One ZMSCORE for each call that found entries in flight (all but each slice's first).
    expect(await calls(redis.source(), 'zmscore')).toBeGreaterThan(0);
    expect(await calls(redis.source(), 'zmscore')).toBeLessThanOrEqual(claimCalls);
    const moved = seeded.filter((e) => e.startsWith('schedule'));
    expect(await jobsIn(redis.target())).toEqual(moved);
    expect(await jobsIn(redis.source())).toEqual(seeded.filter((e) => !moved.includes(e)));
    expect(await redis.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
  });
});
