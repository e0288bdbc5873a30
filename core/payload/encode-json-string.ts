import { InputError } from '../errors/input-error.js';

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

/**
 * A string as the JSON token Ruby's `JSON.generate` (json 2.x, default options) writes for it:
 * `"` and `\` escaped, control characters as `\b \f \n \r \t` or `\u00XX` in lowercase hex, and
 * everything else (`/`, DEL, U+2028, any non-ASCII) as raw UTF-8. For well-formed strings this is
 * also exactly what `JSON.stringify` writes; we spell the rule out rather than lean on V8.
 *
 * A string with a lone surrogate has no UTF-8 form: Ruby refuses to generate it and
 * `Buffer.from` would quietly write U+FFFD instead, renaming the queue. We refuse too.
 */
export function encodeJsonString(value: string): Buffer {
  let out = '"';
  let chunk = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) {
        throw new InputError(`queue name ${JSON.stringify(value)} is not valid Unicode (lone surrogate at ${i})`);
      }
      i++;
      continue;
    }
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += value.slice(chunk, i) + (SHORT_ESCAPES[c] ?? `\\u00${c.toString(16).padStart(2, '0')}`);
    chunk = i + 1;
  }
  return Buffer.from(`${out}${value.slice(chunk)}"`, 'utf8');
}

/**
 * Why routing may not send jobs to `queue` (to follow "the queue "), or null: a name with a lone surrogate (which a `\\ud800`
 * escape in a JSON or YAML file gives) has no UTF-8 form, so no payload can name it (see
 * encodeJsonString). Checked where routing is read, so that such a file is refused before
 * anything is touched rather than failing every set and queue of the run.
 */
export function unencodableQueueName(queue: string): string | null {
  for (let i = 0; i < queue.length; i++) {
    const c = queue.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = queue.charCodeAt(i + 1);
    if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) {
      return `${JSON.stringify(queue)} is not valid Unicode (a lone surrogate): no payload can name it`;
    }
    i++;
  }
  return null;
}

/**
 * Names encodeJsonString wrote lately, so that a re-route encodes each queue name once rather
 * than for every job it moves (issue #18: twice per moved job, the new name and the old one the
 * move is recorded from, 2–3 % of a re-route's CPU). A run's names are its few destinations and
 * the queues its jobs come from; past MAX_ENCODED_NAMES the cache starts over, so that it stays
 * bounded whatever the data.
 */
const encodedNames = new Map<string, Buffer>();
const MAX_ENCODED_NAMES = 4_096;

/**
 * encodeJsonString(value), from the cache when it has been written before. The Buffer is shared:
 * callers read it (copy it into a payload, compare with it), never change it. Throws as
 * encodeJsonString does, for every call (a name that cannot be encoded is not kept).
 */
export function encodedJsonString(value: string): Buffer {
  let encoded = encodedNames.get(value);
  if (encoded === undefined) {
    encoded = encodeJsonString(value);
    if (encodedNames.size >= MAX_ENCODED_NAMES) encodedNames.clear();
    encodedNames.set(value, encoded);
  }
  return encoded;
}
