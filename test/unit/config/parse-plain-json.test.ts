// The JSON fast path of readStructuredFile gives what the YAML parser gives, or gives way to it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePlainJson } from '../../../core/config/parse-plain-json.js';

const yaml = (text: string): unknown => parse(text, { merge: true, uniqueKeys: true, prettyErrors: false });

/** JSON texts as people and tools write them: compact, indented, with spaces after colons. */
const jsonText = fc
  .tuple(fc.oneof(fc.jsonValue(), fc.jsonValue({ stringUnit: 'binary' })), fc.constantFrom(undefined, 2, '\t'), fc.boolean())
  .map(([value, indent, spaced]) => {
    const text = JSON.stringify(value, null, indent) ?? 'null';
    return spaced ? text.replaceAll('":', '" :') : text;
  });

describe('parsePlainJson', () => {
  it('reads any JSON value as the YAML parser does', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        // Act
        const fast = parsePlainJson(text);

        // Assess: taken (no duplicate can come out of JSON.stringify), and the same value
        if (!text.includes('"<<"')) expect(fast).not.toBeUndefined();
        if (fast !== undefined) expect(fast).toEqual(yaml(text));
      }),
      { numRuns: 500 },
    );
  });

  it('reads a class mapping as the YAML parser does, escapes, -0, big numbers and __proto__ included', () => {
    // Prepare
    const text = '{"A::B": "q\\u00e9", "C": "x\\/y\\t", "__proto__": "p", "n": -0, "big": 18446744073709551616, "f": 1.0e-7, "u": "\\ud800"}';

    // Act
    const fast = parsePlainJson(text);

    // Assess
    expect(fast).toEqual(yaml(text));
    expect(Object.getPrototypeOf(fast)).toBe(Object.prototype);
    expect(Object.is((fast as { n: number }).n, -0)).toBe(true);
  });

  it.each([
    ['a key twice', '{"A": "q", "B": "r", "A": "s"}'],
    ['a key twice, spelled otherwise', '{"A": "q", "\\u0041": "s"}'],
    ['a key twice, deep inside', '[1, {"x": {"k": 1, "k": 2}}]'],
    ['a merge key', '{"<<": {"a": 1}, "b": 2}'],
    ['YAML', 'A: q\nB: r\n'],
    ['JSON cut short', '{"A": "q"'],
    ['an empty file', ''],
  ])('gives way to the YAML parser for %s', (_label, text) => {
    expect(parsePlainJson(text)).toBeUndefined();
  });

  it('gives way on any key repeated in an object, whatever the nesting', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.nat(), (object, pick) => {
        // Prepare: one member written twice
        const members = Object.entries(object).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
        const text = `{"outer":[{${[...members, members[pick % members.length]].join(',')}}]}`;

        // Act / Assess
        expect(parsePlainJson(text)).toBeUndefined();
        expect(() => yaml(text)).toThrow();
      }),
      { numRuns: 200 },
    );
  });
});
