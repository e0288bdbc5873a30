// drivePages, the loop every set and queue operation runs in a Lambda or locally: when it stops
// (done, page limit, deadline, stopBefore) and what it hands back to continue from.
import { describe, expect, it } from 'vitest';
import { drivePages, type PageResult } from '../../../core/reroute/drive-pages.js';
import { emptyCounters } from '../../../core/reroute/reroute-counters.js';

/** Pages over a list of `total` items, `size` at a time: the cursor is the next index. */
function pager(total: number, size: number) {
  const calls: number[] = [];
  const page = async (cursor: number): Promise<PageResult<number>> => {
    calls.push(cursor);
    const next = Math.min(total, cursor + size);
    const counters = emptyCounters();
    counters.scanned = next - cursor;
    counters.movedTo = { q: next - cursor };
    return { cursor: next, done: next === total, counters };
  };
  return { page, calls };
}

describe('drivePages', () => {
  it('runs every page until one is done, sums the counters and counts the pages', async () => {
    const { page, calls } = pager(10, 3);

    const run = await drivePages(page, 0);

    expect(run).toMatchObject({ cursor: 10, done: true, pages: 4 });
    expect(run.counters).toMatchObject({ scanned: 10, movedTo: { q: 10 } });
    expect(calls).toEqual([0, 3, 6, 9]);
  });

  it('stops after maxPages pages, not done, with the cursor of the next page', async () => {
    const { page, calls } = pager(10, 3);

    const run = await drivePages(page, 0, { maxPages: 2 });

    expect(run).toMatchObject({ cursor: 6, done: false, pages: 2 });
    expect(run.counters.scanned).toBe(6);
    expect(calls).toEqual([0, 3]);
  });

  it('reports done when the last page is also the page limit', async () => {
    const { page } = pager(6, 3);

    const run = await drivePages(page, 0, { maxPages: 2 });

    expect(run).toMatchObject({ cursor: 6, done: true, pages: 2 });
  });

  it('starts no page once the deadline is reached, and always runs the first', async () => {
    const { page, calls } = pager(20, 3);
    const times = [100, 199, 200];

    const run = await drivePages(page, 3, { deadline: 200, now: () => times.shift()! });

    expect(run).toMatchObject({ cursor: 12, done: false, pages: 3 });
    expect(calls).toEqual([3, 6, 9]);
    expect(run.counters.scanned).toBe(9);
  });

  it('stops before the deadline only when the clock says so (the clock is Date.now by default)', async () => {
    const { page } = pager(10, 3);

    const late = await drivePages(page, 0, { deadline: Date.now() - 1 });
    const early = await drivePages(page, 0, { deadline: Date.now() + 600_000 });

    expect(late).toMatchObject({ cursor: 3, done: false, pages: 1 });
    expect(early).toMatchObject({ cursor: 10, done: true, pages: 4 });
  });

  it('calls onPage after every page with its own result, then asks stopBefore', async () => {
    const { page } = pager(10, 3);
    const seen: string[] = [];

    const run = await drivePages(page, 0, {
      onPage: async (result) => {
        seen.push(`page ${String(result.cursor)} ${String(result.done)} ${(result.counters as { scanned: number }).scanned}`);
      },
      stopBefore: () => {
        seen.push('stop?');
        return seen.length >= 4;
      },
    });

    expect(seen).toEqual(['page 3 false 3', 'stop?', 'page 6 false 3', 'stop?']);
    expect(run).toMatchObject({ cursor: 6, done: false, pages: 2 });
  });

  it('sums with the counter sum it is given', async () => {
    const page = async (cursor: number) => ({ cursor: cursor + 1, done: cursor === 2, counters: { n: cursor } });

    const run = await drivePages(page, 0, {}, { empty: () => ({ n: 100 }), add: (into, more) => ((into.n += more.n), into) });

    expect(run).toMatchObject({ cursor: 3, done: true, pages: 3, counters: { n: 103 } });
  });
});
