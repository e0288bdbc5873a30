import { ACTIVE_JOB_WRAPPERS } from '../routing/routed-class.js';
import { decideRoute, type RoutingPlan } from '../routing/routing-plan.js';

/**
 * A cheap first look at a set entry for the summary's count of late arrivals (summarize-step.ts
 * routedArrivalsInSets): false only for an entry examineScheduledJob cannot call 'move', so that
 * the full examination runs on the rest alone. The count reads every entry left in `schedule`
 * and `retry` (200,000 on the bench, nearly all routed already), and the full examination
 * validates each whole payload (UTF-8, every number, every escape) and decodes its fields: most
 * of the count's time (issue #18, bench/README.md audit-rrsum).
 *
 * Why it never rejects a move: examineScheduledJob says 'move' only of a payload that is valid
 * UTF-8 and one valid JSON object whose top-level `class` (a string), `wrapped` (a string or
 * null, or absent) and `queue` (a string, or absent) are each there once, and for which
 * decideRoute says 'move' (a rollback's rewrite may still make it 'unmapped'; never the other
 * way). On such a payload the walk below follows exactly its top-level members (a string ends at
 * its first quote not escaped by a backslash; nesting outside strings is balanced), reads those
 * three fields' bytes as they are when no backslash is in them, and asks decideRoute the same
 * question. It stops once it has `class` and `queue` (and `wrapped` too when the class is an
 * ActiveJob wrapper: only then does routedClass read it): what follows cannot change a move's
 * fields (a second `class`, `queue` or `wrapped` makes examine call it 'duplicate-key', bytes
 * that are no JSON 'unparsable'). Whatever it is not sure of (an escape in a key or in one of
 * those values, a duplicate of them, another type, bytes it did not expect) answers true: the
 * full examination decides. A payload that is not valid JSON may get any answer here: examine
 * calls it 'unparsable', never 'move'. Equivalence: test/unit/reroute/may-move.test.ts.
 */
export function mayMove(member: Buffer, plan: RoutingPlan): boolean {
  const fields = topLevelRouteFields(member);
  if (fields === UNSURE) return true;
  return decideRoute(plan, fields).action === 'move';
}

const UNSURE = 0;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** Bytes a string's walk stops at: its closing quote, an escape. */
const STOP_IN_STRING = new Uint8Array(256);
STOP_IN_STRING[QUOTE] = 1;
STOP_IN_STRING[BACKSLASH] = 1;

/** Bytes that end a number or literal (true, false, null) in valid JSON: a delimiter or whitespace. */
const ENDS_SCALAR = new Uint8Array(256);
for (const c of [COMMA, RBRACE, RBRACKET, 0x20, 0x09, 0x0a, 0x0d]) ENDS_SCALAR[c] = 1;

const CLASS = [...Buffer.from('class')];
const QUEUE = [...Buffer.from('queue')];
const WRAPPED = [...Buffer.from('wrapped')];

/** Set by stringEnd: whether the string it walked had a backslash escape. */
let escaped = false;

/**
 * The top-level `class`, `wrapped` and `queue` of `buf`, read as inspectJobRoute would of a valid
 * payload, or UNSURE. Never throws, always ends (every loop advances and stops at the end).
 */
function topLevelRouteFields(buf: Buffer): { className: string; wrapped: string | null; queue: string | null } | typeof UNSURE {
  const len = buf.length;
  let pos = skipSpace(buf, 0);
  if (buf[pos] !== LBRACE) return UNSURE;
  pos = skipSpace(buf, pos + 1);
  let className: string | undefined;
  let wrapped: string | null | undefined;
  let queue: string | undefined;
  if (buf[pos] === RBRACE) return UNSURE;
  for (;;) {
    if (buf[pos] !== QUOTE) return UNSURE;
    const keyStart = pos + 1;
    pos = stringEnd(buf, pos);
    if (pos < 0 || escaped) return UNSURE;
    const keyLength = pos - 1 - keyStart;
    pos = skipSpace(buf, pos);
    if (buf[pos] !== COLON) return UNSURE;
    const valueStart = skipSpace(buf, pos + 1);
    const which = keyLength === 5 ? (bytesAt(buf, keyStart, CLASS) ? 1 : bytesAt(buf, keyStart, QUEUE) ? 2 : 0) : keyLength === 7 && bytesAt(buf, keyStart, WRAPPED) ? 3 : 0;
    if (which === 0) {
      pos = valueEnd(buf, valueStart);
      if (pos < 0) return UNSURE;
    } else {
      const c = buf[valueStart];
      let value: string | null;
      if (c === QUOTE) {
        pos = stringEnd(buf, valueStart);
        if (pos < 0 || escaped) return UNSURE;
        value = buf.toString('utf8', valueStart + 1, pos - 1);
      } else if (which === 3 && c === 0x6e && buf[valueStart + 1] === 0x75 && buf[valueStart + 2] === 0x6c && buf[valueStart + 3] === 0x6c) {
        pos = valueStart + 4;
        value = null;
      } else {
        return UNSURE;
      }
      if (which === 1) {
        if (className !== undefined) return UNSURE;
        className = value!;
      } else if (which === 2) {
        if (queue !== undefined) return UNSURE;
        queue = value!;
      } else {
        if (wrapped !== undefined) return UNSURE;
        wrapped = value;
      }
      // All the route depends on is read: the rest of the payload cannot change a move's fields.
      if (className !== undefined && queue !== undefined && (wrapped !== undefined || !ACTIVE_JOB_WRAPPERS.has(className))) return { className, wrapped: wrapped ?? null, queue };
    }
    pos = skipSpace(buf, pos);
    const c = buf[pos];
    if (c === RBRACE) break;
    if (c !== COMMA || pos >= len) return UNSURE;
    pos = skipSpace(buf, pos + 1);
  }
  if (className === undefined) return UNSURE;
  return { className, wrapped: wrapped ?? null, queue: queue ?? null };
}

/** `pos` at a string's opening quote: the offset past its closing one, or -1; sets `escaped`. */
function stringEnd(buf: Buffer, pos: number): number {
  const len = buf.length;
  const last4 = len - 4;
  escaped = false;
  pos++;
  for (;;) {
    while (pos <= last4 && (STOP_IN_STRING[buf[pos]!]! | STOP_IN_STRING[buf[pos + 1]!]! | STOP_IN_STRING[buf[pos + 2]!]! | STOP_IN_STRING[buf[pos + 3]!]!) === 0) pos += 4;
    while (pos < len && STOP_IN_STRING[buf[pos]!] === 0) pos++;
    if (pos >= len) return -1;
    if (buf[pos] === QUOTE) return pos + 1;
    // A backslash: the byte after it is escaped (`\"`, `\\`; a `\u` escape's hex digits are plain).
    escaped = true;
    pos += 2;
  }
}

/** `pos` at a value: the offset past it (valid JSON assumed; -1 at the end of the bytes). */
function valueEnd(buf: Buffer, pos: number): number {
  const len = buf.length;
  const c = buf[pos];
  if (c === QUOTE) return stringEnd(buf, pos);
  if (c !== LBRACE && c !== LBRACKET) {
    while (pos < len && ENDS_SCALAR[buf[pos]!] === 0) pos++;
    return pos < len ? pos : -1;
  }
  // An object or array: to its matching bracket, strings walked over (their brackets are text).
  let depth = 0;
  while (pos < len) {
    const b = buf[pos]!;
    if (b === QUOTE) {
      pos = stringEnd(buf, pos);
      if (pos < 0) return -1;
      continue;
    }
    if (b === LBRACE || b === LBRACKET) depth++;
    else if ((b === RBRACE || b === RBRACKET) && --depth === 0) return pos + 1;
    pos++;
  }
  return -1;
}

/** RFC 8259 whitespace (space, tab, LF, CR), as the full scan skips it. */
function skipSpace(buf: Buffer, pos: number): number {
  for (;;) {
    const c = buf[pos];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return pos;
    pos++;
  }
}

function bytesAt(buf: Buffer, at: number, bytes: readonly number[]): boolean {
  for (let i = 0; i < bytes.length; i++) if (buf[at + i] !== bytes[i]) return false;
  return true;
}
