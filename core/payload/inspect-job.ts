import { ACTIVE_JOB_WRAPPERS } from '../routing/routed-class.js';
import { decodeJsonString } from './decode-json-string.js';
import { timestampSeconds } from './job-timestamp.js';
import { QUOTE } from './json-lexer.js';
import { scanPayload, type PayloadSpans, type Span } from './scan-payload.js';
import { unparsable, type Unparsable, type UnparsableReason } from './unparsable.js';

/**
 * What the migrators read of one job, plus where it sits in the bytes so that `rewriteQueue` can
 * splice without scanning again. Structurally a `JobRoutingFields` (routing-plan.ts).
 */
export interface JobFields {
  readonly kind: 'job';
  readonly className: string;
  /** The ActiveJob class, for wrappers; null when absent or JSON null. */
  readonly wrapped: string | null;
  /** Null when the payload has no top-level `queue` member, which Sidekiq reads as "default". */
  readonly queue: string | null;
  /** Null when absent or not a string. */
  readonly jid: string | null;
  /** Seconds since the epoch, from Float seconds or Sidekiq 8 Integer milliseconds. */
  readonly enqueuedAt: number | null;
  /** The exact JSON text of `enqueued_at` (whatever its type), or null when absent. */
  readonly enqueuedAtText: string | null;
  /** `class` is one of the ActiveJob wrappers (routed-class.ts keeps the list). */
  readonly isActiveJob: boolean;
  /** `args[0].queue_name` of an ActiveJob wrapper when it is a string; null otherwise. */
  readonly activeJobQueueName: string | null;
  /** It carries a sidekiq-unique-jobs digest (`lock_digest` or `unique_digest`). */
  readonly uniqueLock: boolean;
  readonly spans: PayloadSpans;
}

/**
 * Reads a payload's routing fields without deserialising it. Never throws: anything we would
 * not rewrite safely comes back as `Unparsable` with the reason (see unparsable.ts).
 */
export function inspectJob(buf: Buffer): JobFields | Unparsable {
  const spans = checkJob(buf);
  if (typeof spans === 'string') return unparsable(spans);
  const className = stringAt(buf, spans.class!)!;
  const queue = spans.queue === null ? null : stringAt(buf, spans.queue);
  const wrapped = spans.wrapped === null ? null : stringAt(buf, spans.wrapped);
  const isActiveJob = ACTIVE_JOB_WRAPPERS.has(className);
  const { enqueuedAt, argsQueueName } = spans;
  return {
    kind: 'job',
    className,
    wrapped,
    queue,
    jid: spans.jid === null ? null : stringAt(buf, spans.jid),
    enqueuedAt: enqueuedAt === null ? null : timestampSeconds(buf, enqueuedAt),
    enqueuedAtText: enqueuedAt === null ? null : buf.toString('utf8', enqueuedAt.start, enqueuedAt.end),
    isActiveJob,
    activeJobQueueName: isActiveJob && argsQueueName !== null ? stringAt(buf, argsQueueName) : null,
    uniqueLock: spans.uniqueDigest !== null,
    spans,
  };
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

/** The decoded string at `span`, or null when the value there is not a string. */
function stringAt(buf: Buffer, span: Span): string | null {
  return buf[span.start] === QUOTE ? decodeJsonString(buf, span.start, span.end) : null;
}

function isNull(buf: Buffer, span: Span): boolean {
  return span.end - span.start === 4 && buf[span.start] === 0x6e;
}
