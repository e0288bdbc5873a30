/**
 * A file in plain JSON, read as the YAML parser of read-structured-file.ts would read it, or
 * undefined when only that parser can say (not JSON, or JSON it reads otherwise). Why (issue #18):
 * the bench's class mapping (567 classes, 30 KB of JSON) took `yaml` 95–128 ms
 * of CPU to read (cold, measured at load 9–14); JSON.parse, 0.2–0.3 ms.
 *
 * Where the two differ on a JSON text, this gives way to YAML:
 * - a key twice in one object: YAML (`uniqueKeys`) refuses it, JSON.parse keeps the last. Every
 *   key token of the text must be a key of the result;
 * - a `"<<"` key: with `merge`, YAML reads a plain `<<` as a merge of the mapping it names
 *   (yaml 2.9 leaves a quoted one, as JSON writes it, a plain key; given way to all the same).
 * Everything else JSON can write YAML 1.2 reads alike: its flow mappings and sequences, its
 * double-quoted strings and escapes, and numbers, true, false and null in the core schema.
 */
export function parsePlainJson(text: string): unknown {
  if (text.includes('"<<"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return keyTokens(text) === keysIn(value) ? value : undefined;
}

/**
 * How many string tokens of a valid JSON text are keys (followed by `:`). Outside strings,
 * only a key is followed by a colon.
 */
function keyTokens(text: string): number {
  let keys = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 0x22) continue;
    // A string: to its closing quote, stepping over escapes.
    for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    let j = i + 1;
    while (j < text.length && isWhitespace(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) === 0x3a) keys++;
  }
  return keys;
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** How many keys the objects of a parsed JSON value hold together (no recursion: any depth). */
function keysIn(value: unknown): number {
  let keys = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next !== 'object' || next === null) continue;
    const children = Array.isArray(next) ? next : Object.values(next);
    if (!Array.isArray(next)) keys += children.length;
    for (const child of children) pending.push(child);
  }
  return keys;
}
