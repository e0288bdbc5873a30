import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { reverseRoutingPlan } from '../../core/routing/reverse-plan.js';
import { renameRoutingPlan } from '../../core/routing/routing-plan.js';
import { jobsNotLookedAt } from '../../core/workflow/not-looked-at.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// What a run's --no-queues leaves out on a rollback (start --rollback RUN --no-queues): its queues
// are live, so only the jobs of a class it puts back are named, not the whole queue.
const server = privateRedis();
const job = (className: string, i: number) => sidekiqPayload({ className, queue: 'default', args: `[${i}]` });

describe('jobs in the queues --no-queues leaves out', () => {
  it("a rollback's: only its classes' jobs; a re-route's: the whole retired queue", async () => {
    const redis = server.client();
    await redis.rpush('queue:default', job('A', 1), job('B', 2), job('A', 3), job('B', 4), job('B', 5));
    await redis.sadd('queues', 'default');
    const source = { redis, keys: new SidekiqKeys(''), name: 'source' };
    const settings = { mode: 'reroute' as const, sets: ['schedule', 'retry', 'dead', 'interrupted'] as const, queues: false };

    const rollback = await jobsNotLookedAt({ ...settings, sets: [...settings.sets] }, source, reverseRoutingPlan('run-1', [{ routedClass: 'A', from: 'old', to: 'default' }]));
    const reroute = await jobsNotLookedAt({ ...settings, sets: [...settings.sets] }, source, renameRoutingPlan(new Map([['default', 'new']])));

    expect(rollback).toEqual({ jobs: 2, places: [{ name: 'queue:default', jobs: 2 }], more: 0, options: ['--no-queues'] });
    expect(reroute).toEqual({ jobs: 5, places: [{ name: 'queue:default', jobs: 5 }], more: 0, options: ['--no-queues'] });
    expect(await redis.llen('queue:default')).toBe(5);
  });
});
