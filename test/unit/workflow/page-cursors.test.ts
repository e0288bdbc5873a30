// What a page task accepts as its item's cursor: a re-route's carries the mean payload size that
// bounds its next page (core/redis/page-bytes.ts); a set's may still be a bare ZSCAN cursor from
// a run planned before, which its next page takes as "size not known yet".
import { describe, expect, it } from 'vitest';
import { parsePageInput } from '../../../functions/support/task-inputs.js';

const settings = { runId: 'r', mode: 'reroute', source: 'source', dryRun: false, pageSize: 1000, unmapped: 'leave', placement: 'front', pagesPerInvocation: 50, maxIterations: 100, routed: true };
const item = (kind: 'set' | 'queue', cursor: unknown) => ({ kind, name: kind === 'set' ? 'retry' : 'default', cursor, done: false, iteration: 0, counters: {} });
const parse = (kind: 'set' | 'queue', cursor: unknown) => parsePageInput({ settings, item: item(kind, cursor) }, { mode: 'reroute', kind }).item.cursor;

describe('re-route page cursors', () => {
  it('a set: null, a bare ZSCAN cursor, or the scan with the size seen so far', () => {
    for (const cursor of [null, '0', '1234', { scan: '0' }, { scan: '1234', bytesPerJob: 2_000_123 }]) expect(parse('set', cursor)).toEqual(cursor);
    // A walk by score (its last score group read whole), and a ZSCAN after one (entries from a score).
    for (const cursor of [{ scan: '0', after: '1764950400.1234567', bytesPerJob: 700 }, { scan: '0', after: '-inf' }, { scan: '17', from: '1e+20' }]) expect(parse('set', cursor)).toEqual(cursor);
    for (const cursor of ['abc', { scan: 'abc' }, { bytesPerJob: 10 }, { scan: '1', bytesPerJob: -1 }, { scan: '1', bytesPerJob: 'big' }, { scan: '0', after: '12 or so' }, { scan: '0', from: '' }]) {
      expect(() => parse('set', cursor)).toThrow(/input\.item\.cursor/);
    }
  });

  it('a queue: its bounds, with or without the size seen so far', () => {
    for (const cursor of [null, { limit: 5, examined: 0, kept: 0 }, { limit: 5, examined: 2, kept: 1, bytesPerJob: 700 }]) expect(parse('queue', cursor)).toEqual(cursor);
    expect(() => parse('queue', { limit: 5, examined: 0, kept: 0, bytesPerJob: -3 })).toThrow(/input\.item\.cursor/);
  });
});
