import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { withOwnInflight } from '../../core/workflow/own-inflight.js';
import { WORK_LIST_ITEMS_PER_READ, workListKey } from '../../core/workflow/work-list.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

// A plan looks for the jobs an earlier execution of its run claimed while the plan walked the keys,
// by every queue of the run's stored list (own-inflight.ts). It read that list in one LRANGE 0 -1:
// with a queue per worker and more (10,000 queues, gitlab-scale.test.ts) one reply held every other
// client of the source for milliseconds. It reads WORK_LIST_ITEMS_PER_READ items a call, and still
// finds a claim named only by the list's last queue.
let server: RedisServerHandle;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { protocol: 2 });
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

describe("a plan's look for its run's own jobs in flight", () => {
  it(`reads a stored list of 2,500 queues ${WORK_LIST_ITEMS_PER_READ} items a call, and finds the claim of its last queue`, async () => {
    const keys = new SidekiqKeys('p:');
    const names = Array.from({ length: 2_500 }, (_, i) => `q${String(i).padStart(5, '0')}`);
    await redis.rpush(workListKey('p:', 'run-1'), ...names.map((name) => JSON.stringify({ kind: 'queue', name })));
    // The last queue emptied by the claim (Redis deleted its list): only the stored list names it.
    await redis.rpush('p:sidekiq-migrate:run-1:inflight:queue:q02499', 'job-a', 'job-b');
    const reads: number[] = [];
    const watched = new Proxy(redis, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'lrange') return (key: string, start: number, stop: number) => (reads.push(stop < 0 ? Infinity : stop - start + 1), target.lrange(key, start, stop));
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });

    const found = await withOwnInflight(watched, keys, 'run-1', [], []);

    expect(found).toEqual([{ key: 'p:sidekiq-migrate:run-1:inflight:queue:q02499', runId: 'run-1', sourceKey: 'queue:q02499', type: 'list', size: 2 }]);
    expect(reads).toEqual([WORK_LIST_ITEMS_PER_READ, WORK_LIST_ITEMS_PER_READ, WORK_LIST_ITEMS_PER_READ]);
  });
});
