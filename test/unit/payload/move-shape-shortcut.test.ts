import { describe, expect, it } from 'vitest';
import { encodedJsonString } from '../../../core/payload/encode-json-string.js';
import { inspectJob, type JobRouteFields } from '../../../core/payload/inspect-job.js';
import { moveShape, PLAIN_SHAPE, type MoveShape } from '../../../core/payload/move-shape.js';
import { rewritesQueueName, type RewriteQueueOptions } from '../../../core/payload/rewrite-queue.js';
import { bytes, expectJob } from './payload-test-support.js';

/**
 * moveShape before it took the usual set entry's shape from the lengths alone (issue #18,
 * bench/README.md audit-examine): every `from` looked up as JSON text and compared with the bytes.
 */
function referenceMoveShape(buf: Buffer, job: JobRouteFields, from: string | null, to: string, opts: RewriteQueueOptions = {}): MoveShape {
  if (from === null) return PLAIN_SHAPE;
  let plain: Buffer;
  try {
    plain = encodedJsonString(from);
  } catch {
    return PLAIN_SHAPE;
  }
  const { spans } = job;
  const shape: { queue?: string | null; queueName?: string } = {};
  if (spans.queue === null) shape.queue = null;
  else if (!plain.equals(buf.subarray(spans.queue.start, spans.queue.end))) shape.queue = buf.toString('utf8', spans.queue.start, spans.queue.end);
  const name = spans.argsQueueName;
  if (name !== null && job.activeJobQueueName !== null) {
    const text = buf.subarray(name.start, name.end);
    const undoneByName = rewritesQueueName(job, opts) ? plain.equals(text) : job.activeJobQueueName !== to;
    if (!undoneByName) shape.queueName = text.toString('utf8');
  }
  return shape.queue === undefined && shape.queueName === undefined ? PLAIN_SHAPE : shape;
}

const AJ = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';

// `queue` values as JSON text: plain, escaped so that the text is shorter than the bytes by one
// (`\/`, `\u0065`), non-ASCII raw (2, 3 and 4 bytes, the last two UTF-16 units) and escaped,
// a surrogate pair escaped, DEL raw, the empty name, and names of equal length that differ.
const QUEUE_TEXTS = [
  '"default"',
  '"d\\u0065fault"',
  '"a\\/b"',
  '"a/b"',
  '"\\"q\\""',
  '"back\\\\slash"',
  '"tab\\there"',
  '"héllo"',
  '"h\\u00e9llo"',
  '"✓ok"',
  '"😀x"',
  '"\\ud83d\\ude00x"',
  '"del\u007f"',
  '""',
  '"defaulu"',
  '"mailers"',
];

function payloads(): string[] {
  const out: string[] = [];
  for (const q of QUEUE_TEXTS) {
    out.push(`{"class":"C","queue":${q},"args":[1]}`);
    for (const qn of [...QUEUE_TEXTS, '1', 'null']) {
      out.push(`{"class":"${AJ}","wrapped":"W","queue":${q},"args":[{"job_class":"W","queue_name":${qn}}]}`);
    }
  }
  out.push('{"class":"C","args":[1]}');
  out.push(`{"class":"${AJ}","wrapped":"W","args":[{"queue_name":"default"}]}`);
  return out;
}

describe('moveShape, the usual set entry decided from lengths', () => {
  it('gives the shape the full comparison gives, for every spelling of queue and queue_name', () => {
    let compared = 0;
    let plainShortcut = 0;
    for (const text of payloads()) {
      const buf = bytes(text);
      const job = expectJob(inspectJob(buf));
      const froms = [job.queue, 'default', 'héllo', 'a/b', '"q"', 'mailers', null];
      for (const from of froms) {
        for (const to of ['mailers', 'default', 'héllo']) {
          for (const activeJobQueueName of [true, false]) {
            const opts = { activeJobQueueName };
            const got = moveShape(buf, job, from, to, opts);
            expect({ text, from, to, activeJobQueueName, shape: got }).toEqual({ text, from, to, activeJobQueueName, shape: referenceMoveShape(buf, job, from, to, opts) });
            compared++;
            if (got === PLAIN_SHAPE && from === job.queue) plainShortcut++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(10_000);
    expect(plainShortcut).toBeGreaterThan(100);
  });
});
