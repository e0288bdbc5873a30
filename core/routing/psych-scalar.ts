/**
 * What GitLab's YAML parser, Psych, makes of a *plain* (unquoted, untagged) scalar: a port of
 * Psych 4's `ScalarScanner#tokenize` (Ruby 3.1; unchanged in its cases here through Psych 5).
 * Psych is not YAML 1.1's spec, nor the yaml package's 1.1 schema: a float needs a "." and a
 * signed exponent (`1e3` is the String "1e3", `1.0e+3` the Float 1000.0), an integer may hold
 * commas (`1,000` is 1000), `y`/`n` are Strings, and a `:name` is the Symbol :name.
 *
 * Ruby values JavaScript has no equal for are wrapped: a Symbol as RubySymbol, a Float as
 * RubyFloat (its queue name would be "1000.0", not "1000"), an Integer beyond 2^53 as a bigint,
 * and a scalar on which Psych raises (so GitLab does not start) as PsychFailure.
 */
export type PsychValue = string | number | bigint | boolean | null | Date | RubySymbol | RubyFloat | PsychFailure;

// Classes, not plain objects: a mapping a rule holds could look like one.
export class RubySymbol {
  constructor(readonly name: string) {}
}

export class RubyFloat {
  /** `source`: the scalar as written, for "quote it (…)". */
  constructor(readonly value: number, readonly source: string) {}
}

export class PsychFailure {
  constructor(readonly message: string) {}
}

// Ruby's regexps: ^ and $ are line anchors (the m flag here), \s is ASCII, [[:alpha:]] is Unicode.
const STRINGISH = /^[^\d.:-]?[\p{Alphabetic}_ \t\r\n\f\v!@#$%^&*(){}<>|/\\~;=]+/mu;
const TIME = /^-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|[ \t\r\n\f\v]+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:[ \t\r\n\f\v]*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?$/m;
const DATE = /^\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)$/m;
const BASE60_INT = /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}$/m;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}\.[0-9_]*$/m;
const FLOAT = /^(?:[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?)$/m;
const INTEGER = /^(?:[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)|[-+]?0x[0-9a-fA-F_,]+)$/m;

export function psychPlainScalar(text: string): PsychValue {
  if (text === '') return null;
  if (STRINGISH.test(text) || text.includes('\n')) {
    if (text.length > 5 || /^[^ytonf~]/im.test(text)) return text;
    if (text === '~' || /^null$/im.test(text)) return null;
    if (/^(yes|true|on)$/im.test(text)) return true;
    if (/^(no|false|off)$/im.test(text)) return false;
    return text;
  }
  if (TIME.test(text)) return time(text) ?? text;
  if (DATE.test(text)) return date(text) ?? text;
  if (/^\+?\.inf$/im.test(text)) return new RubyFloat(Infinity, text);
  if (/^-\.inf$/im.test(text)) return new RubyFloat(-Infinity, text);
  if (/^\.nan$/im.test(text)) return new RubyFloat(NaN, text);
  if (/^:./m.test(text)) {
    const quoted = /^:(["'])(.*)\1/m.exec(text);
    return new RubySymbol(quoted ? quoted[2]!.replace(/^:/, '') : text.replace(/^:/, ''));
  }
  // Psych's base 60 weighs the parts by 60^|e-2| (12:30 is 12·3600 + 30·60), as Ruby 3.1 reads it.
  if (BASE60_INT.test(text)) return text.split(':').reduce((sum, n, e) => sum + rubyToI(n) * 60 ** Math.abs(e - 2), 0);
  if (BASE60_FLOAT.test(text)) return new RubyFloat(text.split(':').reduce((sum, n, e) => sum + rubyToF(n) * 60 ** Math.abs(e - 2), 0), text);
  if (FLOAT.test(text)) {
    if (/^[-+]?\.$/.test(text)) return text;
    return new RubyFloat(Number(text.replace(/[,_]|\.([Ee]|$)/g, '$1')), text);
  }
  if (INTEGER.test(text)) return integer(text.replace(/[,_]/g, ''));
  return text;
}

/** Ruby's `Integer(s)` for what INTEGER admits: 0b, 0x and a leading 0 (octal) set the base. */
function integer(s: string): bigint | number | PsychFailure {
  const m = /^([-+]?)(0b|0x|0(?=.)|)(.*)$/s.exec(s)!;
  const base = m[2] === '0b' ? 2 : m[2] === '0x' ? 16 : m[2] === '0' ? 8 : 10;
  const digits = m[3]!;
  if (digits === '') return new PsychFailure(`invalid value for Integer(): ${JSON.stringify(s)}`);
  let n = 0n;
  for (const d of digits.toLowerCase()) n = n * BigInt(base) + BigInt(parseInt(d, base));
  if (m[1] === '-') n = -n;
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** Ruby's `String#to_i` / `#to_f`: the longest leading number, single underscores between digits allowed. */
function rubyToI(s: string): number {
  const m = /^[-+]?\d+(?:_\d+)*/.exec(s);
  return m ? Number(m[0].replace(/_/g, '')) : 0;
}

function rubyToF(s: string): number {
  const m = /^[-+]?\d+(?:_\d+)*(?:\.\d+(?:_\d+)*)?/.exec(s);
  return m ? Number(m[0].replace(/_/g, '')) : 0;
}

function date(text: string): Date | undefined {
  const [y, m, d] = text.split('-').map(Number) as [number, number, number];
  const value = new Date(Date.UTC(y, m - 1, d));
  // Date.strptime refuses a day the month does not have (2001-02-31): Psych keeps the String.
  return value.getUTCMonth() === m - 1 && value.getUTCDate() === d ? value : undefined;
}

/** The instant, for messages: without a zone Psych takes the host's, which we take to be UTC. */
function time(text: string): Date | undefined {
  const m = /^(-?\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt]|[ \t\r\n\f\v]+)(\d{1,2}):(\d\d):(\d\d)(?:\.(\d*))?[ \t\r\n\f\v]*(Z|[-+]\d{1,2}:?(?:\d\d)?)?$/m.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = Number(`0.${m[7] ?? ''}0`) * 1000;
  let offset = 0;
  if (m[8] && m[8] !== 'Z') {
    const tz = /^([-+]\d{1,2}):?(\d\d)?$/.exec(m[8])!;
    const hours = Number(tz[1]);
    offset = hours * 60 + (hours < 0 || tz[1]!.startsWith('-') ? -1 : 1) * Number(tz[2] ?? 0);
  }
  const value = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms) - offset * 60_000);
  return Number.isNaN(value.getTime()) ? undefined : value;
}
