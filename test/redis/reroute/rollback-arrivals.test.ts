import { describe, expect, it } from 'vitest';
import { misplacedArrivals, ROLLBACK_ARRIVALS_READ } from '../../../core/reroute/rollback-arrivals.js';
import { reverseRoutingPlan } from '../../../core/routing/reverse-plan.js';
import { renameRoutingPlan } from '../../../core/routing/routing-plan.js';
import { privateRedis } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const server = privateRedis();
// The rolled-back run sent A from old to default; default is live: B is pushed there all along.
const plan = reverseRoutingPlan('run-1', [{ routedClass: 'A', from: 'old', to: 'default' }]);
const job = (className: string, i: number) => sidekiqPayload({ className, queue: 'default', args: `[${i}]` });

describe('arrivals on a queue a rollback drains', () => {
  it("count only the newest jobs of a class the rollback puts back; a re-route's count every one", async () => {
    const redis = server.client();
    // Head first: three arrivals (A, B, A), then a job the item kept (B).
    await redis.rpush('queue:default', job('A', 1), job('B', 2), job('A', 3), job('B', 4));

    expect(await misplacedArrivals(redis, 'queue:default', 'default', plan, 3)).toBe(2);
    expect(await misplacedArrivals(redis, 'queue:default', 'default', plan, 0)).toBe(0);
    expect(await misplacedArrivals(redis, 'queue:default', 'default', renameRoutingPlan(new Map([['default', 'new']])), 3)).toBe(3);
  });

  it('read at most ROLLBACK_ARRIVALS_READ of them, and count the rest as arrived', async () => {
    const redis = server.client();
    const pipeline = redis.pipeline();
    for (let i = 0; i < ROLLBACK_ARRIVALS_READ + 50; i++) pipeline.rpush('queue:default', job('B', i));
    await pipeline.exec();

    expect(await misplacedArrivals(redis, 'queue:default', 'default', plan, ROLLBACK_ARRIVALS_READ + 50)).toBe(50);
  });
});
