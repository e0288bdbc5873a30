import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodedJsonString, encodeJsonString } from '../../../core/payload/encode-json-string.js';
import { InputError } from '../../../core/errors/input-error.js';

describe('encodeJsonString', () => {
  // Ruby's JSON.generate output per sidekiq-reference.md §2.2.
  it.each([
    ['a plain name', 'default', '"default"'],
    ['an empty name', '', '""'],
    ['a quote and a backslash', 'a"b\\c', '"a\\"b\\\\c"'],
    ['the short control escapes', '\b\f\n\r\t', '"\\b\\f\\n\\r\\t"'],
    ['other control characters in lowercase hex', '\0\x01\x1b\x1f', '"\\u0000\\u0001\\u001b\\u001f"'],
    ['a slash, raw', 'a/b', '"a/b"'],
    ['</script>, raw', '</script>', '"</script>"'],
    ['DEL, raw', '\x7f', '"\x7f"'],
    ['U+2028 and U+2029, raw', '\u2028\u2029', '"\u2028\u2029"'],
    ['non-ASCII as raw UTF-8', 'é ✓ 日本語 🚀', '"é ✓ 日本語 🚀"'],
  ])('writes %s', (_name, value, expected) => {
    // Act
    const encoded = encodeJsonString(value);

    // Assess
    expect(encoded.equals(Buffer.from(expected, 'utf8'))).toBe(true);
    expect(JSON.parse(encoded.toString('utf8'))).toBe(value);
  });

  it.each([
    ['a lone high surrogate', 'a\ud800'],
    ['a lone low surrogate', '\udc00b'],
    ['a reversed pair', '\ude80\ud83d'],
    ['a lone U+DFFF, the last low surrogate', 'a\udfff'],
    ['a lone U+DBFF, the last high surrogate', '\udbffa'],
    ['two low surrogates', '\udc00\udc00'],
    ['a high surrogate before an ASCII letter', '\ud800b'],
    ['a high surrogate before U+E000, just past the low surrogates', '\ud800\ue000'],
    ['a high surrogate before U+DBFF, just before the low surrogates', '\ud800\udbff'],
  ])('refuses %s, which has no UTF-8 form', (_name, value) => {
    // Act
    const act = () => encodeJsonString(value);

    // Assess
    expect(act).toThrow(InputError);
    expect(act).toThrow(/^queue name ".*" is not valid Unicode \(lone surrogate at \d\)$/);
  });

  it('names the queue and where its lone surrogate is', () => {
    expect(() => encodeJsonString('ab\ud800')).toThrow('queue name "ab\\ud800" is not valid Unicode (lone surrogate at 2)');
  });

  it('accepts surrogate pairs at both ends of the ranges', () => {
    for (const pair of ['\ud800\udc00', '\ud800\udfff', '\udbff\udc00', '\udbff\udfff']) {
      expect(encodeJsonString(pair).equals(Buffer.from(JSON.stringify(pair), 'utf8'))).toBe(true);
    }
  });

  it('agrees with JSON.stringify on every well-formed string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (value) => {
        // Act
        const encoded = encodeJsonString(value);

        // Assess
        expect(encoded.equals(Buffer.from(JSON.stringify(value), 'utf8'))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('encodedJsonString gives what encodeJsonString gives, the first time and from its cache, and refuses the same names', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 30 }), (values) => {
        // Act: each name twice, so that the second read comes from the cache.
        for (const value of [...values, ...values]) {
          let expected: Buffer | Error;
          try {
            expected = encodeJsonString(value);
          } catch (error) {
            expected = error as Error;
          }

          // Assess
          if (expected instanceof Error) expect(() => encodedJsonString(value)).toThrow(expected.message);
          else expect(encodedJsonString(value).equals(expected)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('encodedJsonString stays right past its bound (the cache starts over)', () => {
    // Act
    const names = Array.from({ length: 10_000 }, (_, i) => `queue_${i}`);
    const first = names.map((n) => encodedJsonString(n).toString('utf8'));
    const again = names.map((n) => encodedJsonString(n).toString('utf8'));

    // Assess
    expect(again).toEqual(first);
    expect(first[9_999]).toBe('"queue_9999"');
  });
});
