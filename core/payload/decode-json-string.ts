import { BACKSLASH } from './json-lexer.js';

/**
 * The text of a JSON string token that the scanner has already validated, escapes resolved.
 * `start` is the opening quote and `end` is just past the closing one.
 *
 * `\uXXXX` escapes become UTF-16 code units as JSON.parse (and Ruby) read them: a surrogate pair
 * written as two escapes becomes one character; a lone surrogate stays a lone surrogate, so it
 * can never compare equal to a well-formed queue or class name.
 */
export function decodeJsonString(buf: Buffer, start: number, end: number): string {
  const from = start + 1;
  const to = end - 1;
  let esc = nextBackslash(buf, from, to);
  // The common case (every name Sidekiq writes): no escape, one slice.
  if (esc === to) return buf.toString('utf8', from, to);
  let out = '';
  let chunk = from;
  while (esc < to) {
    // Escapes are ASCII, so slicing around them never splits a UTF-8 sequence.
    out += buf.toString('utf8', chunk, esc);
    const e = buf[esc + 1]!;
    if (e === 0x75) {
      out += String.fromCharCode(
        (hex(buf[esc + 2]!) << 12) | (hex(buf[esc + 3]!) << 8) | (hex(buf[esc + 4]!) << 4) | hex(buf[esc + 5]!),
      );
      chunk = esc + 6;
    } else {
      out += shortEscape(e);
      chunk = esc + 2;
    }
    esc = nextBackslash(buf, chunk, to);
  }
  return out + buf.toString('utf8', chunk, to);
}

/** Offset of the first backslash in [from, to), or `to`. */
function nextBackslash(buf: Buffer, from: number, to: number): number {
  for (let i = from; i < to; i++) if (buf[i] === BACKSLASH) return i;
  return to;
}

function hex(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

function shortEscape(c: number): string {
  switch (c) {
    case 0x62:
      return '\b';
    case 0x66:
      return '\f';
    case 0x6e:
      return '\n';
    case 0x72:
      return '\r';
    case 0x74:
      return '\t';
    default:
      return String.fromCharCode(c); // \" \\ \/
  }
}
