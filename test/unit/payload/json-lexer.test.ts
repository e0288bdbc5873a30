// The lexer's token scanners, byte by byte, against JSON.parse as the oracle: every byte value at
// each place a token can hold one, and the exact offset each scanner stops at.
import { describe, expect, it } from 'vitest';
import { FAIL, scanLiteral, scanNumber, scanScalar, scanString, skipWhitespace } from '../../../core/payload/json-lexer.js';

const BYTES = Array.from({ length: 256 }, (_, b) => b);
const ASCII = BYTES.filter((b) => b < 0x80);
/** Bytes from latin1 text, single byte values and buffers. */
const buf = (...parts: (string | number | Buffer)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};
const hex = (b: number) => `0x${b.toString(16).padStart(2, '0')}`;

describe('skipWhitespace', () => {
  it('steps over exactly space, tab, LF and CR, and stops at any other byte', () => {
    for (const b of BYTES) {
      const isSpace = [0x20, 0x09, 0x0a, 0x0d].includes(b);

      expect(skipWhitespace(buf('x', b, '1'), 1), hex(b)).toBe(isSpace ? 2 : 1);
    }
  });

  it('steps over a run of them, up to the end of the buffer', () => {
    expect(skipWhitespace(buf(' \t\r\n \n1'), 0)).toBe(6);
    expect(skipWhitespace(buf('1 \t\r\n'), 1)).toBe(5);
    expect(skipWhitespace(buf(''), 0)).toBe(0);
  });
});

describe('scanString', () => {
  it('takes every raw ASCII byte JSON.parse takes inside a string, and ends just past the closing quote', () => {
    for (const b of ASCII.filter((c) => c !== 0x22 && c !== 0x5c)) {
      const token = buf('"a', b, 'b"');

      expect(scanString(buf(token, ',1'), 0), hex(b)).toBe(parses(token.toString('latin1')) ? token.length : FAIL);
    }
  });

  it('takes bytes from 0x80 up as they come (UTF-8 was checked beforehand)', () => {
    for (const b of BYTES.filter((c) => c >= 0x80)) expect(scanString(buf('"', b, '"]'), 0), hex(b)).toBe(3);
  });

  it('takes exactly the escapes JSON.parse takes after a backslash', () => {
    for (const b of ASCII.filter((c) => c !== 0x75)) {
      const token = buf('"\\', b, 'x"');

      expect(scanString(buf(token, '}'), 0), hex(b)).toBe(parses(token.toString('latin1')) ? token.length : FAIL);
    }
  });

  it('takes exactly the hex digits JSON.parse takes in each of the four places of \\u', () => {
    for (let place = 0; place < 4; place++) {
      for (const b of ASCII) {
        const digits = ['0', '0', 'e', '9'];
        digits[place] = String.fromCharCode(b);
        const token = buf(`"\\u${digits.join('')}z"`);

        expect(scanString(buf(token, ' '), 0), `${hex(b)} at ${place}`).toBe(parses(token.toString('latin1')) ? token.length : FAIL);
      }
    }
  });

  it('ends past the right quote after escapes of each length, and fails on a string cut anywhere', () => {
    const token = String.raw`"\"\\\u00E9x\n"`;

    expect(scanString(buf(token, '"next"'), 0)).toBe(token.length);
    expect(scanString(buf('""'), 0)).toBe(2);
    for (let cut = 1; cut < token.length; cut++) expect(scanString(buf(token.slice(0, cut)), 0), `cut at ${cut}`).toBe(FAIL);
    expect(scanString(buf(String.raw`"\u00e`), 0)).toBe(FAIL);
    expect(scanString(buf('"\\'), 0)).toBe(FAIL);
  });

  it('starts at the given offset', () => {
    expect(scanString(buf('ab"cd"e'), 2)).toBe(6);
  });
});

describe('scanNumber', () => {
  // Every text of up to 4 characters (11,110 of them) over the bytes that matter to a number and their neighbours
  // ('/' and ':' around the digits).
  const alphabet = ['-', '+', '.', 'e', 'E', '0', '1', '9', '/', ':'];
  const texts = (max: number): string[] => {
    const out: string[] = [];
    let layer = [''];
    for (let n = 1; n <= max; n++) {
      layer = layer.flatMap((prefix) => alphabet.map((c) => prefix + c));
      out.push(...layer);
    }
    return out;
  };

  it('ends a text exactly at its end when JSON.parse takes it as a number, and otherwise fails or ends at a valid prefix', () => {
    const wrong: string[] = [];
    for (const text of texts(4)) {
      const end = scanNumber(buf(text, ']'), 0);
      const right = parses(text) ? end === text.length : end === FAIL || (end < text.length && parses(text.slice(0, end)));
      if (!right) wrong.push(`${text} -> ${end}`);
    }

    expect(wrong).toEqual([]);
  });

  it('reads numbers Ruby writes, to their last byte', () => {
    for (const text of ['0', '-0', '7', '4611686018427387905', '1.0', '-0.0', '1.0e+20', '1.5e-07', '1795459303.8460433', '1E5', '0e0', '1.0e1', '-1e+9', '9.9E-9']) {
      expect(scanNumber(buf(`[${text},2]`), 1), text).toBe(text.length + 1);
    }
  });

  it('fails at the end of the buffer where a digit is due', () => {
    for (const text of ['-', '1.', '1e', '1e+', '1E-']) expect(scanNumber(buf(text), 0), text).toBe(FAIL);
    for (const text of ['0', '10', '1.5', '1e5']) expect(scanNumber(buf(text), 0), text).toBe(text.length);
  });
});

describe('scanLiteral', () => {
  it.each(['true', 'false', 'null'])('ends %s just past its last letter, and fails when any of its bytes is another', (literal) => {
    expect(scanLiteral(buf(` ${literal},`), 1)).toBe(literal.length + 1);
    const wrong: string[] = [];
    for (let at = 0; at < literal.length; at++) {
      for (const b of BYTES.filter((c) => c !== literal.charCodeAt(at))) {
        if (scanLiteral(buf(literal.slice(0, at), b, literal.slice(at + 1)), 0) !== FAIL) wrong.push(`${hex(b)} at ${at}`);
      }
    }

    expect(wrong).toEqual([]);
  });

  it('fails on a literal cut short by the end of the buffer', () => {
    for (const literal of ['true', 'false', 'null']) {
      for (let cut = 0; cut < literal.length; cut++) expect(scanLiteral(buf(literal.slice(0, cut)), 0), literal.slice(0, cut)).toBe(FAIL);
    }
  });
});

describe('scanScalar', () => {
  it('reads a scalar of each kind to its end, chosen by its first byte, and fails on every other first byte', () => {
    const scalars: Record<string, string> = { '"': '"s"', '-': '-1', t: 'true', f: 'false', n: 'null' };
    for (let d = 0; d <= 9; d++) scalars[String(d)] = `${d}5`.replace(/^0.*/, '0');
    for (const b of BYTES) {
      const scalar = scalars[String.fromCharCode(b)];

      expect(scanScalar(buf(`[${scalar ?? String.fromCharCode(b)}]`), 1), hex(b)).toBe(scalar === undefined ? FAIL : scalar.length + 1);
    }
  });
});
