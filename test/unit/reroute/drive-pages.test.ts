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

  it('runs the page after one that holds it (a transfer slice that sent the next claim ahead), whatever the deadline, page limit or stopBefore say; then stops', async () => {
    const { page, calls } = pager(10, 3);
    // The first page holds the next one; the deadline, the page limit and stopBefore all say stop after it.
    const holding = async (cursor: number): Promise<PageResult<number>> => ({ ...(await page(cursor)), ...(cursor === 0 ? { holdsNext: true } : {}) });

    const run = await drivePages(holding, 0, { deadline: 5, now: () => 10, maxPages: 1, stopBefore: () => true });

    expect(run).toMatchObject({ cursor: 6, done: false, pages: 2 });
    expect(calls).toEqual([0, 3]);
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

  describe('a failure after pages were written (onFailureAfterProgress, the page tasks)', () => {
    /** pager(10, 3) whose page at `failAt` throws. */
    function failing(failAt: number) {
      const { page, calls } = pager(10, 3);
      return { calls, page: async (cursor: number) => (cursor === failAt ? Promise.reject(new Error(`page ${cursor} failed`)) : page(cursor)) };
    }

    it('returns the pages written before it, not done, with the cursor of the failed page, and hands over the error', async () => {
      const { page, calls } = failing(6);
      const told: string[] = [];

      const run = await drivePages(page, 0, { onFailureAfterProgress: (error, written) => told.push(`${(error as Error).message} after ${written}`) });

      expect(run).toMatchObject({ cursor: 6, done: false, pages: 2 });
      expect(run.counters).toMatchObject({ scanned: 6, movedTo: { q: 6 } });
      expect(told).toEqual(['page 6 failed after 2']);
      expect(calls).toEqual([0, 3]);
    });

    it('throws when the first page fails: the next call starting at a failed page fails as before', async () => {
      const { page } = failing(6);
      const told: unknown[] = [];

      await expect(drivePages(page, 6, { onFailureAfterProgress: (error) => told.push(error) })).rejects.toThrow('page 6 failed');
      expect(told).toEqual([]);
    });

    it('throws as before without it', async () => {
      const { page } = failing(6);

      await expect(drivePages(page, 0)).rejects.toThrow('page 6 failed');
    });

    it('a page whose onPage throws (a lost lock) counts, and the last page stays done', async () => {
      const { page } = pager(6, 3);
      const told: string[] = [];

      const run = await drivePages(page, 0, {
        onPage: (result) => {
          if (result.done) throw new Error('lock lost');
        },
        onFailureAfterProgress: (error) => told.push((error as Error).message),
      });

      expect(run).toMatchObject({ cursor: 6, done: true, pages: 2 });
      expect(run.counters.scanned).toBe(6);
      expect(told).toEqual(['lock lost']);
    });
  });
});
