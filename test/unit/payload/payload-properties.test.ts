// Property tests: the rewrite is a byte splice over any JSON a client could write, and the scanner
// agrees with JSON.parse on what is JSON at all.
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkJob, inspectJob, inspectJobRoute, jobJid } from '../../../core/payload/inspect-job.js';
import { rewriteQueue } from '../../../core/payload/rewrite-queue.js';
import { scanPayload } from '../../../core/payload/scan-payload.js';
import { activeJobArgs, activeJobClass, jsonValueText, payloadText, queueName as newQueueName } from './json-text-arbitraries.js';
import { bytes, expectJob, expectOnlyQueueChanged, parseJson } from './payload-test-support.js';

const RUNS = { numRuns: 300 };

/** What JSON.parse says: is this buffer one JSON document? */
function jsonParseAccepts(buf: Buffer): boolean {
  if (!isUtf8(buf)) return false;
  try {
    JSON.parse(buf.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

const scannerAccepts = (buf: Buffer) => {
  const result = scanPayload(buf);
  return result !== 'invalid-json' && result !== 'invalid-utf8';
};

describe('payload properties', () => {
  it('reads queue and class as JSON.parse does, and a rewrite changes only the queue value', () => {
    fc.assert(
      fc.property(payloadText(), newQueueName, ({ text, queue }, newQueue) => {
        // Prepare
        const payload = bytes(text);
        const parsed = parseJson(payload);

        // Act
        const fields = expectJob(inspectJob(payload));
        const rewritten = rewriteQueue(payload, fields, newQueue);

        // Assess
        expect(fields.queue).toBe(queue);
        expect(fields.className).toBe(parsed.class);
        expectOnlyQueueChanged(payload, rewritten, newQueue, { queueNameToo: false });
        expect(parseJson(rewritten)).toEqual({ ...parsed, queue: newQueue });
      }),
      RUNS,
    );
  });

  it('ActiveJob: args[0].queue_name equal to the old queue (however spelled) is rewritten too', () => {
    fc.assert(
      fc.property(payloadText({ className: activeJobClass, args: activeJobArgs }), newQueueName, ({ text }, newQueue) => {
        // Prepare
        const payload = bytes(text);
        const parsed = parseJson(payload) as { args: [Record<string, unknown>, ...unknown[]] };

        // Act
        const fields = expectJob(inspectJob(payload));
        const rewritten = rewriteQueue(payload, fields, newQueue);

        // Assess
        expect(fields.activeJobQueueName).toBe(fields.queue);
        expectOnlyQueueChanged(payload, rewritten, newQueue, { queueNameToo: true });
        const [first, ...rest] = parsed.args;
        expect(parseJson(rewritten)).toEqual({ ...parsed, queue: newQueue, args: [{ ...first, queue_name: newQueue }, ...rest] });
      }),
      RUNS,
    );
  });

  it('ActiveJob: a queue_name that differs from the old queue is left alone', () => {
    fc.assert(
      fc.property(
        payloadText({ className: activeJobClass, args: (q) => activeJobArgs(`${q}-other`) }),
        newQueueName,
        ({ text }, newQueue) => {
          // Prepare
          const payload = bytes(text);

          // Act
          const rewritten = rewriteQueue(payload, expectJob(inspectJob(payload)), newQueue);

          // Assess
          expectOnlyQueueChanged(payload, rewritten, newQueue, { queueNameToo: false });
        },
      ),
      RUNS,
    );
  });

  it('a payload without queue gets "queue":NEW, inserted after its "{", nothing else', () => {
    fc.assert(
      fc.property(payloadText({ withQueue: false }), newQueueName, ({ text }, newQueue) => {
        // Prepare
        const payload = bytes(text);
        const brace = payload.indexOf('{');

        // Act
        const fields = expectJob(inspectJob(payload));
        const rewritten = rewriteQueue(payload, fields, newQueue);

        // Assess
        expect(fields.queue).toBeNull();
        const inserted = bytes(`"queue":${JSON.stringify(newQueue)},`);
        expect(rewritten.equals(Buffer.concat([payload.subarray(0, brace + 1), inserted, payload.subarray(brace + 1)]))).toBe(true);
        expect(parseJson(rewritten)).toEqual({ ...parseJson(payload), queue: newQueue });
      }),
      RUNS,
    );
  });

  it('accepts exactly what JSON.parse accepts: generated JSON values', () => {
    fc.assert(
      fc.property(jsonValueText, (text) => {
        // Prepare
        const buf = bytes(text);

        // Act
        const accepted = scannerAccepts(buf);

        // Assess
        expect(accepted).toBe(true);
        expect(jsonParseAccepts(buf)).toBe(true);
      }),
      RUNS,
    );
  });

  it('accepts exactly what JSON.parse accepts: payloads with one byte deleted, inserted or replaced', () => {
    const mutation = fc.tuple(fc.constantFrom('delete', 'insert', 'replace'), fc.nat(), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(payloadText(), mutation, ({ text }, [kind, at, byte]) => {
        // Prepare
        const original = bytes(text);
        const i = at % (original.length + 1);
        const tail = kind === 'insert' ? original.subarray(i) : original.subarray(i + 1);
        const middle = kind === 'delete' ? [] : [Buffer.from([byte])];
        const mutated = Buffer.concat([original.subarray(0, i), ...middle, tail]);

        // Act
        const accepted = scannerAccepts(mutated);

        // Assess
        expect(accepted).toBe(jsonParseAccepts(mutated));
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts exactly what JSON.parse accepts: strings over a JSON-heavy alphabet', () => {
    const token = fc.constantFrom(
      ...['{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '1', '9', '-', '+', '.', 'e', 'E'],
      ...[' ', '\n', '\t', 'true', 'false', 'null', 'nul', '"queue"', '"class":"C"', 'é', '\x01', '\\u00e9', '\\ud800'],
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 30 }), (tokens) => {
        // Prepare
        const buf = bytes(tokens.join(''));

        // Act
        const accepted = scannerAccepts(buf);

        // Assess
        expect(accepted).toBe(jsonParseAccepts(buf));
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on random bytes, and only calls valid JSON objects with a string class jobs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => {
        // Prepare
        const buf = Buffer.from(raw);

        // Act
        const result = inspectJob(buf);

        // Assess
        if (!isUtf8(buf)) expect(result).toEqual({ kind: 'unparsable', reason: 'invalid-utf8' });
        else if (!jsonParseAccepts(buf)) expect(result).toEqual({ kind: 'unparsable', reason: 'invalid-json' });
        else if (result.kind === 'job') expect(typeof parseJson(buf).class).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });

  it('checkJob (a transfer without routing) decides as inspectJob: the same reason, or a job', () => {
    // Payloads, members of every type where `class`, `queue` and `wrapped` go, and random bytes.
    const anyMember = (key: string) => fc.option(jsonValueText.map((v) => `"${key}":${v}`), { nil: undefined });
    const fields = fc.tuple(anyMember('class'), anyMember('queue'), anyMember('wrapped'), jsonValueText).map(([c, q, w, v]) => `{${[c, q, w, `"args":[${v}]`].filter(Boolean).join(',')}}`);
    const texts = fc.oneof(payloadText().map((p) => p.text), fields, jsonValueText);
    const inputs = fc.oneof(texts.map(bytes), fc.uint8Array({ maxLength: 200 }).map((raw) => Buffer.from(raw)));
    fc.assert(
      fc.property(inputs, (buf) => {
        // Act
        const checked = checkJob(buf);
        const inspected = inspectJob(buf);

        // Assess
        expect(typeof checked === 'string' ? checked : 'job').toBe(inspected.kind === 'unparsable' ? inspected.reason : 'job');
      }),
      { numRuns: 2000 },
    );
  });

  it('calls every truncated payload unparsable', () => {
    fc.assert(
      fc.property(payloadText(), fc.nat(), ({ text }, at) => {
        // Prepare
        const full = bytes(text.trimEnd());
        const truncated = full.subarray(0, at % full.length);

        // Act
        const result = inspectJob(truncated);

        // Assess
        expect(result.kind).toBe('unparsable');
        expect(['invalid-json', 'invalid-utf8']).toContain(result.kind === 'unparsable' ? result.reason : 'job');
      }),
      RUNS,
    );
  });

  it('calls a payload with an invalid UTF-8 sequence in any string invalid-utf8', () => {
    const badSequence = fc.constantFrom([0x80], [0xc0, 0xaf], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [0xe2, 0x82]);
    fc.assert(
      fc.property(payloadText(), badSequence, fc.nat(), ({ text }, bad, at) => {
        // Prepare: right after some quote, so mostly inside a key or a string value.
        const payload = bytes(text);
        const quotes = [...payload.keys()].filter((i) => payload[i] === 0x22);
        const i = quotes[at % quotes.length]! + 1;
        const corrupted = Buffer.concat([payload.subarray(0, i), Buffer.from(bad), payload.subarray(i)]);

        // Act
        const result = inspectJob(corrupted);

        // Assess
        expect(result).toEqual({ kind: 'unparsable', reason: 'invalid-utf8' });
      }),
      RUNS,
    );
  });

  it('inspectJobRoute (a re-route\'s read) agrees with inspectJob on every field it gives, and jobJid on the jid', () => {
    const anyPayload = fc.oneof(payloadText(), payloadText({ className: activeJobClass, args: activeJobArgs }));
    fc.assert(
      fc.property(anyPayload, fc.nat(), ({ text }, cut) => {
        // Prepare: the payload whole, and cut short (unparsable)
        for (const payload of [bytes(text), bytes(text).subarray(0, cut % (text.length + 1))]) {
          // Act
          const full = inspectJob(payload);
          const route = inspectJobRoute(payload);

          // Assess
          if (full.kind === 'unparsable') {
            expect(route).toEqual(full);
            continue;
          }
          const { jid, enqueuedAt, enqueuedAtText, ...routeFields } = full;
          expect(route).toEqual(routeFields);
          expect(route.kind === 'job' ? jobJid(payload, route) : 'not a job').toBe(jid);
          void enqueuedAt;
          void enqueuedAtText;
        }
      }),
      RUNS,
    );
  });
});
