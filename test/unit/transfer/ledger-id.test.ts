import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { batchTarget, listEntryIds, newBatchId, parseBatch, setEntryId } from '../../../core/transfer/ledger-id.js';

describe('ledger ids of claimed entries', () => {
  it('names a queue batch\'s entries by their claim positions, counted from the acknowledged base', () => {
    expect(listEntryIds('b', 3)).toEqual(['b:0', 'b:1', 'b:2']);
    expect(listEntryIds('b', 3, 5)).toEqual(['b:5', 'b:6', 'b:7']);
    expect(listEntryIds('b', 0, 5)).toEqual([]);
  });

  it('reads a stored batch id with or without the base its acknowledged jobs moved it to', () => {
    expect(parseBatch('3f2a')).toEqual({ id: '3f2a', base: 0 });
    expect(parseBatch('3f2a+12')).toEqual({ id: '3f2a', base: 12 });
    expect(parseBatch('3f2a+0')).toEqual({ id: '3f2a', base: 0 });
    // Only a `+<digits>` at the very end is a base: anything else is part of the id.
    expect(parseBatch('a+1+2')).toEqual({ id: 'a+1', base: 2 });
    expect(parseBatch('+7')).toEqual({ id: '', base: 7 });
    expect(parseBatch('a+1x')).toEqual({ id: 'a+1x', base: 0 });
    expect(parseBatch('a+')).toEqual({ id: 'a+', base: 0 });
    expect(parseBatch('x a+3')).toEqual({ id: 'x a', base: 3 });
    expect(parseBatch('a+3\n')).toEqual({ id: 'a+3\n', base: 0 });
    expect(parseBatch('a-3')).toEqual({ id: 'a-3', base: 0 });
    expect(parseBatch('')).toEqual({ id: '', base: 0 });
  });

  it('names a set entry by the SHA-1 of its exact bytes within its batch', () => {
    const member = Buffer.from([0x7b, 0xe9, 0x7d]);
    expect(setEntryId('b', member)).toBe(`b:${createHash('sha1').update(member).digest('hex')}`);
    expect(setEntryId('b', Buffer.from('{}'))).toBe('b:bf21a9e8fbc5a3846fb05b4fa0859e0917b2202f');
  });

  it('proposes a new random batch id each time, naming the target it is claimed for', () => {
    const a = newBatchId();
    expect(a).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(newBatchId()).not.toBe(a);
    expect(newBatchId('T1')).toMatch(/^[A-Za-z0-9_-]{16}@T1$/);
  });

  it('reads the target back from a stored batch id, acknowledged part or not', () => {
    expect(batchTarget('abc@T1')).toBe('T1');
    expect(batchTarget('abc@T1+250')).toBe('T1');
    expect(batchTarget('abc')).toBeNull();
    expect(batchTarget('abc+3')).toBeNull();
    expect(batchTarget('0c5e-uuid-of-an-older-version')).toBeNull();
  });
});
