import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeJsonString } from '../../../core/payload/encode-json-string.js';
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
  ])('refuses %s, which has no UTF-8 form', (_name, value) => {
    // Act
    const act = () => encodeJsonString(value);

    // Assess
    expect(act).toThrow(InputError);
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
});
