import { describe, expect, it } from 'vitest';
import { rerouteSetPage } from '../../core/reroute/set-page.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../core/routing/routing-plan.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { privateRedis } from '../support/private-redis.js';

// A private server: SCRIPT FLUSH must not disturb other tests.
const server = privateRedis();

describe('Lua scripts', () => {
  it('are loaded again when the server has forgotten them (restart, SCRIPT FLUSH, failover)', async () => {
    const redis = server.client();
    const keys = new SidekiqKeys('');
    const plan = classRoutingPlan(new Map([['A', 'new']]));
    await redis.zadd('schedule', '1', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
    await rerouteSetPage({ redis, keys, plan, set: 'schedule', cursor: '0', count: 10, dryRun: false });
    await redis.zadd('schedule', '2', sidekiqPayload({ className: 'A', queue: 'old', args: '[2]' }));

    await redis.script('FLUSH');
    const page = await rerouteSetPage({ redis, keys, plan, set: 'schedule', cursor: '0', count: 10, dryRun: false, luaBatch: 1 });

    expect(page.counters).toMatchObject({ moved: 1, alreadyRouted: 1 });
    expect((await redis.zrange('schedule', 0, '-1')).every((m) => m.includes('"queue":"new"'))).toBe(true);
  });
});
