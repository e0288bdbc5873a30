import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { encodedJsonString } from './encode-json-string.js';
import type { JobRouteFields } from './inspect-job.js';

export interface RewriteQueueOptions {
  /**
   * Also rewrite `args[0].queue_name` of an ActiveJob wrapper when it names the old queue:
   * ActiveJob's `retry_on` re-enqueues to that queue, not to Sidekiq's. Default true.
   */
  readonly activeJobQueueName?: boolean;
}

/** What Sidekiq's client merges in for a job without a `queue`. */
const DEFAULT_QUEUE = 'default';
const QUEUE_MEMBER = Buffer.from('"queue":');
const COMMA = Buffer.from(',');

/**
 * The payload with its queue set to `newQueue`, every other byte as it was: numbers such as
 * `1.0`, `-0.0` or 2**64 are never parsed, key order and whitespace stay. `job` must come from
 * `inspectJob(buf)` (or `inspectJobRoute(buf)`) on this very buffer.
 *
 * The new name is written the way Ruby's JSON.generate writes it (encode-json-string.ts), so the
 * result is what Sidekiq itself would have stored for a job pushed to `newQueue`.
 *
 * A payload without a top-level `queue` gets `"queue":NEW,` inserted right after its `{`. Sidekiq
 * reads a missing queue as "default": left out, the member would send a scheduled or retried job
 * back to `queue:default` when it is due, whatever list we moved it to. Inserting a member is the
 * only way to make the payload say where it now is; first place because we know where `{` is
 * without another scan, and because key order means nothing to Sidekiq.
 */
export function rewriteQueue(buf: Buffer, job: JobRouteFields, newQueue: string, opts: RewriteQueueOptions = {}): Buffer {
  const { spans } = job;
  if (spans.length !== buf.length) throw new FatalError('rewriteQueue: the job fields were read from another payload');
  const encoded = encodedJsonString(newQueue);
  const edits: Edit[] =
    spans.queue === null
      ? [{ start: spans.objectStart + 1, end: spans.objectStart + 1, bytes: [QUEUE_MEMBER, encoded, COMMA] }]
      : [{ start: spans.queue.start, end: spans.queue.end, bytes: [encoded] }];
  if (rewritesQueueName(job, opts)) {
    edits.push({ start: spans.argsQueueName!.start, end: spans.argsQueueName!.end, bytes: [encoded] });
  }
  return splice(buf, edits);
}

/**
 * Whether rewriteQueue also rewrites this job's `args[0].queue_name`. Only a queue_name that
 * agrees with the old queue: one that differs was set on purpose. (Also what a rollback must
 * know to undo exactly what the rewrite changed, move-shape.ts.)
 */
export function rewritesQueueName(job: JobRouteFields, opts: RewriteQueueOptions = {}): boolean {
  return (opts.activeJobQueueName ?? true) && job.activeJobQueueName === (job.queue ?? DEFAULT_QUEUE) && job.spans.argsQueueName !== null;
}

/** Replace `[start, end)` with the concatenation of `bytes`. */
export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly bytes: readonly Buffer[];
}

/** Applies non-overlapping edits into one new buffer, copying everything between them as is. */
export function splice(buf: Buffer, edits: Edit[]): Buffer {
  edits.sort((a, b) => a.start - b.start);
  let length = buf.length;
  for (const edit of edits) {
    length -= edit.end - edit.start;
    for (const part of edit.bytes) length += part.length;
  }
  const out = Buffer.allocUnsafe(length);
  let from = 0;
  let to = 0;
  for (const edit of edits) {
    to += buf.copy(out, to, from, edit.start);
    for (const part of edit.bytes) to += part.copy(out, to);
    from = edit.end;
  }
  buf.copy(out, to, from);
  return out;
}
