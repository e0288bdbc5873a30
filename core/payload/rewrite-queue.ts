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
  return queueRewrite(buf, job, newQueue, opts).toBuffer();
}

/**
 * rewriteQueue's result before its bytes are put together: written by the RESP encoding straight
 * into the command that carries it (encoded-command.ts), so that the rewrite is copied once, there,
 * rather than into a buffer of its own first and into the command then (issue #18).
 */
export function queueRewrite(buf: Buffer, job: JobRouteFields, newQueue: string, opts: RewriteQueueOptions = {}): Splice {
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
  return new Splice(buf, edits);
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
  return new Splice(buf, edits).toBuffer();
}

/**
 * `buf` with non-overlapping edits applied, not yet written anywhere: `writeTo` puts its bytes
 * where they are needed (a command's buffer, encoded-command.ts's WrittenPart), `toBuffer` into
 * a buffer of their own. Holds `buf`, which must not change meanwhile (a reply's bytes never do).
 */
export class Splice {
  /** Its length in bytes. */
  readonly length: number;
  private readonly edits: Edit[];
  /** Where writeTo last wrote it (see writtenBytes). */
  private lastOut: Buffer | null = null;
  private lastAt = 0;

  constructor(
    private readonly buf: Buffer,
    edits: Edit[],
  ) {
    edits.sort((a, b) => a.start - b.start);
    let length = buf.length;
    for (const edit of edits) {
      length -= edit.end - edit.start;
      for (const part of edit.bytes) length += part.length;
    }
    this.edits = edits;
    this.length = length;
  }

  /** Writes its bytes at `at` of `out` (exactly `length` of them). */
  writeTo(out: Buffer, at: number): void {
    const { buf, edits } = this;
    this.lastOut = out;
    this.lastAt = at;
    let from = 0;
    for (let e = 0; e < edits.length; e++) {
      const edit = edits[e]!;
      at = copyRange(buf, from, edit.start, out, at);
      const bytes = edit.bytes;
      for (let p = 0; p < bytes.length; p++) at = copyRange(bytes[p]!, 0, bytes[p]!.length, out, at);
      from = edit.end;
    }
    copyRange(buf, from, buf.length, out, at);
  }

  /** Its bytes in a buffer of their own. */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    this.writeTo(out, 0);
    return out;
  }

  /**
   * Its bytes where writeTo last wrote them into `out` (a view, no copy), else in a buffer of their
   * own: what a later part of the same command may read (set-page.ts's digest of a rewrite).
   */
  writtenBytes(out: Buffer): Buffer {
    return this.lastOut === out ? out.subarray(this.lastAt, this.lastAt + this.length) : this.toBuffer();
  }
}

/**
 * Below this many bytes a range is copied byte by byte: Node 20's `Buffer.copy` of part of a
 * buffer makes a Uint8Array view of that part first (`_copyActual`), two or three per moved job,
 * and crosses into C++ for a copy of a few bytes (a payload's head up to its queue, a queue name).
 */
const SHORT_COPY = 128;

/** Copies `src[start, end)` to `out` at `at`; returns where it ended. */
function copyRange(src: Buffer, start: number, end: number, out: Buffer, at: number): number {
  const n = end - start;
  if (n < SHORT_COPY) {
    for (let i = 0; i < n; i++) out[at + i] = src[start + i]!;
    return at + n;
  }
  return at + src.copy(out, at, start, end);
}
