import { ACTIVE_JOB_WRAPPERS } from '../routing/routed-class.js';
import { decodeJsonString } from './decode-json-string.js';
import { timestampSeconds } from './job-timestamp.js';
import { QUOTE } from './json-lexer.js';
import {
  scannedEnd,
  scannedEscaped,
  scannedStart,
  scanPayload,
  scanVerdict,
  type PayloadSpans,
  type ScannedMember,
  type Span,
} from './scan-payload.js';
import { unparsable, type Unparsable, type UnparsableReason } from './unparsable.js';

/**
 * What a re-route reads of one job to route and rewrite it, plus where it sits in the bytes so
 * that `rewriteQueue` can splice without scanning again. Structurally a `JobRoutingFields`
 * (routing-plan.ts). The job's other fields (`jid`, `enqueued_at`) are not decoded: a re-route
 * needs them only for the few jobs it names in samples (`jobJid`), and decoding them for every
 * job was a tenth of its examination (issue #18).
 */
export interface JobRouteFields {
  readonly kind: 'job';
  readonly className: string;
  /** The ActiveJob class, for wrappers; null when absent or JSON null. */
  readonly wrapped: string | null;
  /** Null when the payload has no top-level `queue` member, which Sidekiq reads as "default". */
  readonly queue: string | null;
  /** `class` is one of the ActiveJob wrappers (routed-class.ts keeps the list). */
  readonly isActiveJob: boolean;
  /** `args[0].queue_name` of an ActiveJob wrapper when it is a string; null otherwise. */
  readonly activeJobQueueName: string | null;
  /** It carries a sidekiq-unique-jobs digest (`lock_digest` or `unique_digest`). */
  readonly uniqueLock: boolean;
  readonly spans: PayloadSpans;
}

/** What the migrators read of one job: its routing fields, and its `jid` and `enqueued_at`. */
export interface JobFields extends JobRouteFields {
  /** Null when absent or not a string. */
  readonly jid: string | null;
  /** Seconds since the epoch, from Float seconds or Sidekiq 8 Integer milliseconds. */
  readonly enqueuedAt: number | null;
  /** The exact JSON text of `enqueued_at` (whatever its type), or null when absent. */
  readonly enqueuedAtText: string | null;
}

/**
 * Reads a payload's fields without deserialising it. Never throws: anything we would not rewrite
 * safely comes back as `Unparsable` with the reason (see unparsable.ts).
 */
export function inspectJob(buf: Buffer): JobFields | Unparsable {
  const spans = checkJob(buf);
  if (typeof spans === 'string') return unparsable(spans);
  const className = scannedStringAt(buf, spans.class!, 'class')!;
  const isActiveJob = ACTIVE_JOB_WRAPPERS.has(className);
  const { enqueuedAt, argsQueueName } = spans;
  // Built whole here rather than spread from inspectJobRoute's: a transfer reads every job
  // through this, and one object literal keeps one shape.
  return {
    kind: 'job',
    className,
    wrapped: spans.wrapped === null ? null : scannedStringAt(buf, spans.wrapped, 'wrapped'),
    queue: spans.queue === null ? null : scannedStringAt(buf, spans.queue, 'queue'),
    jid: spans.jid === null ? null : stringAt(buf, spans.jid),
    enqueuedAt: enqueuedAt === null ? null : timestampSeconds(buf, enqueuedAt),
    enqueuedAtText: enqueuedAt === null ? null : buf.toString('utf8', enqueuedAt.start, enqueuedAt.end),
    isActiveJob,
    activeJobQueueName: isActiveJob && argsQueueName !== null ? scannedStringAt(buf, argsQueueName, 'argsQueueName') : null,
    uniqueLock: spans.uniqueDigest !== null,
    spans,
  };
}

/**
 * inspectJob's routing fields only (JobRouteFields), for a re-route's examination of every job:
 * the same checks and the same verdict, without decoding `jid` and `enqueued_at`.
 */
export function inspectJobRoute(buf: Buffer): JobRouteFields | Unparsable {
  const spans = checkJob(buf);
  if (typeof spans === 'string') return unparsable(spans);
  const className = scannedStringAt(buf, spans.class!, 'class')!;
  const isActiveJob = ACTIVE_JOB_WRAPPERS.has(className);
  const { argsQueueName } = spans;
  return {
    kind: 'job',
    className,
    wrapped: spans.wrapped === null ? null : scannedStringAt(buf, spans.wrapped, 'wrapped'),
    queue: spans.queue === null ? null : scannedStringAt(buf, spans.queue, 'queue'),
    isActiveJob,
    activeJobQueueName: isActiveJob && argsQueueName !== null ? scannedStringAt(buf, argsQueueName, 'argsQueueName') : null,
    uniqueLock: spans.uniqueDigest !== null,
    spans,
  };
}

/** The job's `jid` (inspectJob's), read from `buf`, the payload `job` was read from. */
export function jobJid(buf: Buffer, job: JobRouteFields): string | null {
  return job.spans.jid === null ? null : stringAt(buf, job.spans.jid);
}

/**
 * What inspectJob decides without decoding a field: why the payload is unparsable, or its spans
 * (then `class` is a string, `queue` a string or absent, `wrapped` a string, null or absent). For
 * a caller that only has to know whether a payload is a job (a transfer without routing carries
 * every payload as it is, and counts the unparsable ones).
 */
export function checkJob(buf: Buffer): PayloadSpans | UnparsableReason {
  const spans = scanPayload(buf);
  if (typeof spans === 'string') return spans;
  if (spans.class === null) return 'missing-class';
  if (buf[spans.class.start] !== QUOTE) return 'class-not-string';
  if (spans.queue !== null && buf[spans.queue.start] !== QUOTE) return 'queue-not-string';
  if (spans.wrapped !== null && buf[spans.wrapped.start] !== QUOTE && !isNull(buf, spans.wrapped)) return 'wrapped-not-string';
  return spans;
}

/**
 * checkJob's verdict alone: why the payload is unparsable, or null when it is a job; the same
 * checks, read from the scan's own table (scan-payload.ts's scanVerdict) without building a span.
 * For a transfer without routing, which asks only this of every job it carries (issue #18).
 */
export function jobVerdict(buf: Buffer): UnparsableReason | null {
  const failure = scanVerdict(buf);
  if (failure !== null) return failure;
  const cls = scannedStart('class');
  if (cls < 0) return 'missing-class';
  if (buf[cls] !== QUOTE) return 'class-not-string';
  const queue = scannedStart('queue');
  if (queue >= 0 && buf[queue] !== QUOTE) return 'queue-not-string';
  const wrapped = scannedStart('wrapped');
  if (wrapped >= 0 && buf[wrapped] !== QUOTE && !isNull(buf, { start: wrapped, end: scannedEnd('wrapped') })) return 'wrapped-not-string';
  return null;
}

/** The decoded string at `span`, or null when the value there is not a string. */
function stringAt(buf: Buffer, span: Span): string | null {
  return buf[span.start] === QUOTE ? decodeJsonString(buf, span.start, span.end) : null;
}

/**
 * stringAt for a value of the scan just made (checkJob's, with no scan since): a value the scan
 * passed no escape in is sliced as it is, without reading it again for a backslash (issue #18).
 */
function scannedStringAt(buf: Buffer, span: Span, member: ScannedMember | 'argsQueueName'): string | null {
  if (buf[span.start] !== QUOTE) return null;
  return scannedEscaped(member) ? decodeJsonString(buf, span.start, span.end) : buf.toString('utf8', span.start + 1, span.end - 1);
}

function isNull(buf: Buffer, span: Span): boolean {
  return span.end - span.start === 4 && buf[span.start] === 0x6e;
}
