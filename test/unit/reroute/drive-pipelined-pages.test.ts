// drivePipelinedPages, the loop a set re-route runs in (issue #18): the next page is read and
// examined while this one's writes run. What it must keep from drivePages: writes strictly in
// page order and one at a time, the same stops and cursors, nothing written after it returns or
// throws, never a read past maxPages, and no unhandled rejection from a page read ahead.
import { describe, expect, it } from 'vitest';
import { drivePipelinedPages, type PipelinedPage } from '../../../core/reroute/drive-pages.js';
import { emptyCounters, type RerouteCounters } from '../../../core/reroute/reroute-counters.js';

/** A scan over `total` items, `size` a page; every step is logged, writes finish when released. */
function scan(total: number, size: number, options: { failRead?: number; failWrite?: number } = {}) {
  const log: string[] = [];
  let writesInFlight = 0;
  let maxWritesInFlight = 0;
  const page: PipelinedPage<number, { from: number; to: number }, { from: number; to: number }, RerouteCounters> = {
    read: async (cursor) => {
      log.push(`read ${cursor}`);
      await Promise.resolve();
      if (cursor === options.failRead) throw new Error(`read ${cursor} failed`);
      return { from: cursor, to: Math.min(total, cursor + size) };
    },
    after: (read) => (read.to === total ? null : read.to),
    examine: (read) => {
      log.push(`examine ${read.from}`);
      return read;
    },
    apply: async (examined) => {
      log.push(`write ${examined.from}`);
      writesInFlight++;
      maxWritesInFlight = Math.max(maxWritesInFlight, writesInFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      writesInFlight--;
      if (examined.from === options.failWrite) throw new Error(`write ${examined.from} failed`);
      log.push(`written ${examined.from}`);
      const counters = emptyCounters();
      counters.scanned = examined.to - examined.from;
      return { cursor: examined.to, done: examined.to === total, counters };
    },
  };
  return { page, log, writesInFlight: () => writesInFlight, maxWritesInFlight: () => maxWritesInFlight };
}

describe('drivePipelinedPages', () => {
  it('reads and examines the next page while this one is written, and writes in page order, one at a time', async () => {
    const s = scan(10, 3);

    const run = await drivePipelinedPages(s.page, 0);

    expect(run).toMatchObject({ cursor: 10, done: true, pages: 4 });
    expect(run.counters.scanned).toBe(10);
    expect(s.log).toEqual([
      'read 0', 'read 3', 'examine 0', 'write 0',
      'read 6', 'examine 3', 'written 0', 'write 3',
      'read 9', 'examine 6', 'written 3', 'write 6',
      'examine 9', 'written 6', 'write 9',
      'written 9',
    ]);
    expect(s.maxWritesInFlight()).toBe(1);
  });

  it('stops after maxPages pages with the cursor after the last page written, and never reads past the limit', async () => {
    const s = scan(10, 3);

    const run = await drivePipelinedPages(s.page, 0, { maxPages: 2 });

    expect(run).toMatchObject({ cursor: 6, done: false, pages: 2 });
    expect(run.counters.scanned).toBe(6);
    expect(s.log.filter((l) => l.startsWith('read'))).toEqual(['read 0', 'read 3']);
    expect(s.log.filter((l) => l.startsWith('write'))).toEqual(['write 0', 'write 3']);
  });

  it('with maxPages 1 reads one page only', async () => {
    const s = scan(10, 3);

    const run = await drivePipelinedPages(s.page, 0, { maxPages: 1 });

    expect(run).toMatchObject({ cursor: 3, done: false, pages: 1 });
    expect(s.log).toEqual(['read 0', 'examine 0', 'write 0', 'written 0']);
  });

  it('at the deadline drops the page read ahead unwritten and hands back the cursor after the last page written', async () => {
    const s = scan(20, 3);
    const times = [100, 199, 200];

    const run = await drivePipelinedPages(s.page, 3, { deadline: 200, now: () => times.shift()! });

    expect(run).toMatchObject({ cursor: 12, done: false, pages: 3 });
    expect(s.log.filter((l) => l.startsWith('write'))).toEqual(['write 3', 'write 6', 'write 9']);
    // Page 12 was read and examined ahead, never written: the next run starts there.
    expect(s.log).toContain('examine 12');
    expect(s.writesInFlight()).toBe(0);
  });

  it('calls onPage after each page is written, then asks stopBefore, and stops there', async () => {
    const s = scan(10, 3);
    const seen: string[] = [];

    const run = await drivePipelinedPages(s.page, 0, {
      onPage: (result) => void seen.push(`page ${String(result.cursor)}`),
      stopBefore: () => seen.push('stop?') >= 4,
    });

    expect(seen).toEqual(['page 3', 'stop?', 'page 6', 'stop?']);
    expect(run).toMatchObject({ cursor: 6, done: false, pages: 2 });
  });

  it('a one-page scan reads once and is done', async () => {
    const s = scan(2, 3);

    const run = await drivePipelinedPages(s.page, 0);

    expect(run).toMatchObject({ cursor: 2, done: true, pages: 1 });
    expect(s.log).toEqual(['read 0', 'examine 0', 'write 0', 'written 0']);
  });

  it('a failed read ahead waits for the write in flight before it is thrown: nothing is written after the call returns', async () => {
    const s = scan(10, 3, { failRead: 6 });

    await expect(drivePipelinedPages(s.page, 0)).rejects.toThrow('read 6 failed');

    expect(s.writesInFlight()).toBe(0);
    expect(s.log.filter((l) => l.startsWith('write'))).toEqual(['write 0', 'write 3']);
    expect(s.log).toContain('written 3');
  });

  it('a failed write is thrown; the page read ahead meanwhile is never written, and its read is not left unhandled', async () => {
    const s = scan(10, 3, { failWrite: 3 });

    const unhandled = await unhandledDuring(() => expect(drivePipelinedPages(s.page, 0)).rejects.toThrow('write 3 failed'));

    expect(unhandled).toEqual([]);
    expect(s.log.filter((l) => l.startsWith('write'))).toEqual(['write 0', 'write 3']);
    expect(s.log).not.toContain('written 3');
  });

  it('a read ahead that fails while the page before it is still being written is not an unhandled rejection', async () => {
    // Page 3's read fails at once; page 0's write takes 2 ms, during which nobody awaits the read.
    const s = scan(10, 3, { failRead: 3 });

    const unhandled = await unhandledDuring(() => expect(drivePipelinedPages(s.page, 0)).rejects.toThrow('read 3 failed'));

    expect(unhandled).toEqual([]);
    expect(s.writesInFlight()).toBe(0);
  });

  describe('a failure after pages were written (onFailureAfterProgress, the page tasks)', () => {
    it('a failed write returns the pages written before it, with the cursor of the failed page; the page read ahead is not written', async () => {
      const s = scan(10, 3, { failWrite: 6 });
      const told: string[] = [];

      const run = await drivePipelinedPages(s.page, 0, { onFailureAfterProgress: (error, written) => told.push(`${(error as Error).message} after ${written}`) });

      expect(run).toMatchObject({ cursor: 6, done: false, pages: 2 });
      expect(run.counters.scanned).toBe(6);
      expect(told).toEqual(['write 6 failed after 2']);
      expect(s.log.filter((l) => l.startsWith('write'))).toEqual(['write 0', 'write 3', 'write 6']);
      expect(s.writesInFlight()).toBe(0);
    });

    it('a failed read ahead counts the write that was in flight when it failed, once that write is done', async () => {
      const s = scan(10, 3, { failRead: 6 });
      const told: string[] = [];

      const run = await drivePipelinedPages(s.page, 0, { onFailureAfterProgress: (error, written) => told.push(`${(error as Error).message} after ${written}`) });

      expect(s.log).toContain('written 3');
      expect(run).toMatchObject({ cursor: 6, done: false, pages: 2 });
      expect(run.counters.scanned).toBe(6);
      expect(told).toEqual(['read 6 failed after 2']);
      expect(s.writesInFlight()).toBe(0);
    });

    it('throws when nothing was written before the failure', async () => {
      const s = scan(10, 3, { failWrite: 0 });
      const told: unknown[] = [];

      await expect(drivePipelinedPages(s.page, 0, { onFailureAfterProgress: (error) => told.push(error) })).rejects.toThrow('write 0 failed');
      expect(told).toEqual([]);
    });
  });
});

/** The rejections nobody handled while `body` ran, and for 10 ms after. */
async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return unhandled;
}
