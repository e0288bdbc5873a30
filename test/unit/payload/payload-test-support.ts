// Helpers shared by the payload tests. The oracles here deliberately do not reuse the code under
// test: new names are encoded with JSON.stringify, splices are done with Buffer.concat.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { inspectJob, type JobFields } from '../../../core/payload/inspect-job.js';
import type { Span } from '../../../core/payload/scan-payload.js';
import type { Unparsable } from '../../../core/payload/unparsable.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/sidekiq-6.4-payloads/', import.meta.url));

export function fixtureFiles(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort();
}

export function readFixture(name: string): Buffer {
  return readFileSync(FIXTURE_DIR + name);
}

export const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

/** `buf` with `[span.start, span.end)` replaced by `replacement`. */
export function replaceSpan(buf: Buffer, span: Span, replacement: Buffer): Buffer {
  return Buffer.concat([buf.subarray(0, span.start), replacement, buf.subarray(span.end)]);
}

/** `buf` with several non-overlapping spans replaced, applied right to left so offsets hold. */
export function replaceSpans(buf: Buffer, edits: readonly (readonly [Span, Buffer])[]): Buffer {
  const ordered = [...edits].sort((a, b) => b[0].start - a[0].start);
  return ordered.reduce((out, [span, replacement]) => replaceSpan(out, span, replacement), buf);
}

export function expectJob(result: JobFields | Unparsable): JobFields {
  if (result.kind !== 'job') throw new Error(`expected a job, got unparsable (${result.reason})`);
  return result;
}

export function parseJson(buf: Buffer): Record<string, unknown> {
  return JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
}

/**
 * The full check of one rewrite, for a payload that has a top-level `queue`:
 * - the result is the original with exactly the old value span(s) replaced by the new token;
 * - re-splicing the original value bytes back into the result gives the original, byte for byte;
 * - the result is valid JSON whose `queue` is the new name, and reads back as a job.
 */
export function expectOnlyQueueChanged(
  original: Buffer,
  rewritten: Buffer,
  newQueue: string,
  { queueNameToo }: { queueNameToo: boolean },
): void {
  const before = expectJob(inspectJob(original));
  const oldQueueSpan = before.spans.queue!;
  const token = bytes(JSON.stringify(newQueue));
  const edits: [Span, Buffer][] = [[oldQueueSpan, token]];
  if (queueNameToo) edits.push([before.spans.argsQueueName!, token]);
  expect(rewritten.equals(replaceSpans(original, edits))).toBe(true);

  const after = expectJob(inspectJob(rewritten));
  expect(after.queue).toBe(newQueue);
  expect(after.className).toBe(before.className);
  expect(after.jid).toBe(before.jid);
  expect(after.enqueuedAtText).toBe(before.enqueuedAtText);
  const back: [Span, Buffer][] = [[after.spans.queue!, original.subarray(oldQueueSpan.start, oldQueueSpan.end)]];
  if (queueNameToo) {
    const old = before.spans.argsQueueName!;
    back.push([after.spans.argsQueueName!, original.subarray(old.start, old.end)]);
  }
  expect(replaceSpans(rewritten, back).equals(original)).toBe(true);
  expect(parseJson(rewritten).queue).toBe(newQueue);
}
