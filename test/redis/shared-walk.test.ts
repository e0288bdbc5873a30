import { describe, expect, it } from 'vitest';
import { walkForLooks } from '../../core/redis/shared-walk.js';
import { privateRedis } from '../support/private-redis.js';

// One walk of the keyspace feeds several looks (the summary's): each must still say where it
// stopped as scanBounded says it for a look that walks alone, or a look fed no more would claim
// to have seen the whole keyspace.
const server = privateRedis();

async function seed(): Promise<void> {
  const p = server.client().pipeline();
  for (let i = 0; i < 5_000; i++) p.set(`filler:${i}`, '1');
  for (let i = 0; i < 3_000; i++) p.set(`a:${i}`, '1');
  p.set('b:only', '1');
  await p.exec();
}

describe('walkForLooks', { timeout: 60_000 }, () => {
  it("feeds each look its heads' keys only, once a page; one that has enough early is cut short ('enough'), the others reach the end", async () => {
    await seed();
    const seen = { a: new Set<string>(), b: new Set<string>(), all: new Set<string>() };
    let aPages = 0;
    const extents = await walkForLooks(
      server.client(),
      [
        { heads: ['a:'], onPage: (keys) => (keys.forEach((k) => seen.a.add(k.toString())), aPages++, seen.a.size >= 100) },
        { heads: ['b:', 'zz:'], onPage: (keys) => void keys.forEach((k) => seen.b.add(k.toString())) },
        { heads: [''], onPage: (keys) => void keys.forEach((k) => seen.all.add(k.toString())) },
      ],
      {},
      'testing',
    );

    expect([...seen.a].every((k) => k.startsWith('a:'))).toBe(true);
    expect(seen.a.size).toBeGreaterThanOrEqual(100);
    expect(seen.a.size).toBeLessThan(3_000);
    expect(extents[0]).toEqual({ pages: aPages, cutShort: 'enough' });
    expect([...seen.b]).toEqual(['b:only']);
    expect(seen.all.size).toBe(8_001);
    expect(extents[1]).toEqual({ pages: extents[2]!.pages });
    expect(extents[2]!.cutShort).toBeUndefined();
    expect(extents[2]!.pages).toBeGreaterThan(aPages);
  });

  it('stops once every look has enough; at its time, cuts every look still fed (its first page whatever the time)', async () => {
    await seed();
    const enough = await walkForLooks(server.client(), [{ heads: [''], onPage: () => true }, { heads: ['a:'], onPage: () => true }], {}, 'testing');
    expect(enough).toEqual([
      { pages: 1, cutShort: 'enough' },
      { pages: 1, cutShort: 'enough' },
    ]);

    let pages = 0;
    const timed = await walkForLooks(server.client(), [{ heads: ['a:'], onPage: () => void pages++ }, { heads: ['filler:'], onPage: () => true }], { until: 0 }, 'testing');
    expect(pages).toBe(1);
    expect(timed).toEqual([
      { pages: 1, cutShort: 'time' },
      { pages: 1, cutShort: 'enough' },
    ]);
  });

  it('a look that has enough on the last page saw the whole keyspace: not cut short', async () => {
    await server.client().set('a:1', '1');
    const extents = await walkForLooks(server.client(), [{ heads: ['a:'], onPage: (keys) => keys.length > 0 }, { heads: [''], onPage: () => undefined }], {}, 'testing');
    expect(extents).toEqual([{ pages: 1 }, { pages: 1 }]);
  });
});
