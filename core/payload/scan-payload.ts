import { isUtf8 } from 'node:buffer';
import { decodeJsonString } from './decode-json-string.js';
import {
  BACKSLASH,
  COLON,
  COMMA,
  EOF,
  FAIL,
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
  // Native and vectorised; strictly rejects overlong forms, surrogates and > U+10FFFF.
  if (!isUtf8(buf)) return 'invalid-utf8';
  const start = skipWhitespace(buf, 0);
  const scan = new PayloadScan(buf);
  const end = buf[start] === LBRACE ? scan.object(start, TOP) : skipJsonValue(buf, start);
  if (end === FAIL || skipWhitespace(buf, end) !== buf.length) return 'invalid-json';
  if (buf[start] !== LBRACE) return 'not-an-object';
  if (scan.duplicate) return 'duplicate-key';
  const m = scan.members;
  return {
    length: buf.length,
    objectStart: start,
    class: m[CLASS] ?? null,
    wrapped: m[WRAPPED] ?? null,
    queue: m[QUEUE] ?? null,
    jid: m[JID] ?? null,
    enqueuedAt: m[ENQUEUED_AT] ?? null,
    createdAt: m[CREATED_AT] ?? null,
    argsQueueName: scan.argsQueueName,
    uniqueDigest: m[LOCK_DIGEST] ?? m[UNIQUE_DIGEST] ?? null,
  };
}

const TOP = 0;
const ARG0 = 1;
type Level = typeof TOP | typeof ARG0;

class PayloadScan {
  readonly members: (Span | null)[] = [null, null, null, null, null, null, null, null, null];
  argsQueueName: Span | null = null;
  duplicate = false;

  constructor(private readonly buf: Buffer) {}

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
      pos = skipWhitespace(buf, pos);
      if (buf[pos] !== COLON) return FAIL;
      const valueStart = skipWhitespace(buf, pos + 1);
      const member = level === TOP ? memberIndex(buf, keyStart, keyEnd, keyEscaped, TOP_KEYS, TOP_BY_LENGTH, TOP_NAMES) : -1;
      pos = member === ARGS ? this.args(valueStart) : skipJsonValue(buf, valueStart);
      if (pos === FAIL) return FAIL;
      if (member >= 0) this.record(member, valueStart, pos);
      else if (level === ARG0 && memberIndex(buf, keyStart, keyEnd, keyEscaped, ARG0_KEYS, ARG0_BY_LENGTH, ARG0_NAMES) === 0) {
        if (this.argsQueueName !== null) this.duplicate = true;
        this.argsQueueName = { start: valueStart, end: pos };
      }
      pos = skipWhitespace(buf, pos);
      const c = buf[pos] ?? EOF;
      if (c === RBRACE) return pos + 1;
      if (c !== COMMA) return FAIL;
      pos = skipWhitespace(buf, pos + 1);
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
      pos = skipWhitespace(buf, pos);
      const c = buf[pos] ?? EOF;
      if (c === RBRACKET) return pos + 1;
      if (c !== COMMA) return FAIL;
      pos = skipJsonValue(buf, skipWhitespace(buf, pos + 1));
    }
  }

  private record(member: number, start: number, end: number): void {
    // A duplicate digest is not ours to judge: only members we read or rewrite make a payload ambiguous.
    if (this.members[member] !== null && member < LOCK_DIGEST) this.duplicate = true;
    this.members[member] = { start, end };
  }
}

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
