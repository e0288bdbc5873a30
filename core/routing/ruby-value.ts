/**
 * The few Ruby values GitLab's catalog and routing rules are made of.
 *
 * GitLab reads `all_queues.yml` with Psych, where a plain `:low` is the Symbol :low and a plain
 * `low` is the String "low". The worker matcher compares symbols with symbols only, so the
 * difference is observable (the `mailers` placeholder stores its urgency as a String and is
 * therefore not selected by `urgency=low`). We keep the distinction instead of flattening it.
 */
export type RubyAtom = { readonly symbol: string } | string;

export const sym = (name: string): RubyAtom => ({ symbol: name });

export function isSymbol(atom: RubyAtom): atom is { readonly symbol: string } {
  return typeof atom === 'object';
}

/** A key that is equal for two atoms exactly when Ruby's `==` holds between them. */
export function atomKey(atom: RubyAtom): string {
  return isSymbol(atom) ? `:${atom.symbol}` : JSON.stringify(atom);
}

/** The atom's text as a human reads it: `low` for both :low and "low". */
export function atomText(atom: RubyAtom): string {
  return isSymbol(atom) ? atom.symbol : atom;
}

/**
 * Ruby's `inspect` for the JSON/YAML-shaped values a rules file can hold, so that our messages
 * quote a rule exactly as GitLab's do (``Routing rule `"feature_category=a"` is invalid``).
 */
export function rubyInspect(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return inspectString(value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : inspectFloat(value);
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `[${value.map(rubyInspect).join(', ')}]`;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    const pairs = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => `${inspectString(k)} => ${rubyInspect(v)}`,
    );
    return `{${pairs.join(', ')}}`;
  }
  return String(value);
}

/** Ruby's Float#inspect for the floats a rule can hold: 1000.0, 0.5, Infinity. */
export function inspectFloat(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
  const s = String(n);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

function inspectString(s: string): string {
  let out = '"';
  const chars = [...s];
  for (const [i, ch] of chars.entries()) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    // Ruby escapes "#" only where it would start an interpolation: "#{", "#$", "#@".
    else if (ch === '#') out += '{$@'.includes(chars[i + 1] ?? '') ? '\\#' : '#';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\x1b') out += '\\e';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
