import {
  COLON,
  COMMA,
  EOF,
  FAIL,
  LBRACE,
  LBRACKET,
  QUOTE,
  RBRACE,
  RBRACKET,
  scanScalar,
  scanString,
  skipWhitespace,
} from './json-lexer.js';

const IN_OBJECT = 1;
const IN_ARRAY = 2;

/**
 * What each open container is, innermost last. Shared by every call (scans are synchronous and
 * never re-enter), grown by doubling, so nesting costs no allocation per payload. A loop with
 * this stack instead of recursion: a hostile `[[[[…` a million deep must give `FAIL`, not a
 * stack overflow.
 */
let stack = new Uint8Array(64);

/**
 * Validates one JSON value of any kind starting exactly at `pos` (no leading whitespace) and
 * returns the offset just past it, or `FAIL`. Used for every value the payload scanner does not
 * look into. Most of them are strings and numbers: those go straight to their scanner, in a
 * function small enough for V8 to inline at the scanner's call sites (issue #18).
 */
export function skipJsonValue(buf: Buffer, pos: number): number {
  const c = buf[pos] ?? EOF;
  return c === LBRACE || c === LBRACKET ? skipContainer(buf, pos) : scanScalar(buf, pos);
}

/** skipJsonValue of an object or an array, `pos` at its `{` or `[`. */
function skipContainer(buf: Buffer, pos: number): number {
  let depth = 0;
  for (;;) {
    // A value starts at `pos`.
    const c = buf[pos] ?? EOF;
    if (c === LBRACE || c === LBRACKET) {
      if (depth === stack.length) grow();
      stack[depth++] = c === LBRACE ? IN_OBJECT : IN_ARRAY;
      pos = skipWhitespace(buf, pos + 1);
      const close = c === LBRACE ? RBRACE : RBRACKET;
      if (buf[pos] !== close) {
        // Non-empty: the first member's key (objects) and then its value come next.
        if (c === LBRACE) {
          pos = memberKey(buf, pos);
          if (pos === FAIL) return FAIL;
        }
        continue;
      }
      pos++;
      depth--;
    } else {
      pos = scanScalar(buf, pos);
      if (pos === FAIL) return FAIL;
    }
    // A value has ended: close containers until one has a next element.
    for (;;) {
      if (depth === 0) return pos;
      let d = buf[pos] ?? EOF;
      // Whitespace is rare in payloads (Sidekiq writes them compact): only a byte up to space is looked at again.
      if (d <= 0x20) {
        pos = skipWhitespace(buf, pos);
        d = buf[pos] ?? EOF;
      }
      const inObject = stack[depth - 1] === IN_OBJECT;
      if (d === COMMA) {
        pos = skipWhitespace(buf, pos + 1);
        if (inObject) {
          pos = memberKey(buf, pos);
          if (pos === FAIL) return FAIL;
        }
        break;
      }
      if (d !== (inObject ? RBRACE : RBRACKET)) return FAIL;
      pos++;
      depth--;
    }
  }
}

/** `"key" :` and the whitespace after it; returns where the member's value starts. */
function memberKey(buf: Buffer, pos: number): number {
  if (buf[pos] !== QUOTE) return FAIL;
  pos = scanString(buf, pos);
  if (pos === FAIL) return FAIL;
  pos = skipWhitespace(buf, pos);
  if (buf[pos] !== COLON) return FAIL;
  return skipWhitespace(buf, pos + 1);
}

function grow(): void {
  const bigger = new Uint8Array(stack.length * 2);
  bigger.set(stack);
  stack = bigger;
}
