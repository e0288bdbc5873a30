import { describe, expect, it } from 'vitest';
import { FAIL } from '../../../core/payload/json-lexer.js';
import { skipJsonValue } from '../../../core/payload/skip-json-value.js';

const skip = (text: string) => skipJsonValue(Buffer.from(text), 0);

describe('skipJsonValue', () => {
  // Deeper than the 64 levels its container stack starts with: it must grow, and still know which
  // container each closer belongs to.
  it('ends a value nested 200 deep, objects and arrays mixed, just past its last closer', () => {
    const open = Array.from({ length: 200 }, (_, i) => (i % 2 ? '[' : '{"k":')).join('');
    const close = Array.from({ length: 200 }, (_, i) => (i % 2 ? ']' : '}')).reverse().join('');
    const value = `${open}1${close}`;

    expect(skip(`${value},"next":2`)).toBe(value.length);
  });

  it('refuses a closer of the wrong kind 100 levels deep', () => {
    const open = '{"k":'.repeat(100);

    expect(skip(`${open}1${'}'.repeat(99)}]`)).toBe(FAIL);
  });

  it.each(['{"a"x1}', '{"a",1}', '{"a":1,"b"=2}'])('refuses a member whose colon is another character: %s', (text) => {
    expect(skip(text)).toBe(FAIL);
  });
});
