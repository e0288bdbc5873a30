// fast-check generators of JSON *text*: the payload tests need bytes that no JSON.stringify
// would write (1.0, -0.0, 2**64, escaped keys, \u escapes, whitespace between every token).
import fc from 'fast-check';
import { ACTIVE_JOB_WRAPPERS } from '../../../core/routing/routed-class.js';

const whitespace = fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n  ', '  ');

const numberText = fc.oneof(
  fc.constantFrom(
    '0',
    '-0',
    '1.0',
    '-0.0',
    '1.0e+20',
    '1.5e-07',
    '1E5',
    '2.5E-3',
    '4611686018427387905',
    '18446744073709551616',
    '-9223372036854775809',
    '1795459303.8460433',
    '1795459303846',
  ),
  fc.bigInt().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
);

const hex4 = (n: number, upper: boolean) => {
  const h = n.toString(16).padStart(4, '0');
  return upper ? h.toUpperCase() : h;
};

/** One piece of string content: raw text, a short escape or a `\u` escape (lone surrogates too). */
const stringPiece = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }).map((s) => JSON.stringify(s).slice(1, -1)) },
  { weight: 1, arbitrary: fc.constantFrom('\\"', '\\\\', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t') },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.boolean()).map(([n, u]) => `\\u${hex4(n, u)}`) },
);

/** A JSON string token with arbitrary content and escaping. */
export const jsonStringText = fc.array(stringPiece, { maxLength: 5 }).map((pieces) => `"${pieces.join('')}"`);

/** The same string written in several ways: raw, or with some characters as `\u` escapes. */
export function spellings(value: string): fc.Arbitrary<string> {
  return fc.array(fc.constantFrom('raw', 'lower', 'upper'), { minLength: value.length, maxLength: value.length }).map((styles) => {
    let out = '';
    for (let i = 0; i < value.length; i++) {
      const style = styles[i]!;
      const ch = value[i]!;
      out += style === 'raw' ? JSON.stringify(ch).slice(1, -1) : `\\u${hex4(ch.charCodeAt(0), style === 'upper')}`;
    }
    return `"${out}"`;
  });
}

/** Keys that tempt a careless scanner when they appear below the top level. */
const keyText = fc.oneof(
  { weight: 3, arbitrary: jsonStringText },
  { weight: 1, arbitrary: fc.constantFrom('"queue"', '"qu\\u0065ue"', '"class"', '"queue_name"', '"args"', '"jid"') },
);

const member = (key: fc.Arbitrary<string>, value: fc.Arbitrary<string>) =>
  fc.tuple(whitespace, key, whitespace, whitespace, value, whitespace).map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`);

const container = (open: string, close: string, items: fc.Arbitrary<string[]>) =>
  fc.tuple(items, whitespace).map(([xs, w]) => (xs.length === 0 ? `${open}${w}${close}` : `${open}${xs.join(',')}${close}`));

const { value: valueText } = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberText,
    jsonStringText,
    fc.constantFrom('true', 'false', 'null'),
    tie('array'),
    tie('object'),
  ),
  array: container(
    '[',
    ']',
    fc.array(fc.tuple(whitespace, tie('value'), whitespace).map((p) => p.join('')), { maxLength: 4 }),
  ),
  // Unique keys per object, as Ruby writes them (a Hash cannot hold a key twice); the scanner
  // rightly refuses duplicates of the keys it reads, which inspect-job.test.ts covers.
  object: container('{', '}', fc.uniqueArray(member(keyText, tie('value')), { maxLength: 4, selector: decodedKeyOf })),
}));

/** The decoded key of a member's text (`  "qu\u0065ue" : 1` → `queue`). */
function decodedKeyOf(memberText: string): string {
  return JSON.parse(/^\s*("(?:[^"\\]|\\.)*")/.exec(memberText)![1]!) as string;
}

/** Any JSON value as text, with whitespace and escapes anywhere. */
export const jsonValueText = valueText;

const TRACKED = new Set(['class', 'wrapped', 'queue', 'jid', 'enqueued_at', 'created_at', 'args']);

/** A top-level member whose key is none of the members the scanner reads. */
const otherMember = member(
  jsonStringText.filter((k) => !TRACKED.has(JSON.parse(k) as string)),
  valueText,
);

/** Queue names: real-looking ones, and anything Unicode allows. */
export const queueName = fc.oneof(
  fc.constantFrom('default', 'mailers', 'low', 'critical'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

export interface PayloadText {
  readonly text: string;
  /** The old queue, decoded. */
  readonly queue: string;
}

/**
 * A job payload: random other members (in random places), a `class`, `args`, and, unless
 * `withQueue` is false, a `queue` whose key may be spelled with escapes.
 */
export function payloadText({
  withQueue = true,
  className = jsonStringText.filter((c) => !ACTIVE_JOB_WRAPPERS.has(JSON.parse(c) as string)),
  args = valueText.map((v) => `[${v}]`),
  queue = queueName,
}: {
  withQueue?: boolean;
  className?: fc.Arbitrary<string>;
  args?: fc.Arbitrary<string> | ((queue: string) => fc.Arbitrary<string>);
  queue?: fc.Arbitrary<string>;
} = {}): fc.Arbitrary<PayloadText> {
  return queue.chain((q) =>
    fc
      .record({
        others: fc.array(otherMember, { maxLength: 5 }),
        required: fc.tuple(
          member(fc.constant('"class"'), className),
          member(fc.constant('"args"'), typeof args === 'function' ? args(q) : args),
          ...(withQueue ? [member(fc.constantFrom('"queue"', '"qu\\u0065ue"', '"\\u0071ueue"'), spellings(q))] : []),
        ),
        positions: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
        outer: fc.tuple(whitespace, whitespace),
      })
      .map(({ others, required, positions, outer }) => {
        const members = [...others];
        required.forEach((m, i) => members.splice(positions[i]! % (members.length + 1), 0, m));
        return { text: `${outer[0]}{${members.join(',')}}${outer[1]}`, queue: q };
      }),
  );
}

/** `args` for an ActiveJob wrapper: `[{…, "queue_name": <queue, spelled anyhow>, …}, …]`. */
export function activeJobArgs(queueName: string): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.array(member(jsonStringText.filter((k) => JSON.parse(k) !== 'queue_name'), valueText), { maxLength: 3 }),
      member(fc.constantFrom('"queue_name"', '"queue\\u005fname"'), spellings(queueName)),
      fc.nat(),
      fc.array(valueText, { maxLength: 2 }),
    )
    .map(([others, queueNameMember, at, rest]) => {
      const members = [...others];
      members.splice(at % (members.length + 1), 0, queueNameMember);
      return `[{${members.join(',')}}${rest.map((r) => `,${r}`).join('')}]`;
    });
}

export const activeJobClass = fc.constantFrom(...[...ACTIVE_JOB_WRAPPERS].map((c) => JSON.stringify(c)));
