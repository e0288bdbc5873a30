// The scanner as a strict RFC 8259 validator, and where it finds the members it records.
import { describe, expect, it } from 'vitest';
import { scanPayload, type PayloadSpans } from '../../../core/payload/scan-payload.js';
import { bytes } from './payload-test-support.js';

/** The scan of `{"class":"X","v":<value>}`: a value is accepted exactly when this is not invalid. */
const scanValue = (value: string | Buffer) =>
  scanPayload(Buffer.concat([bytes('{"class":"X","v":'), Buffer.isBuffer(value) ? value : bytes(value), bytes('}')]));

const spansOf = (text: string): PayloadSpans => {
  const result = scanPayload(bytes(text));
  if (typeof result === 'string') throw new Error(`unexpected ${result}`);
  return result;
};

const slice = (text: string, span: { start: number; end: number } | null) =>
  span === null ? null : bytes(text).subarray(span.start, span.end).toString('utf8');

describe('scanPayload: validation', () => {
  it.each([
    ['a plain string', '"abc"'],
    ['every short escape', String.raw`"\" \\ \/ \b \f \n \r \t"`],
    ['\\u escapes, upper and lower hex', String.raw`"\u00e9\u00E9\uD83D\uDE80"`],
    ['a lone surrogate escape (grammatical per RFC 8259)', String.raw`"\ud800"`],
    ['raw non-ASCII, U+2028 and DEL', '"é ✓ 日本語 🚀 \u2028 \x7f"'],
    ['integers', '[0,-0,7,4611686018427387905,18446744073709551616]'],
    ['floats as Ruby writes them', '[1.0,-0.0,2.5,1.0e+20,1.5e-07,1795459303.8460433]'],
    ['exponents without fraction and upper-case E', '[1e5,1E5,1e+5,1E-5,0e0]'],
    ['literals', '[true,false,null]'],
    ['empty containers', '[[],{},[{}],{"a":[]}]'],
    ['whitespace everywhere', ' [ 1 , { "a" : 2 } ,\t\n\r[ ] ] '],
    ['deep but finite nesting', '['.repeat(1000) + ']'.repeat(1000)],
  ])('accepts %s', (_name, value) => {
    // Act
    const result = scanValue(value);

    // Assess
    expect(typeof result).toBe('object');
    expect(() => JSON.parse(`{"v":${value}}`)).not.toThrow();
  });

  it.each([
    ['an unterminated string', '"abc'],
    ['a raw newline in a string', '"a\nb"'],
    ['a raw tab in a string', '"a\tb"'],
    ['a raw NUL in a string', '"a\0b"'],
    ['an unknown escape', String.raw`"\x41"`],
    ['a short \\u escape', String.raw`"\u00e"`],
    ['a non-hex \\u escape', String.raw`"\u00eg"`],
    ['a single-quoted string', "'a'"],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['-Infinity', '-Infinity'],
    ['a leading plus', '+1'],
    ['a leading zero', '01'],
    ['-01', '-01'],
    ['a bare minus', '-'],
    ['a trailing dot', '1.'],
    ['a leading dot', '.5'],
    ['an empty exponent', '1e'],
    ['a signed empty exponent', '1e+'],
    ['hex', '0x10'],
    ['a misspelled literal', 'tru'],
    ['a capitalised literal', 'True'],
    ['undefined', 'undefined'],
    ['a trailing comma in an array', '[1,]'],
    ['a trailing comma in an object', '{"a":1,}'],
    ['a missing comma', '[1 2]'],
    ['a missing colon', '{"a" 1}'],
    ['an unquoted key', '{a:1}'],
    ['a non-string key', '{1:1}'],
    ['a mismatched bracket', '[1}'],
    ['an unclosed array', '[1,[2]'],
    ['an empty value', ''],
    ['a comment', '/* c */ 1'],
    ['a form feed as whitespace', '[\f1]'],
    ['a non-breaking space as whitespace', '[\u00a01]'],
  ])('rejects %s as invalid-json', (_name, value) => {
    // Act
    const result = scanValue(value);

    // Assess
    expect(result).toBe('invalid-json');
    expect(() => JSON.parse(`{"v":${value}}`)).toThrow();
  });

  it.each([
    ['trailing garbage', '{"class":"X"}x'],
    ['a second document', '{"class":"X"}{"class":"Y"}'],
    ['a trailing NUL', '{"class":"X"}\0'],
    ['a byte-order mark', '\ufeff{"class":"X"}'],
    ['nothing at all', ''],
    ['whitespace only', ' \n'],
    ['a missing closing brace', '{"class":"X"'],
    ['a non-ASCII byte outside strings', '{"class":"X"é}'],
    ['a trailing comma at the top level', '{"class":"X",}'],
    ['a trailing comma in args', '{"class":"X","args":[1,]}'],
    ['a trailing comma in args[0]', '{"class":"X","args":[{"queue_name":"q",}]}'],
    ['a missing colon at the top level', '{"class" "X"}'],
    ['a missing comma in args', '{"class":"X","args":[{} 1]}'],
    ['an unclosed args[0]', '{"class":"X","args":[{"queue_name":"q"]}'],
    ['a non-string key at the top level', '{"class":"X",queue:"q"}'],
  ])('rejects a document with %s', (_name, text) => {
    // Act
    const result = scanPayload(bytes(text));

    // Assess
    expect(result).toBe('invalid-json');
  });

  it.each([
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['an encoded UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a lone continuation byte', [0x80]],
    ['a truncated 3-byte sequence', [0xe2, 0x82]],
    ['0xFF', [0xff]],
  ])('rejects %s inside a string as invalid-utf8', (_name, raw) => {
    // Prepare
    const value = Buffer.concat([bytes('"a'), Buffer.from(raw), bytes('b"')]);

    // Act
    const result = scanValue(value);

    // Assess
    expect(result).toBe('invalid-utf8');
  });

  it.each([
    ['an array', '[{"class":"X"}]'],
    ['a string', '"{\\"class\\":\\"X\\"}"'],
    ['a number', '42'],
    ['null', 'null'],
  ])('tells valid non-objects (%s) from invalid JSON: not-an-object', (_name, text) => {
    // Act
    const result = scanPayload(bytes(text));

    // Assess
    expect(result).toBe('not-an-object');
  });

  it('does not overflow the stack on a million nested arrays', () => {
    // Prepare
    const deep = bytes(`{"class":"X","args":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`);
    const unclosed = bytes(`{"class":"X","args":[${'['.repeat(1_000_000)}`);

    // Act
    const closedResult = scanPayload(deep);
    const unclosedResult = scanPayload(unclosed);

    // Assess
    expect(typeof closedResult).toBe('object');
    expect(unclosedResult).toBe('invalid-json');
  });
});

describe('scanPayload: spans', () => {
  it('records the exact value spans of the top-level members, whatever the order and whitespace', () => {
    // Prepare
    const text =
      '{\n  "enqueued_at" : 1.5 ,\n  "args" : [ { "queue_name" : "aj" } ],\n  "jid":"j",\t"queue" :\r\n "q", ' +
      '"created_at":1,"wrapped":null,"class":"C"\n}\n';

    // Act
    const spans = spansOf(text);

    // Assess
    expect(slice(text, spans.queue)).toBe('"q"');
    expect(slice(text, spans.class)).toBe('"C"');
    expect(slice(text, spans.wrapped)).toBe('null');
    expect(slice(text, spans.jid)).toBe('"j"');
    expect(slice(text, spans.enqueuedAt)).toBe('1.5');
    expect(slice(text, spans.createdAt)).toBe('1');
    expect(slice(text, spans.argsQueueName)).toBe('"aj"');
    expect(spans.objectStart).toBe(0);
    expect(spans.length).toBe(bytes(text).length);
  });

  it.each([
    ['a hash argument', '{"class":"C","args":[{"queue":"fake","queue_name":"fake"}]}'],
    ['a nested hash argument', '{"class":"C","args":[1,{"a":{"queue":"fake"}}]}'],
    ['a string argument', '{"class":"C","args":["\\"queue\\":\\"fake\\""]}'],
    ['another member', '{"class":"C","opts":{"queue":"fake"},"cattr":[{"queue":"fake"}]}'],
  ])('never takes a "queue" inside %s for the top-level one', (_name, text) => {
    // Act
    const spans = spansOf(text);

    // Assess
    expect(spans.queue).toBeNull();
  });

  it.each([
    ['args[1]', '{"class":"C","args":[1,{"queue_name":"q"}]}'],
    ['a hash inside args[0]', '{"class":"C","args":[{"a":{"queue_name":"q"}}]}'],
    ['an array args[0]', '{"class":"C","args":[["queue_name","q"]]}'],
    ['a top-level member', '{"class":"C","queue_name":"q","args":[]}'],
  ])('records queue_name only as a member of the object args[0], not in %s', (_name, text) => {
    // Act
    const spans = spansOf(text);

    // Assess
    expect(spans.argsQueueName).toBeNull();
  });

  it.each([
    ['its first byte', '{"class":"C","xueue":"a","wueue":"b","args":[{"xueue_name":"c"}]}'],
    ['its last byte', '{"class":"C","queuf":"a","args":[{"queue_namf":"c"}]}'],
    ['a byte inside', '{"class":"C","quxue":"a","args":[{"queue_nxme":"c"}]}'],
    ['its case', '{"class":"C","Queue":"a","QUEUE":"b","args":[{"Queue_name":"c"}]}'],
    ['the name as a prefix', '{"class":"C","queues":"a","que":"b","args":[{"queue_names":"c"}]}'],
  ])('takes no key for a name it differs from by %s', (_name, text) => {
    // Act
    const spans = spansOf(text);

    // Assess
    expect(spans.queue).toBeNull();
    expect(spans.argsQueueName).toBeNull();
    expect(slice(text, spans.class)).toBe('"C"');
  });

  it('takes a key whose first letter is escaped for the name (the bytes differ, the key does not)', () => {
    // Arrange
    const text = String.raw`{"\u0063lass":"C","\u0071ueue":"q","args":[{"\u0071ueue_name":"n"}]}`;

    // Act
    const spans = spansOf(text);

    // Assess
    expect(slice(text, spans.class)).toBe('"C"');
    expect(slice(text, spans.queue)).toBe('"q"');
    expect(slice(text, spans.argsQueueName)).toBe('"n"');
  });

  it('finds the object after leading whitespace', () => {
    // Act
    const spans = spansOf('  \n{"class":"C"}');

    // Assess
    expect(spans.objectStart).toBe(3);
  });
});

describe('scanPayload: the object and args grammar, byte by byte (mutation testing)', () => {
  it.each([
    ['a key that does not start with a quote', '{a":1}'],
    ['a key followed by something other than a colon', '{"class":"X","a" 12}'],
    ['members separated by something other than a comma', '{"class":"X","a":1;"b":2}'],
    ['the same in args[0]', '{"class":"X","args":[{"a":1;"b":2}]}'],
  ])('refuses %s, as JSON.parse does', (_name, text) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(scanPayload(bytes(text))).toBe('invalid-json');
  });

  it('reads args that are not an array as any other value', () => {
    for (const args of ['5', '{"queue_name":"q"}', '"[1]"', 'null']) {
      const text = `{"class":"X","args":${args},"queue":"q"}`;
      const spans = spansOf(text);
      expect(slice(text, spans.queue)).toBe('"q"');
      expect(spans.argsQueueName).toBeNull();
    }
  });

  it('takes a repeated lock_digest or unique_digest for not ours to judge: the last one counts', () => {
    const lock = '{"class":"X","lock_digest":"a","lock_digest":"b"}';
    expect(slice(lock, spansOf(lock).uniqueDigest)).toBe('"b"');
    const unique = '{"class":"X","unique_digest":"a","unique_digest":"b"}';
    expect(slice(unique, spansOf(unique).uniqueDigest)).toBe('"b"');
  });
});
