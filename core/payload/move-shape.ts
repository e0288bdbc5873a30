import { encodedJsonString, encodeJsonString } from './encode-json-string.js';
import { inspectJob, type JobRouteFields } from './inspect-job.js';
import { rewriteQueue, rewritesQueueName, splice, type Edit, type RewriteQueueOptions } from './rewrite-queue.js';

/**
 * What a rewrite (rewriteQueue) of a job from queue `from` to queue `to` replaced that the two
 * names alone do not tell, so that a rollback can give back the exact bytes. Undoing by name
 * alone writes `from` where the rewrite wrote `to`: the `queue` value, and `args[0].queue_name`
 * when it names `to`. That is exact for the jobs Sidekiq writes, and wrong when
 * - the payload had no `queue` (the rewrite inserted `"queue":"to",` after its `{`): `queue` null;
 * - its `queue` was spelled otherwise (`"d\u0065fault"`), or named another queue than the list
 *   it waited in (`from`): `queue` holds the original JSON text;
 * - its `queue_name` was rewritten but spelled otherwise, or was not rewritten yet named `to`
 *   already (it disagreed with `queue`, so it was left as it was): `queueName` holds its JSON text.
 * Empty (`{}`) for the usual job. Texts are valid UTF-8: an unparsable payload is never rewritten.
 */
export interface MoveShape {
  readonly queue?: string | null;
  readonly queueName?: string;
}

/** The usual shape: undoing by name is exact. */
export const PLAIN_SHAPE: MoveShape = Object.freeze({});

/**
 * The shape of `rewriteQueue(buf, job, to, opts)` seen as a move from `from` (the queue the job
 * is recorded as coming from). Costs no scan: the spans are `inspectJob(buf)`'s.
 */
export function moveShape(buf: Buffer, job: JobRouteFields, from: string | null, to: string, opts: RewriteQueueOptions = {}): MoveShape {
  // An entry without `queue` in a set is recorded as from null: it cannot go back (reverse-plan.ts).
  if (from === null) return PLAIN_SHAPE;
  const { spans } = job;
  // The usual job: `from` is its own `queue`, written plainly, and no queue_name to look at.
  // A JSON string's bytes are as many as its text's UTF-16 units only when every one is ASCII and
  // unescaped (an escape or a non-ASCII character takes more bytes than units), and such a text is
  // exactly how encodeJsonString writes it: the comparison below would find it plain. Decided
  // without looking the name up (encodedName) and comparing its bytes, for every job a re-route
  // moves (issue #18; test/unit/payload/move-shape-shortcut.test.ts).
  if (from === job.queue && spans.queue !== null && spans.queue.end - spans.queue.start - 2 === from.length && (spans.argsQueueName === null || job.activeJobQueueName === null)) return PLAIN_SHAPE;
  const plain = encodedName(from);
  // A name no payload can hold: such jobs cannot go back (reverse-plan.ts).
  if (plain === null) return PLAIN_SHAPE;
  const shape: { queue?: string | null; queueName?: string } = {};
  if (spans.queue === null) shape.queue = null;
  else if (!holdsAt(buf, spans.queue, plain)) shape.queue = buf.toString('utf8', spans.queue.start, spans.queue.end);
  const name = spans.argsQueueName;
  if (name !== null && job.activeJobQueueName !== null) {
    const text = buf.subarray(name.start, name.end);
    const undoneByName = rewritesQueueName(job, opts) ? plain.equals(text) : job.activeJobQueueName !== to;
    if (!undoneByName) shape.queueName = text.toString('utf8');
  }
  return shape.queue === undefined && shape.queueName === undefined ? PLAIN_SHAPE : shape;
}

/**
 * Whether `buf` holds exactly `bytes` over `span`: a loop rather than `equals(subarray(…))`, which
 * allocates a Buffer and crosses into C++ for a name of a few dozen bytes, once for every job a
 * re-route moves (issue #18).
 */
function holdsAt(buf: Buffer, span: { readonly start: number; readonly end: number }, bytes: Buffer): boolean {
  if (span.end - span.start !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[span.start + i] !== bytes[i]) return false;
  return true;
}

/**
 * `from` as JSON text, or null when no payload can hold it. From encodedJsonString's cache: this
 * runs for every job a re-route moves, and a set's jobs come from many queues (issue #18).
 */
function encodedName(name: string): Buffer | null {
  try {
    return encodedJsonString(name);
  } catch {
    return null;
  }
}

/**
 * A shape as a stable string, to tell shapes apart (the empty string for the usual one). An object,
 * not an array: JSON writes an absent `queue` and a null one (inserted by the rewrite) both as
 * `null` in an array, and the two shapes give back different bytes.
 */
export function shapeKey(shape: MoveShape): string {
  return shape.queue === undefined && shape.queueName === undefined ? '' : JSON.stringify({ queue: shape.queue, queueName: shape.queueName });
}

const QUEUE_MEMBER = Buffer.from('"queue":');
const COMMA = 0x2c;

/**
 * The payload that rewriteQueue (default options) turned into `buf` when it moved it from `from`
 * to `to` with this shape, or null when `buf` is not such a rewrite (a job that arrived on `to`
 * since, a job of another shape). Checked by doing the rewrite again: the result is returned only
 * if rewriting it to `to` gives back `buf` byte for byte.
 */
export function undoMove(buf: Buffer, job: JobRouteFields, from: string, to: string, shape: MoveShape): Buffer | null {
  const { spans } = job;
  if (spans.queue === null) return null;
  const edits: Edit[] = [];
  if (shape.queue === null) {
    // Inserted right after `{` as `"queue":TO,`: only that exact member can be taken out again.
    const at = spans.objectStart + 1;
    if (spans.queue.start !== at + QUEUE_MEMBER.length || !QUEUE_MEMBER.equals(buf.subarray(at, spans.queue.start)) || buf[spans.queue.end] !== COMMA) return null;
    edits.push({ start: at, end: spans.queue.end + 1, bytes: [] });
  } else {
    edits.push({ start: spans.queue.start, end: spans.queue.end, bytes: [shape.queue === undefined ? encodeJsonString(from) : Buffer.from(shape.queue, 'utf8')] });
  }
  const name = spans.argsQueueName;
  if (shape.queueName !== undefined) {
    if (name === null) return null;
    edits.push({ start: name.start, end: name.end, bytes: [Buffer.from(shape.queueName, 'utf8')] });
  } else if (name !== null && job.activeJobQueueName === to) {
    edits.push({ start: name.start, end: name.end, bytes: [encodeJsonString(from)] });
  }
  const original = splice(buf, edits);
  const fields = inspectJob(original);
  if (fields.kind !== 'job') return null;
  return rewriteQueue(original, fields, to).equals(buf) ? original : null;
}

/**
 * What a rollback writes for `buf` (of a class a run moved from `from` to `to`, with these
 * shapes): the one original a recorded shape gives back; a job none of them gives back (it
 * arrived since) rewritten by name, as Sidekiq would have written it for `from`; null when
 * several shapes give back different originals: which one it had cannot be told.
 */
export function restoreFromMove(buf: Buffer, job: JobRouteFields, from: string, to: string, shapes: readonly MoveShape[]): Buffer | null {
  let found: Buffer | null = null;
  for (const shape of shapes) {
    const original = undoMove(buf, job, from, to, shape);
    if (original === null) continue;
    if (found !== null && !found.equals(original)) return null;
    found = original;
  }
  return found ?? rewriteQueue(buf, job, from);
}
