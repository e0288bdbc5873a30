// The payload scan made cheaper (audit-scan-speed, issue #18) against the scanner before audit-scan
// (reference-scanner/, kept verbatim): string bodies read four bytes a step, whitespace looked for
// only where the expected byte is missing, scalars skipped without the container loop, and the
// fields inspectJob decodes sliced without a second look for a backslash when the scan passed
// none. Each must decide exactly as before, so the cases below sit where those shortcuts could
// differ: every byte that ends or breaks a string at every offset from its start and from the end
// of the buffer, whitespace (and what is not whitespace) before and after every token, and
// escapes left behind by the payload scanned just before.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJsonString } from '../../../core/payload/decode-json-string.js';
import { inspectJob, inspectJobRoute } from '../../../core/payload/inspect-job.js';
import { scanString } from '../../../core/payload/json-lexer.js';
import { scanPayload } from '../../../core/payload/scan-payload.js';
import { skipJsonValue } from '../../../core/payload/skip-json-value.js';
import { ACTIVE_JOB_WRAPPERS } from '../../../core/routing/routed-class.js';
import { activeJobArgs, activeJobClass, payloadText } from './json-text-arbitraries.js';
import * as ref from './reference-scanner/json-lexer.js';
import { scanPayload as refScanPayload, type Span } from './reference-scanner/scan-payload.js';
import { skipJsonValue as refSkipJsonValue } from './reference-scanner/skip-json-value.js';

/** Byte runs that end, break or continue a string body. */
const INSIDE = [
  '"', '\\', '\\"', '\\\\', '\\n', '\\u0041', '\\u004', '\\uZZZZ', '\\x', '\u007f', ' ', 'é', '✓', '😀',
].map((s) => Buffer.from(s)).concat([0x00, 0x09, 0x0a, 0x0d, 0x1f].map((b) => Buffer.from([b])));

/** Same verdict, spans and string/value ends as the reference, the buffer alone and inside a larger one. */
function expectSame(buf: Buffer): void {
  for (const b of [buf, Buffer.concat([Buffer.from('{"'), buf]).subarray(2)]) {
    expect(scanPayload(b)).toEqual(refScanPayload(b));
    expect(skipJsonValue(b, 0)).toBe(refSkipJsonValue(b, 0));
    expect(scanString(b, 0)).toBe(ref.scanString(b, 0));
  }
}

describe('cheaper payload scan against the reference (audit-scan-speed, issue #18)', () => {
  it('ends, refuses and carries on through string bodies as before at every length and offset', () => {
    let compared = 0;
    for (let before = 0; before <= 13; before++) {
      for (const piece of INSIDE) {
        for (let after = 0; after <= 9; after++) {
          const body = Buffer.concat([Buffer.from('abcdefghijklm'.slice(0, before)), piece, Buffer.from('nopqrstuv'.slice(0, after))]);
          const token = Buffer.concat([Buffer.from('"'), body, Buffer.from('"')]);
          // The token alone (its end at the buffer's end), cut at every length, and as a value
          // inside a payload, as a key, and inside args.
          for (let cut = 0; cut <= token.length; cut++) expectSame(token.subarray(0, cut));
          for (const text of [
            `{"class":"A","queue":${token.toString()},"x":1}`,
            `{"class":"A",${token.toString()}:1,"queue":"q"}`,
            `{"class":"A","args":[${token.toString()},{"k":${token.toString()}}],"queue":"q"}`,
            `{"class":${token.toString()},"queue":${token.toString()}}`,
          ])
            expectSame(Buffer.from(text));
          // Closed right after the token, so that the token ends near the buffer's end.
          expectSame(Buffer.concat([Buffer.from('{"class":"A","queue":'), token, Buffer.from('}')]));
          expectSame(Buffer.concat([Buffer.from('{"class":"A","args":['), token, Buffer.from(']}')]));
          compared++;
        }
      }
    }
    expect(compared).toBe(14 * INSIDE.length * 10);
  });

  it('reads whitespace (and what is not whitespace) before and after every token as before', () => {
    const base = '{"class":"A","queue":"q","args":[{"queue_name":"n","x":[1,{"y":null}]},2,"s"],"jid":"j","n":-1.5e3}';
    const spaces = [' ', '\t', '\n', '\r', '\r\n  ', '\f', '\u00a0', '\u000b', '\u0000'];
    let refused = 0;
    for (let i = 0; i <= base.length; i++) {
      for (const ws of spaces) {
        const buf = Buffer.from(base.slice(0, i) + ws + base.slice(i));
        expectSame(buf);
        if (typeof refScanPayload(buf) === 'string') refused++;
      }
      // Cut short there too, with and without a space at the cut.
      expectSame(Buffer.from(base.slice(0, i)));
      expectSame(Buffer.from(`${base.slice(0, i)} `));
    }
    // Whitespace between tokens passes and inside tokens or not-whitespace fails: both were met.
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan((base.length + 1) * spaces.length);
  });

  it('decodes the fields a re-route reads as before, whatever escape the previous payload left', () => {
    const payloads = fc.oneof(
      payloadText().map((p) => p.text),
      payloadText({ withQueue: false }).map((p) => p.text),
      payloadText({ className: activeJobClass, args: activeJobArgs }).map((p) => p.text),
    );
    // A payload with an escape far into it, scanned right before: its lastEscape lies inside
    // the next payload's class or queue when nothing resets it.
    const escapedLate = fc.nat(400).map((n) => `{"class":"B","queue":"q","args":["${'x'.repeat(n)}\\n"]}`);
    fc.assert(
      fc.property(escapedLate, payloads, (first, text) => {
        for (const t of [first, text]) {
          const buf = Buffer.from(t, 'utf8');
          const expected = referenceFields(buf);
          const job = inspectJob(buf);
          const route = inspectJobRoute(buf);
          if (expected === null) {
            expect(job.kind).toBe('unparsable');
            expect(route.kind).toBe('unparsable');
            continue;
          }
          expect(job).toMatchObject(expected);
          expect(route).toMatchObject(expected);
          // And JavaScript's own reading of the same text.
          const parsed = JSON.parse(t) as Record<string, unknown>;
          expect(expected.className).toBe(parsed.class);
          expect(expected.queue).toBe(typeof parsed.queue === 'string' ? parsed.queue : null);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('decodes escaped and plain names alike after a payload that left an escape at their offset', () => {
    const late = Buffer.from(`{"class":"Z","args":["${'y'.repeat(30)}\\t"],"queue":"z"}`);
    const names = ['"Plain"', '"Esc\\u0061ped"', '"tab\\there"', '"q\\"uote"', '"\\\\"', '"é✓"'];
    for (const cls of names) {
      for (const queue of names) {
        for (const wrapper of [null, [...ACTIVE_JOB_WRAPPERS][0]!]) {
          const text =
            wrapper === null
              ? `{"class":${cls},"queue":${queue},"wrapped":${cls}}`
              : `{"class":${JSON.stringify(wrapper)},"queue":${queue},"wrapped":${cls},"args":[{"queue_name":${queue}}]}`;
          inspectJobRoute(late);
          const buf = Buffer.from(text);
          const expected = referenceFields(buf)!;
          expect(inspectJobRoute(buf)).toMatchObject(expected);
          inspectJob(late);
          expect(inspectJob(buf)).toMatchObject(expected);
          expect(expected.queue).toBe(JSON.parse(queue));
        }
      }
    }
  });
});

/** inspectJob's routing fields as computed before: the reference scanner's spans, each string decoded in full. */
function referenceFields(buf: Buffer): {
  className: string;
  wrapped: string | null;
  queue: string | null;
  activeJobQueueName: string | null;
} | null {
  const spans = refScanPayload(buf);
  if (typeof spans === 'string' || spans.class === null) return null;
  const str = (s: Span | null): string | null => (s !== null && buf[s.start] === 0x22 ? decodeJsonString(buf, s.start, s.end) : null);
  if (buf[spans.class.start] !== 0x22) return null;
  if (spans.queue !== null && buf[spans.queue.start] !== 0x22) return null;
  const w = spans.wrapped;
  if (w !== null && buf[w.start] !== 0x22 && !(w.end - w.start === 4 && buf[w.start] === 0x6e)) return null;
  const className = str(spans.class)!;
  const isActiveJob = ACTIVE_JOB_WRAPPERS.has(className);
  return {
    className,
    wrapped: str(spans.wrapped),
    queue: str(spans.queue),
    activeJobQueueName: isActiveJob ? str(spans.argsQueueName) : null,
  };
}
