import { describe, expect, it } from 'vitest';
import { jobsUnderOtherPrefixes } from '../../core/workflow/other-prefixes-left.js';
import { privateRedis } from '../support/private-redis.js';

// The summary's look for jobs under other prefixes is one SCAN of the whole keyspace: bounded by
// the summary's time and by a number of keys, and a look stopped short says so (the words are
// tested at the CLI: cli-other-prefixes-summary, summary-fetcher-look-bound).
const server = privateRedis();

async function seed(lists: number, filler: number): Promise<void> {
  const p = server.client().pipeline();
  for (let i = 0; i < lists; i++) p.rpush(`other:queue:q${i}`, `{"class":"A","queue":"q${i}","args":[${i}]}`);
  for (let i = 0; i < filler; i++) p.set(`uniquejobs:digest:${i}`, '1');
  p.rpush('queue:mine', '{"class":"A","queue":"mine","args":[]}');
  p.set('sidekiq-migrate:lock', 'x');
  p.set('other:sidekiq-migrate:ledger:run-1', 'x');
  await p.exec();
}

describe('jobsUnderOtherPrefixes', { timeout: 60_000 }, () => {
  it('unbounded: every key counted once, the 20 largest named, our own prefix and our bookkeeping left out', async () => {
    await seed(2_500, 5_000);
    await server.client().rpush('other:queue:q7', 'a', 'b');
    await server.client().rpush('other:sidekiq-migrate:quarantine:q1', 'held');

    const found = await jobsUnderOtherPrefixes(server.client(), ['']);

    expect(found).toMatchObject({ own: '', jobs: 2_503, more: 2_501 - 20, prefixes: ['other:'], morePrefixes: 0 });
    expect(found!.places[0]).toEqual({ name: 'other:queue:q7', jobs: 3 });
    expect(found!.places).toHaveLength(20);
    expect(found!.cutShort).toBeUndefined();
  });

  it('stopped at its key bound: says so, with what it counted', async () => {
    await seed(2_500, 0);

    const found = await jobsUnderOtherPrefixes(server.client(), [''], { keys: 1_000 });

    expect(found!.cutShort).toBe('keys');
    expect(found!.jobs).toBeGreaterThanOrEqual(1_000);
    expect(found!.jobs).toBeLessThan(2_500);
  });

  it('out of time: reads its first SCAN page only, and says so', async () => {
    await seed(10, 5_000);

    const found = await jobsUnderOtherPrefixes(server.client(), [''], { until: 0 });

    expect(found!.cutShort).toBe('time');
    expect(found!.jobs).toBeLessThan(10);
  });

  it('none elsewhere, the whole keyspace read: nothing to say', async () => {
    await seed(0, 3_000);
    expect(await jobsUnderOtherPrefixes(server.client(), [''])).toBeUndefined();
  });
});
