import { describe, expect, it } from 'vitest';
import { drivePages } from '../../../core/reroute/drive-pages.js';
import { rerouteQueueSlice, type QueueCursor } from '../../../core/reroute/queue-slice.js';
import { misplacedArrivals, ROLLBACK_ARRIVALS_READ } from '../../../core/reroute/rollback-arrivals.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { reverseRoutingPlan } from '../../../core/routing/reverse-plan.js';
import { renameRoutingPlan } from '../../../core/routing/routing-plan.js';
import { expectExactJobs, jobEntry, withQueue } from '../../support/exact-jobs.js';
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

  it("append: jobs of the class put back that Sidekiq pushed back below the pass, hidden from the length by a worker's fetches of jobs the pass kept, are counted", async () => {
    const redis = server.client();
    const keys = new SidekiqKeys('');
    const kept = [job('B', 0), job('B', 1), job('B', 2)];
    const back = Array.from({ length: 8 }, (_, i) => job('A', 10 + i));
    const pushedBack = [job('A', 100), job('A', 101)];
    // Oldest first: three of default's own class, then eight the run had sent there.
    await redis.lpush('queue:default', ...kept, ...back);
    const request = { redis, keys, plan, queue: 'default', sliceSize: 4, placement: 'append' as const, dryRun: false };

    // The first slice keeps the three B at the tail and puts one A back. A worker on default then
    // fetches two of the B, and a stopping Sidekiq pushes back two A it had fetched before: the
    // tail holds as many jobs as the pass left there.
    const first = await rerouteQueueSlice({ ...request, cursor: null });
    expect(first.cursor).toMatchObject({ kept: 3, tail: { over: 3 } });
    expect(await redis.rpop('queue:default', 2)).toEqual([kept[0], kept[1]]);
    await redis.rpush('queue:default', ...pushedBack);
    const rest = await drivePages((c: QueueCursor | null) => rerouteQueueSlice({ ...request, cursor: c }), first.cursor as QueueCursor | null);

    await expectExactJobs(redis, '', [...[kept[2]!, ...pushedBack].map((p) => jobEntry('queue:default', p)), ...back.map((p) => jobEntry('queue:old', withQueue(p, 'default', 'old')))]);
    // Before, 0: the length less the kept jobs, and the rollback's summary said "Complete".
    expect(rest.counters).toMatchObject({ moved: 7, arrived: 2 });
  });
});
