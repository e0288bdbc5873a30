// The queue rewrite against its version before audit-speed-alloc (reference-rewrite-queue/, kept
// verbatim): Splice.writeTo now copies ranges under SHORT_COPY bytes byte by byte rather than by
// Buffer.copy (which makes a view of each part it copies, issue #18), so every range length on
// either side of that cut must give the same bytes, written exactly where they belong and nowhere
// else. Payloads: the fixtures and generated ones, padded so that the head before the queue, the
// tail after it and the span between queue and queue_name are short, at the cut and long; queue
// names short and long (escapes, non-ASCII); both settings of activeJobQueueName; and splice()
// with arbitrary edits (what undoMove gives it).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspectJobRoute } from '../../../core/payload/inspect-job.js';
import { queueRewrite, rewriteQueue, splice, type Edit } from '../../../core/payload/rewrite-queue.js';
import { activeJobArgs, activeJobClass, payloadText, queueName } from './json-text-arbitraries.js';
import * as ref from './reference-rewrite-queue/rewrite-queue.js';

const FIXTURES = ['sidekiq-6.4-payloads', 'sidekiq-8-payloads'].flatMap((dir) => {
  const path = fileURLToPath(new URL(`../../fixtures/${dir}/`, import.meta.url));
  return readdirSync(path)
    .filter((f) => f.endsWith('.json'))
    .map((f) => readFileSync(path + f));
});

/** Lengths around the cut (SHORT_COPY, 128) and far from it. */
const padLength = fc.oneof(fc.constantFrom(0, 1, 63, 64, 65, 126, 127, 128, 129, 130, 255, 256, 1000), fc.nat(400));
const pad = (n: number): string => `"pad":"${'p'.repeat(n)}"`;

/** A payload text with a member of `n` bytes inserted at its start, its end, or both. */
function padded(text: string, head: number, tail: number): string {
  const open = text.indexOf('{');
  const close = text.lastIndexOf('}');
  const inner = text.slice(open + 1, close);
  const members = [head > 0 ? pad(head) : null, inner.trim() === '' ? null : inner, tail > 0 ? pad(tail + 1) : null].filter((m) => m !== null);
  return `${text.slice(0, open + 1)}${members.join(',')}${text.slice(close)}`;
}

const longName = fc.oneof(queueName, fc.string({ minLength: 100, maxLength: 300 }), fc.string({ unit: 'binary', minLength: 40, maxLength: 200 }));

/** Writes the new Splice at `at` of a buffer filled with a sentinel, checks the bytes around it stayed. */
function expectSameRewrite(buf: Buffer, newQueue: string, activeJobQueueName: boolean): boolean {
  const job = inspectJobRoute(buf);
  if (job.kind === 'unparsable') return false;
  const opts = { activeJobQueueName };
  let expected: Buffer;
  try {
    expected = ref.rewriteQueue(buf, job, newQueue, opts);
  } catch (e) {
    expect(() => rewriteQueue(buf, job, newQueue, opts)).toThrow((e as Error).message);
    return false;
  }
  expect(rewriteQueue(buf, job, newQueue, opts).equals(expected)).toBe(true);
  const s = queueRewrite(buf, job, newQueue, opts);
  expect(s.length).toBe(expected.length);
  for (const at of [0, 7]) {
    const out = Buffer.alloc(at + s.length + 9, 0xee);
    s.writeTo(out, at);
    expect(out.subarray(at, at + s.length).equals(expected)).toBe(true);
    expect(out.subarray(0, at).every((b) => b === 0xee)).toBe(true);
    expect(out.subarray(at + s.length).every((b) => b === 0xee)).toBe(true);
    expect(s.writtenBytes(out).equals(expected)).toBe(true);
  }
  return true;
}

describe('queue rewrite differential (audit-speed-alloc, issue #18)', () => {
  it('writes the same bytes as before for every fixture, padded, with short and long names', () => {
    let rewritten = 0;
    for (const fixture of FIXTURES) {
      fc.assert(
        fc.property(padLength, padLength, longName, fc.boolean(), (head, tail, name, aj) => {
          const text = padded(fixture.toString('utf8'), head, tail);
          if (expectSameRewrite(Buffer.from(text, 'utf8'), name, aj)) rewritten++;
        }),
        { numRuns: 60 },
      );
    }
    expect(rewritten).toBeGreaterThan(FIXTURES.length * 30);
  });

  it('writes the same bytes as before for generated payloads (with and without queue, ActiveJob wrappers)', () => {
    const payloads = fc.oneof(
      payloadText().map((p) => p.text),
      payloadText({ withQueue: false }).map((p) => p.text),
      payloadText({ className: activeJobClass, args: activeJobArgs }).map((p) => p.text),
    );
    let rewritten = 0;
    fc.assert(
      fc.property(payloads, padLength, padLength, longName, fc.boolean(), (text, head, tail, name, aj) => {
        if (expectSameRewrite(Buffer.from(padded(text, head, tail), 'utf8'), name, aj)) rewritten++;
      }),
      { numRuns: 3000 },
    );
    expect(rewritten).toBeGreaterThan(2000);
  });

  it('splices arbitrary non-overlapping edits as before, ranges short and long', () => {
    const input = fc.uint8Array({ maxLength: 700, size: 'max' }).chain((bytes) =>
      fc
        .array(fc.tuple(fc.nat(bytes.length), fc.nat(bytes.length), fc.array(fc.uint8Array({ maxLength: 200, size: 'max' }), { maxLength: 3 })), { maxLength: 4 })
        .map((raw) => {
          // Cut the raw ranges into non-overlapping edits: sorted bounds, every other pair.
          const bounds = raw.flatMap(([a, b]) => [a, b]).sort((x, y) => x - y);
          const edits: Edit[] = [];
          for (let i = 0; i + 1 < bounds.length; i += 2) edits.push({ start: bounds[i]!, end: bounds[i + 1]!, bytes: raw[i >> 1]![2].map((u) => Buffer.from(u)) });
          return { buf: Buffer.from(bytes), edits };
        }),
    );
    fc.assert(
      fc.property(input, ({ buf, edits }) => {
        const shifted = Buffer.concat([Buffer.from('xyz'), buf]).subarray(3);
        for (const b of [buf, shifted]) {
          expect(splice(b, [...edits]).equals(ref.splice(b, [...edits]))).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
