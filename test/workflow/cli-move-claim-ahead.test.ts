// `move` with several slices a key and page (issue #18): each slice's claim but a page's first
// rides in the acknowledge of the slice before (core/transfer/claim-ahead.ts). A default page of
// 1,000 is one slice (MAX_JOBS_PER_CLAIM), so the page size here is 3,000. What a user sees must not
// change: every job once on the target, the queues in their order, the totals exact, nothing in
// flight or claimed ahead left on the source, exit 0.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keysUnder } from '../support/exact-jobs.js';
import { MAX_JOBS_PER_CLAIM } from '../../core/transfer/transfer-options.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
/** One page a key, of three slices (1,000, 1,000, 600): two of them claimed ahead. */
const PAGE = 3 * MAX_JOBS_PER_CLAIM;
const PER_KEY = 2 * MAX_JOBS_PER_CLAIM + 600;

async function seed(): Promise<string[]> {
  const expected: string[] = [];
  const seeding = redis.source().pipeline();
  for (const queue of ['default', 'low']) {
    for (let i = 0; i < PER_KEY; i++) {
      const payload = sidekiqPayload({ className: 'A', queue, args: `[${i},"${queue}"]` });
      seeding.lpush(`queue:${queue}`, payload);
      expected.push(jobEntry(`queue:${queue}`, payload));
    }
    seeding.sadd('queues', queue);
  }
  for (const set of ['schedule', 'retry']) {
    for (let i = 0; i < PER_KEY; i++) {
      const payload = sidekiqPayload({ className: 'B', queue: 'default', args: `[${i},"${set}"]` });
      const score = `${1795459303 + i}.5`;
      seeding.zadd(set, score, payload);
      expected.push(jobEntry(set, payload, score));
    }
  }
  await seeding.exec();
  return expected.sort();
}

describe('move: slices claimed in the round trip of the acknowledge before', () => {
  it('every job once on the target, the queues in their order, the totals exact, the source empty and without bookkeeping, exit 0', async () => {
    const expected = await seed();
    const order = { default: await redis.source().lrange('queue:default', 0, -1), low: await redis.source().lrange('queue:low', 0, -1) };

    const { code, stdout } = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json', '--page-size', String(PAGE));

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ mode: 'transfer', complete: true, totals: { claimed: 4 * PER_KEY, written: 4 * PER_KEY, duplicates: 0, resumed: 0, conflicts: 0 } });
    expect(await jobsIn(redis.target())).toEqual(expected);
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(order.default);
    expect(await redis.target().lrange('queue:low', 0, -1)).toEqual(order.low);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect((await keysUnder(redis.source())).filter((k) => /:(inflight|batch|seal|claim-chain):/.test(k))).toEqual([]);
  });
});
