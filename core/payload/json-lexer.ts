/**
 * The tokens of RFC 8259 JSON, read straight from the bytes of a Buffer.
 *
 * Each scanner takes the offset of a token's first byte and returns the offset just past it, or
 * `FAIL`. Nothing allocates and nothing throws: reading past the end yields `EOF`, which matches
 * no token. UTF-8 is checked once for the whole buffer beforehand (see scan-payload.ts), so
 * bytes ≥ 0x80 inside strings are taken as they come; outside strings they are not JSON.
 */

export const FAIL = -1;
/** What `buf[pos] ?? EOF` gives past the end; it equals no byte. */
export const EOF = -1;

export const QUOTE = 0x22; // "
export const BACKSLASH = 0x5c; // \
export const COMMA = 0x2c; // ,
export const COLON = 0x3a; // :
export const LBRACE = 0x7b; // {
export const RBRACE = 0x7d; // }
export const LBRACKET = 0x5b; // [
export const RBRACKET = 0x5d; // ]

const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const LOWER_U = 0x75;

/** RFC 8259 whitespace is exactly space, tab, LF and CR (no BOM, no NBSP, no form feed). */
export function skipWhitespace(buf: Buffer, pos: number): number {
  for (;;) {
    const c = buf[pos] ?? EOF;
    // Compact payloads have no whitespace: one comparison settles every byte above space.
    if (c > 0x20 || (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d)) return pos;
    pos++;
  }
}

/**
 * Bytes that may stand in a string as they are: everything from 0x20 up but `"` and `\\` (bytes
 * ≥ 0x80 were checked as UTF-8 beforehand). A table lookup a byte is the cheapest test here: four
 * fifths of a Sidekiq payload's bytes are inside strings (issue #18).
 */
const PLAIN_IN_STRING = new Uint8Array(256).fill(1, 0x20);
PLAIN_IN_STRING[QUOTE] = 0;
PLAIN_IN_STRING[BACKSLASH] = 0;

/**
 * The offset of the last backslash escape scanString passed, in whichever buffer (forgetEscapes
 * sets it back before each payload's scan). A string token `[start, end)` just scanned has an
 * escape only if this lies inside it, so a caller comparing keys need not look for one in every
 * key, nor a caller decoding a value read since the reset (issue #18); a stale value inside it
 * only costs that look.
 */
export let lastEscape = -1;

/**
 * Sets lastEscape before every byte, so that what a scan of one buffer learns from it is not
 * blurred by the last scan's (scan-payload.ts calls it at the start of each payload).
 */
export function forgetEscapes(): void {
  lastEscape = -1;
}

/** `pos` is at the opening quote. Rejects raw control characters and unknown escapes. */
export function scanString(buf: Buffer, pos: number): number {
  const len = buf.length;
  const last4 = len - 4;
  pos++;
  for (;;) {
    // Four bytes a step while all four are plain (their table entries ANDed): one loop branch per
    // four bytes, and the four loads independent of each other. The step that meets the end of
    // the plain run is read again byte by byte below (issue #18).
    while (
      pos <= last4 &&
      (PLAIN_IN_STRING[buf[pos]!]! & PLAIN_IN_STRING[buf[pos + 1]!]! & PLAIN_IN_STRING[buf[pos + 2]!]! & PLAIN_IN_STRING[buf[pos + 3]!]!) === 1
    )
      pos += 4;
    while (pos < len && PLAIN_IN_STRING[buf[pos]!] === 1) pos++;
    if (pos >= len) return FAIL;
    const c = buf[pos]!;
    if (c === QUOTE) return pos + 1;
    if (c !== BACKSLASH) return FAIL; // a raw control character
    lastEscape = pos;
    const e = buf[pos + 1] ?? EOF;
    if (e === LOWER_U) {
      if (!isHex(buf[pos + 2]) || !isHex(buf[pos + 3]) || !isHex(buf[pos + 4]) || !isHex(buf[pos + 5])) return FAIL;
      pos += 6;
    } else if (isShortEscape(e)) {
      pos += 2;
    } else {
      return FAIL;
    }
  }
}

/**
 * `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` — so no `+1`, `01`, `1.`, `.5`, `NaN`
 * or `Infinity`. The text is never converted here: `1.0` and `2**64` stay bytes.
 */
export function scanNumber(buf: Buffer, pos: number): number {
  if (buf[pos] === MINUS) pos++;
  const first = buf[pos] ?? EOF;
  if (first === ZERO) pos++;
  else if (first > ZERO && first <= NINE) pos = skipDigits(buf, pos + 1);
  else return FAIL;
  if (buf[pos] === DOT) {
    if (!isDigit(buf[pos + 1])) return FAIL;
    pos = skipDigits(buf, pos + 2);
  }
  const e = buf[pos] ?? EOF;
  if (e === LOWER_E || e === UPPER_E) {
    pos++;
    const sign = buf[pos] ?? EOF;
    if (sign === PLUS || sign === MINUS) pos++;
    if (!isDigit(buf[pos])) return FAIL;
    pos = skipDigits(buf, pos + 1);
  }
  return pos;
}

/** `true`, `false` or `null`, chosen by the first byte; spelled out because this runs per token. */
export function scanLiteral(buf: Buffer, pos: number): number {
  switch (buf[pos]) {
    case 0x74: // true
      return buf[pos + 1] === 0x72 && buf[pos + 2] === 0x75 && buf[pos + 3] === 0x65 ? pos + 4 : FAIL;
    case 0x66: // false
      return buf[pos + 1] === 0x61 && buf[pos + 2] === 0x6c && buf[pos + 3] === 0x73 && buf[pos + 4] === 0x65
        ? pos + 5
        : FAIL;
    case 0x6e: // null
      return buf[pos + 1] === 0x75 && buf[pos + 2] === 0x6c && buf[pos + 3] === 0x6c ? pos + 4 : FAIL;
    default:
      return FAIL;
  }
}

/** Any value that is not an object or an array. */
export function scanScalar(buf: Buffer, pos: number): number {
  const c = buf[pos] ?? EOF;
  if (c === QUOTE) return scanString(buf, pos);
  if (c === MINUS || (c >= ZERO && c <= NINE)) return scanNumber(buf, pos);
  return scanLiteral(buf, pos);
}

function skipDigits(buf: Buffer, pos: number): number {
  while (isDigit(buf[pos])) pos++;
  return pos;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/** `\" \\ \/ \b \f \n \r \t`; `\u` is handled by the caller. */
function isShortEscape(c: number): boolean {
  return c === QUOTE || c === BACKSLASH || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74;
}
