// A queue re-route's pass whose slices sent no call (nothing left to move when its task read the
// queue) ends with no record (endQueuePass-2.lua moves only a record that exists): the page
// receipts then hold no end of the pass, and rerouteQueueJobs-n4.lua's guard ("no end of this
// generation's pass") lets a stale attempt of the same task, which read the queue before a worker
// fetched its one job, write the pass's record after the pass ended: a key with no expiry that
// nothing deletes but a resume of the run (pass-record.ts; the stale attempt's moves are still
// right: the job it looks for is gone, counted vanished).
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { runLockKey } from '../../../core/redis/run-lock.js';
import { passArgs, passGuardKeys, passKey, type PassRecord } from '../../../core/reroute/pass-record.js';
import { rerouteQueueSlice } from '../../../core/reroute/queue-slice.js';
import { emptyCounters } from '../../../core/reroute/reroute-counters.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();
const script = new LuaScript('rerouteQueueJobs-n4');
const owner = { runId: 'run', plannedAt: 1000, plannedBy: 'arn' };
const plan = classRoutingPlan(new Map([['A', 'new']]));

describe('a pass that ended with no record', () => {
  it("a stale attempt's call after the pass ended writes no record (the job it read was fetched meanwhile)", async () => {
    const prefix = uniquePrefix();
    const keys = new SidekiqKeys(prefix);
    await redis.set(runLockKey(prefix), JSON.stringify({ runId: 'run', operation: 'reroute', plannedAt: 1000, plannedBy: 'arn', expiresAt: Date.now() + 60_000 }));
    const job = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' });
    await redis.lpush(`${prefix}queue:old`, job);
    // The stale attempt read the queue (its slice: the one job) and is slow to send its call.
    const cursor = { limit: 1, examined: 0, kept: 0 };
    const record: PassRecord = { calls: 1, before: cursor, after: { ...cursor, examined: 1 }, done: true, counted: emptyCounters(), slice: emptyCounters(), names: ['new'] };
    // A worker fetches the job; the task's retry finds the queue empty and ends the pass.
    await redis.rpop(`${prefix}queue:old`);
    const retry = await rerouteQueueSlice({ redis, keys, plan, queue: 'old', cursor: null, sliceSize: 100, dryRun: false, pass: owner, counted: emptyCounters() });
    expect(retry.done).toBe(true);
    // Later, still in the run (its lock held), the stale attempt's call.
    const args = ['RPUSH', '1', '1', 'new', '0', '', ...passArgs(owner, 'old', 't1', 1, record), job, job.replace('"queue":"old"', '"queue":"new"'), '1', '0'];
    const reply = await script.run(redis, { keys: [`${prefix}queue:old`, `${prefix}queues`, `${prefix}queue:new`, passKey(prefix, owner, 'old'), ...passGuardKeys(prefix, owner)], args });

    expect(reply).toEqual([1, 0]);
    expect(await redis.exists(passKey(prefix, owner, 'old'))).toBe(0);
  });
});
