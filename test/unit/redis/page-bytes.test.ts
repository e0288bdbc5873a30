import { describe, expect, it } from 'vitest';
import { jobsWithinBytes, MAX_PAGE_BYTES } from '../../../core/redis/page-bytes.js';

describe('the bytes a read of jobs carries', () => {
  it('are at most 1 MiB: Redis builds a reply with every client waiting, 72 ms for a ZSCAN of 16 MiB (page-bytes.ts)', () => {
    expect(MAX_PAGE_BYTES).toBe(2 ** 20);
    // Jobs of ~1 KB are still read a page size (1,000) at a time; jobs of 64 KiB, 16 at a time.
    expect(jobsWithinBytes(1_000, 1_000)).toBe(1_000);
    expect(jobsWithinBytes(64 * 2 ** 10, 1_000)).toBe(16);
    expect(jobsWithinBytes(3 * 2 ** 20, 1_000)).toBe(1);
    expect(jobsWithinBytes(undefined, 1_000)).toBe(1_000);
  });
});
