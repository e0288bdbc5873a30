// The payload scanner against its version before audit-scan (reference-scanner/, kept verbatim):
// key classification by length and escapes only where scanString passed one, and whitespace
// settled by one comparison, must give the same verdict and the same spans for any bytes
// (issue #18). Valid payloads come from the fixtures and the property generators; each is then
// mutated (bytes replaced, inserted, cut; invalid UTF-8, raw control characters, escapes,
// duplicate and escaped keys, deep nesting) and both scanners read every variant in turn, so a
// value one payload leaves behind (scanString's lastEscape) meets the next.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAIL, scanString, skipWhitespace } from '../../../core/payload/json-lexer.js';
import { scanPayload } from '../../../core/payload/scan-payload.js';
import { checkJob, jobVerdict } from '../../../core/payload/inspect-job.js';
import { skipJsonValue } from '../../../core/payload/skip-json-value.js';
import { activeJobArgs, activeJobClass, jsonValueText, payloadText } from './json-text-arbitraries.js';
import * as ref from './reference-scanner/json-lexer.js';
import { scanPayload as refScanPayload } from './reference-scanner/scan-payload.js';
import { skipJsonValue as refSkipJsonValue } from './reference-scanner/skip-json-value.js';

const FIXTURES = ['sidekiq-6.4-payloads', 'sidekiq-8-payloads'].flatMap((dir) => {
  const path = fileURLToPath(new URL(`../../fixtures/${dir}/`, import.meta.url));
  return readdirSync(path)
    .filter((f) => f.endsWith('.json'))
    .map((f) => readFileSync(path + f));
});

/** Byte runs a mutation puts in: invalid and edge UTF-8, control characters, escapes, keys, nesting. */
const PIECES = [
  [0x00], [0x1f], [0x7f], [0x09], [0x0a], [0x0d], [0x20], [0x22], [0x5c], [0x2c], [0x3a], [0x7b], [0x7d], [0x5b], [0x5d],
  [0xc0, 0xaf], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80], [0xff], [0x80], [0xc3], [0xe2, 0x82], [0xc3, 0xa9], [0xe2, 0x9c, 0x93], [0xf0, 0x9f, 0x98, 0x80],
  [0xef, 0xbb, 0xbf], [0xc2, 0xa0],
  ...['\\', '\\u', '\\u00', '\\u0065', '\\uD800', '\\x', '\\"', '\\\\', '\\/', '\\n', '"queue":"q",', '"qu\\u0065ue":1,',
    '"queue_name":"a",', '"queue\\u005fname":"b",', '"class":"C",', '"cl\\u0061ss":"C",', '"wrapped":null,', '"args":[{}],',
    '"jid":"j",', '"lock_digest":"d",', '"unique_digest":"d",', '"enqueued_at":1.0,', '"\\u0071ueue":"x",',
    '[[[[[[[[[[', ']]]]]]]]]]', '{"a":{"b":{"c":', '}}}', '1.0e+20', '-0', '01', 'tru', 'null', '"', '""'].map((s) => [...Buffer.from(s)]),
];

const mutation = fc.oneof(
  fc.tuple(fc.constant('set' as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
  fc.tuple(fc.constant('insert' as const), fc.nat(), fc.nat(PIECES.length - 1)),
  fc.tuple(fc.constant('cut' as const), fc.nat(), fc.integer({ min: 1, max: 8 })),
);

function mutate(buf: Buffer, steps: readonly (readonly ['set' | 'insert' | 'cut', number, number])[]): Buffer {
  const bytes = [...buf];
  for (const [kind, at, x] of steps) {
    const i = bytes.length === 0 ? 0 : at % (bytes.length + (kind === 'insert' ? 1 : 0));
    if (kind === 'set' && bytes.length > 0) bytes[i] = x;
    else if (kind === 'insert') bytes.splice(i, 0, ...PIECES[x]!);
    else bytes.splice(i, x);
  }
  return Buffer.from(bytes);
}

/** Both versions' answers for one buffer, also read at an offset inside a larger ArrayBuffer. */
function expectSame(buf: Buffer): void {
  const shifted = Buffer.concat([Buffer.from('xyz'), buf]).subarray(3);
  for (const b of [buf, shifted]) {
    const spans = refScanPayload(b);
    expect(scanPayload(b)).toEqual(spans);
    // The verdict without spans (a transfer without routing, audit-speed-cpu): checkJob's, whose
    // checks it makes from the scan's table, and what the reference's spans give.
    const verdict = jobVerdict(b);
    expect(verdict).toBe(referenceJobVerdict(b, spans));
    const checked = checkJob(b);
    expect(verdict).toBe(typeof checked === 'string' ? checked : null);
    expect(skipJsonValue(b, 0)).toBe(refSkipJsonValue(b, 0));
    expect(scanString(b, 0)).toBe(ref.scanString(b, 0));
    expect(skipWhitespace(b, 0)).toBe(ref.skipWhitespace(b, 0));
  }
}

/** checkJob's checks (inspect-job.ts) on the reference scanner's spans. */
function referenceJobVerdict(buf: Buffer, spans: ReturnType<typeof refScanPayload>): string | null {
  if (typeof spans === 'string') return spans;
  if (spans.class === null) return 'missing-class';
  if (buf[spans.class.start] !== 0x22) return 'class-not-string';
  if (spans.queue !== null && buf[spans.queue.start] !== 0x22) return 'queue-not-string';
  const w = spans.wrapped;
  if (w !== null && buf[w.start] !== 0x22 && !(w.end - w.start === 4 && buf[w.start] === 0x6e)) return 'wrapped-not-string';
  return null;
}

const payloads = fc.oneof(
  payloadText().map((p) => p.text),
  payloadText({ withQueue: false }).map((p) => p.text),
  payloadText({ className: activeJobClass, args: activeJobArgs }).map((p) => p.text),
  jsonValueText,
);

describe('scanner differential (issue #18)', () => {
  it('gives the same verdict and spans as before on every fixture and each of its mutations', () => {
    const verdicts = new Set<string>();
    for (const fixture of FIXTURES) {
      expectSame(fixture);
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (steps) => {
          const mutated = mutate(fixture, steps);
          expectSame(mutated);
          const v = refScanPayload(mutated);
          verdicts.add(typeof v === 'string' ? v : 'spans');
        }),
        { numRuns: 300 },
      );
    }
    // The mutations reach the verdicts the scanner gives an object (jsonValueText below gives the rest).
    expect([...verdicts].sort()).toEqual(['duplicate-key', 'invalid-json', 'invalid-utf8', 'spans']);
  });

  it('gives the same verdict and spans as before on generated payloads and their mutations', () => {
    fc.assert(
      fc.property(payloads, fc.array(mutation, { maxLength: 3 }), (text, steps) => {
        const buf = Buffer.from(text, 'utf8');
        expectSame(buf);
        expectSame(mutate(buf, steps));
      }),
      { numRuns: 3000 },
    );
  });

  it('classifies an escaped key by its own escapes, not by those of a value read after it', () => {
    const cases = [
      '{"class":"A","args":[{"queue\\u005fname":"a\\nb"}],"queue":"q"}',
      '{"class":"A","args":[{"queue\\u005fname":"x","queue_name":"y\\t"}]}',
      '{"cl\\u0061ss":"A\\"","qu\\u0065ue":"q\\\\","args":[]}',
      '{"class":"A","queue":"q\\u0000","queue":"r"}',
      '{"class":"A","qu\\u0065ue":"q","queue":"r"}',
    ];
    for (const text of cases) expectSame(Buffer.from(text));
    // A stale lastEscape from the previous payload inside an unescaped key changes nothing.
    expectSame(Buffer.from('{"aaaaaaaaa\\n":1}'));
    expectSame(Buffer.from('{"bbbbbbbbbbbb":1,"class":"A"}'));
  });

  it('refuses deep nesting alike', () => {
    for (const depth of [1, 63, 64, 65, 1000, 100_000]) {
      expectSame(Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`));
      expectSame(Buffer.from(`{"class":"A","args":${'['.repeat(depth)}${']'.repeat(depth - 1)}}`));
    }
    expect(scanPayload(Buffer.from('['.repeat(1_000_000)))).toBe('invalid-json');
    expect(FAIL).toBe(ref.FAIL);
  });
});
