import { isUtf8 } from 'node:buffer';
import { decodeJsonString } from './decode-json-string.js';
import {
  BACKSLASH,
  COLON,
  COMMA,
  EOF,
  FAIL,
  forgetEscapes,
  LBRACE,
  LBRACKET,
  QUOTE,
  RBRACE,
  RBRACKET,
  lastEscape,
  scanString,
  skipWhitespace,
} from './json-lexer.js';
import { skipJsonValue } from './skip-json-value.js';
import type { UnparsableReason } from './unparsable.js';

/** Bytes `[start, end)` of one JSON value; for a string, from its opening to past its closing quote. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * Where the values of the members we care about are, in a payload that is one valid JSON object.
 * Only members of the top-level object count (and `queue_name` of the object `args[0]`): a
 * `"queue"` anywhere inside `args`, or inside a string, is someone else's data.
 */
export interface PayloadSpans {
  /** The length of the scanned buffer, so a rewrite can refuse spans of another payload. */
  readonly length: number;
  /** Offset of the top-level `{`. */
  readonly objectStart: number;
  readonly class: Span | null;
  readonly wrapped: Span | null;
  readonly queue: Span | null;
  readonly jid: Span | null;
  readonly enqueuedAt: Span | null;
  readonly createdAt: Span | null;
  /** The value of `queue_name` in `args[0]` when that is an object (any JSON type). */
  readonly argsQueueName: Span | null;
  /**
   * sidekiq-unique-jobs' digest, `lock_digest` (7.x+) or `unique_digest` (older): only whether one
   * is there matters (a moved job may run under another digest, docs/guarantees-and-limits.md).
   */
  readonly uniqueDigest: Span | null;
}

export type ScanFailure = Extract<UnparsableReason, 'invalid-utf8' | 'invalid-json' | 'not-an-object' | 'duplicate-key'>;

// The top-level members we record, by index. `args` is tracked so that a duplicate cannot make
// `args[0]` ambiguous.
const CLASS = 0;
const WRAPPED = 1;
const QUEUE = 2;
const JID = 3;
const ENQUEUED_AT = 4;
const CREATED_AT = 5;
const ARGS = 6;
const LOCK_DIGEST = 7;
const UNIQUE_DIGEST = 8;
const TOP_NAMES = ['class', 'wrapped', 'queue', 'jid', 'enqueued_at', 'created_at', 'args', 'lock_digest', 'unique_digest'];
const TOP_KEYS = TOP_NAMES.map(codes);
const ARG0_NAMES = ['queue_name'];
const ARG0_KEYS = ARG0_NAMES.map(codes);
const TOP_BY_LENGTH = byLength(TOP_NAMES);
const ARG0_BY_LENGTH = byLength(ARG0_NAMES);

/** The indexes of `names` by their length in bytes: a key is compared only with the names of its length. */
function byLength(names: readonly string[]): (readonly number[])[] {
  const table: number[][] = [];
  const longest = Math.max(...names.map((n) => Buffer.byteLength(n)));
  for (let l = 0; l <= longest; l++) table.push(names.flatMap((n, i) => (Buffer.byteLength(n) === l ? [i] : [])));
  return table;
}

/**
 * A name's bytes as a plain array of small integers: compared per key of every payload, where a
 * Buffer's `length` and elements cost more to read (typed-array accessors) than an array's.
 */
function codes(name: string): number[] {
  return [...Buffer.from(name)];
}

/**
 * One pass over the payload: validates the whole document (RFC 8259, UTF-8) and records the
 * spans above. O(n), no allocation per byte, no recursion (see skip-json-value.ts).
 *
 * Duplicate keys: Ruby's `JSON.parse` keeps the last one, JavaScript's too, other parsers the
 * first. Rewriting one of two `queue` members would leave a payload whose queue depends on who
 * reads it, so a duplicate of any member we read makes the whole payload `duplicate-key`.
 * Duplicates of other members are not our business and cost nothing to carry along.
 */
export function scanPayload(buf: Buffer): PayloadSpans | ScanFailure {
  const failure = scanVerdict(buf);
  if (failure !== null) return failure;
  const scan = SCAN;
  return {
    length: buf.length,
    objectStart: scan.objectStart,
    class: scan.span(CLASS),
    wrapped: scan.span(WRAPPED),
    queue: scan.span(QUEUE),
    jid: scan.span(JID),
    enqueuedAt: scan.span(ENQUEUED_AT),
    createdAt: scan.span(CREATED_AT),
    argsQueueName: scan.argsQueueNameStart < 0 ? null : { start: scan.argsQueueNameStart, end: scan.argsQueueNameEnd },
    uniqueDigest: scan.span(LOCK_DIGEST) ?? scan.span(UNIQUE_DIGEST),
  };
}

/**
 * scanPayload's verdict alone: why the payload is not one valid JSON object, or null. No span is
 * built: what it found stays in the scan's own table until the next scan (scannedStart, scannedEnd),
 * for a caller that only asks whether a payload is a job (inspect-job.ts's jobVerdict: a transfer
 * without routing, for every job it carries; issue #18).
 */
export function scanVerdict(buf: Buffer): ScanFailure | null {
  // Native and vectorised; strictly rejects overlong forms, surrogates and > U+10FFFF.
  if (!isUtf8(buf)) return 'invalid-utf8';
  const start = skipWhitespace(buf, 0);
  const scan = SCAN;
  scan.reset(buf, start);
  forgetEscapes();
  const end = buf[start] === LBRACE ? scan.object(start, TOP) : skipJsonValue(buf, start);
  // The payload is not kept past its scan: a reply's bytes hold the whole socket read they came in.
  scan.buf = NO_BYTES;
  if (end === FAIL || skipWhitespace(buf, end) !== buf.length) return 'invalid-json';
  if (buf[start] !== LBRACE) return 'not-an-object';
  if (scan.duplicate) return 'duplicate-key';
  return null;
}

/** The members scannedStart and scannedEnd tell of. */
export type ScannedMember = 'class' | 'wrapped' | 'queue';
const SCANNED: Readonly<Record<ScannedMember, number>> = { class: CLASS, wrapped: WRAPPED, queue: QUEUE };

/** Where the last scan (scanVerdict's, scanPayload's) found `member`'s value, or -1 when it did not. */
export function scannedStart(member: ScannedMember): number {
  return SCAN.at[2 * SCANNED[member]]!;
}

/** The offset past `member`'s value in the last scan (meaningful when scannedStart is not -1). */
export function scannedEnd(member: ScannedMember): number {
  return SCAN.at[2 * SCANNED[member] + 1]!;
}

/**
 * Whether the last scan may have passed a backslash escape inside `member`'s value (`args[0]`'s
 * `queue_name` for 'argsQueueName'). False means none: a string value's text is then its bytes
 * between the quotes, and a caller decoding it right after the scan (inspect-job.ts) need not
 * read it again for a backslash (issue #18). May say true of a value without one, never false
 * of a value with one.
 */
export function scannedEscaped(member: ScannedMember | 'argsQueueName'): boolean {
  return member === 'argsQueueName' ? SCAN.argsQueueNameEscaped : SCAN.escaped[SCANNED[member]]!;
}

const TOP = 0;
const ARG0 = 1;
type Level = typeof TOP | typeof ARG0;

const NO_BYTES = Buffer.alloc(0);

/**
 * One scan's state. A single one, reset for each payload (scans are synchronous and never nested),
 * with the members found kept as offsets in a table rather than as objects: a re-route or a
 * transfer scans every job, and the scan's own objects (this, its list of members, a span per
 * member) were a third of what a `move` allocated on the heap (issue #18). scanPayload builds the
 * spans it returns from the table.
 */
class PayloadScan {
  buf: Buffer = NO_BYTES;
  /** Offset of the top-level `{` (or of the value, when it is not an object). */
  objectStart = 0;
  /** The top-level members' values, `[start, end)` at `2 * member` and `2 * member + 1`; start -1 when absent. */
  readonly at: number[] = new Array<number>(2 * TOP_NAMES.length).fill(-1);
  argsQueueNameStart = -1;
  argsQueueNameEnd = -1;
  /**
   * Per member (and for `args[0].queue_name`): whether scanString's lastEscape fell at or after
   * the value's start once it was read. Every escape inside a value sets lastEscape inside it,
   * so false means none; a stale lastEscape (another buffer's) can only make it true.
   */
  readonly escaped: boolean[] = new Array<boolean>(TOP_NAMES.length).fill(true);
  argsQueueNameEscaped = true;
  duplicate = false;

  reset(buf: Buffer, objectStart: number): void {
    this.buf = buf;
    this.objectStart = objectStart;
    const at = this.at;
    for (let i = 0; i < at.length; i++) at[i] = -1;
    this.argsQueueNameStart = -1;
    this.argsQueueNameEnd = -1;
    this.argsQueueNameEscaped = true;
    this.duplicate = false;
  }

  span(member: number): Span | null {
    const start = this.at[2 * member]!;
    return start < 0 ? null : { start, end: this.at[2 * member + 1]! };
  }

  /** The top-level object or `args[0]`, `pos` at its `{`; returns the offset past its `}`. */
  object(pos: number, level: Level): number {
    const buf = this.buf;
    pos = skipWhitespace(buf, pos + 1);
    if (buf[pos] === RBRACE) return pos + 1;
    for (;;) {
      if (buf[pos] !== QUOTE) return FAIL;
      const keyStart = pos;
      pos = scanString(buf, pos);
      if (pos === FAIL) return FAIL;
      const keyEnd = pos;
      const keyEscaped = lastEscape > keyStart && lastEscape < keyEnd;
      // Whitespace is rare in payloads (Sidekiq writes them compact): it is looked for only where
      // the expected byte is not there (issue #18).
      if (buf[pos] !== COLON) {
        pos = skipWhitespace(buf, pos);
        if (buf[pos] !== COLON) return FAIL;
      }
      const valueStart = skipWhitespace(buf, pos + 1);
      const member = level === TOP ? memberIndex(buf, keyStart, keyEnd, keyEscaped, TOP_KEYS, TOP_BY_LENGTH, TOP_NAMES) : -1;
      pos = member === ARGS ? this.args(valueStart) : skipJsonValue(buf, valueStart);
      if (pos === FAIL) return FAIL;
      if (member >= 0) this.record(member, valueStart, pos, lastEscape >= valueStart);
      else if (level === ARG0 && memberIndex(buf, keyStart, keyEnd, keyEscaped, ARG0_KEYS, ARG0_BY_LENGTH, ARG0_NAMES) === 0) {
        if (this.argsQueueNameStart >= 0) this.duplicate = true;
        this.argsQueueNameStart = valueStart;
        this.argsQueueNameEnd = pos;
        this.argsQueueNameEscaped = lastEscape >= valueStart;
      }
      let c = buf[pos] ?? EOF;
      if (c <= 0x20) {
        pos = skipWhitespace(buf, pos);
        c = buf[pos] ?? EOF;
      }
      if (c === RBRACE) return pos + 1;
      if (c !== COMMA) return FAIL;
      pos++;
      if (buf[pos] !== QUOTE) pos = skipWhitespace(buf, pos);
    }
  }

  /** The value of the top-level `args`: looks into `args[0]` when it is an object. */
  private args(pos: number): number {
    const buf = this.buf;
    if (buf[pos] !== LBRACKET) return skipJsonValue(buf, pos);
    pos = skipWhitespace(buf, pos + 1);
    if (buf[pos] === RBRACKET) return pos + 1;
    pos = buf[pos] === LBRACE ? this.object(pos, ARG0) : skipJsonValue(buf, pos);
    for (;;) {
      if (pos === FAIL) return FAIL;
      let c = buf[pos] ?? EOF;
      if (c <= 0x20) {
        pos = skipWhitespace(buf, pos);
        c = buf[pos] ?? EOF;
      }
      if (c === RBRACKET) return pos + 1;
      if (c !== COMMA) return FAIL;
      pos = skipJsonValue(buf, skipWhitespace(buf, pos + 1));
    }
  }

  private record(member: number, start: number, end: number, escaped: boolean): void {
    // A duplicate digest is not ours to judge: only members we read or rewrite make a payload ambiguous.
    if (this.at[2 * member]! >= 0 && member < LOCK_DIGEST) this.duplicate = true;
    this.at[2 * member] = start;
    this.at[2 * member + 1] = end;
    this.escaped[member] = escaped;
  }
}

const SCAN = new PayloadScan();

/**
 * Which of `names` the key token `[keyStart, keyEnd)` is, or -1. Keys are compared after
 * unescaping (`"qu\u0065ue"` is `queue`); the byte comparison settles every unescaped key, and
 * only an `escaped` key (scanString's lastEscape fell inside the token) is looked at again.
 */
function memberIndex(
  buf: Buffer,
  keyStart: number,
  keyEnd: number,
  escaped: boolean,
  keys: readonly (readonly number[])[],
  byLength: readonly (readonly number[])[],
  names: readonly string[],
): number {
  const from = keyStart + 1;
  const to = keyEnd - 1;
  const candidates = byLength[to - from];
  if (candidates !== undefined) {
    const first = buf[from];
    for (let c = 0; c < candidates.length; c++) {
      const i = candidates[c]!;
      const key = keys[i]!;
      if (key[0] === first && bytesAt(buf, from, key)) return i;
    }
  }
  if (!escaped) return -1;
  for (let i = from; i < to; i++) {
    if (buf[i] === BACKSLASH) return names.indexOf(decodeJsonString(buf, keyStart, keyEnd));
  }
  return -1;
}

/** Whether `buf` holds `bytes` at `at`: a loop, since names are short and `Buffer.compare` is a native call. */
function bytesAt(buf: Buffer, at: number, bytes: readonly number[]): boolean {
  for (let i = 0; i < bytes.length; i++) if (buf[at + i] !== bytes[i]) return false;
  return true;
}
