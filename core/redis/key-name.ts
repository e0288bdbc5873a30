import type { RedisKey } from 'ioredis';

/**
 * Redis key names are bytes; a Sidekiq queue may be named by bytes that are not UTF-8
 * (`queue:caf\xe9`, written by a Latin-1 client). Decoding such a name to a JS string and back
 * would name another key (U+FFFD), so a name travels as a *lossless string*:
 *
 * - valid UTF-8 that does not start with NUL: the decoded text itself (every name Sidekiq writes);
 * - anything else: NUL followed by the base64 of the bytes.
 *
 * The mapping is one-to-one and the result is valid Unicode, so it survives JSON through the state
 * machine (work items, Step Functions, which may re-encode lone surrogates) unchanged. A NUL marks
 * where the base64 starts: key builders put the name last (`<prefix>queue:<name>`), and
 * `redisKey` turns such a text back into the exact bytes.
 */
const MARK = '\u0000';
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The lossless string form of key-name bytes. */
export function nameFromBytes(bytes: Buffer): string {
  if (bytes[0] !== 0) {
    try {
      return strictUtf8.decode(bytes);
    } catch {
      // not UTF-8: encoded below
    }
  }
  return `${MARK}${bytes.toString('base64')}`;
}

/** The bytes a lossless name stands for. */
export function nameBytes(name: string): Buffer {
  return name.startsWith(MARK) ? Buffer.from(name.slice(1), 'base64') : Buffer.from(name, 'utf8');
}

/** Whether the name is plain text (its UTF-8 encoding is its bytes). */
export function isPlainName(name: string): boolean {
  return !name.includes(MARK);
}

/**
 * A key built as text around a lossless name, as Redis must see it: the text itself when plain,
 * else the UTF-8 of what precedes the NUL followed by the decoded bytes of the name.
 */
export function redisKey(text: string): RedisKey {
  const at = text.indexOf(MARK);
  if (at < 0) return text;
  return Buffer.concat([Buffer.from(text.slice(0, at), 'utf8'), Buffer.from(text.slice(at + 1), 'base64')]);
}

/**
 * A lossless name (or key text) for people: bytes that are not UTF-8 shown as `\xNN`, and
 * control characters as `printable` shows them.
 */
export function displayName(text: string): string {
  const at = text.indexOf(MARK);
  if (at < 0) return printable(text);
  const bytes = Buffer.from(text.slice(at + 1), 'base64');
  let shown = '';
  let i = 0;
  while (i < bytes.length) {
    const length = utf8SequenceLength(bytes, i);
    shown += length > 0 ? bytes.subarray(i, i + length).toString('utf8') : `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
    i += Math.max(length, 1);
  }
  return printable(`${text.slice(0, at)}${shown}`);
}

/**
 * Text from Redis (a queue name, a payload's class or jid) as a terminal may show it: the
 * characters it would act on instead of showing (C0 and C1 controls, DEL, the bidirectional
 * overrides and isolates) written as `\xNN` or `\uNNNN`. Anyone who can push a job can choose
 * these: raw, a class name could clear the screen or print a line of its own, such as a verdict.
 */
export function printable(text: string): string {
  let out = '';
  let chunk = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const control = c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
    if (!control) continue;
    out += `${text.slice(chunk, i)}${c < 0x100 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16)}`}`;
    chunk = i + 1;
  }
  return chunk === 0 ? text : out + text.slice(chunk);
}

/** The length of the valid UTF-8 sequence starting at `i` (printable, not NUL), or 0. */
function utf8SequenceLength(bytes: Buffer, i: number): number {
  const b = bytes[i]!;
  if (b >= 0x20 && b < 0x7f) return 1;
  const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
  if (length === 0 || i + length > bytes.length) return 0;
  try {
    strictUtf8.decode(bytes.subarray(i, i + length));
    return length;
  } catch {
    return 0;
  }
}

/** A message with every lossless name in it (NUL, base64) shown as `displayName` shows it. */
export function displayText(text: string): string {
  return text.includes(MARK) ? text.replace(/\u0000[A-Za-z0-9+/]*={0,2}/g, (name) => displayName(name)) : text;
}
