// The payload scanner as it was before audit-scan (main 2026-12-05), kept verbatim as the
// reference of scanner-differential.test.ts. Not used by the product.
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
 * look into.
 */
export function skipJsonValue(buf: Buffer, pos: number): number {
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
      pos = skipWhitespace(buf, pos);
      const d = buf[pos] ?? EOF;
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
