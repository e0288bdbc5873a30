import { describe, expect, it } from 'vitest';
import { PsychFailure, psychPlainScalar, RubyFloat, RubySymbol } from '../../../core/routing/psych-scalar.js';

// Each expectation recorded from Ruby 3.1.2 / Psych 4.0.3: `YAML.unsafe_load("- #{s}")[0]`.
const float = (value: number) => ({ float: value });
const symbol = (name: string) => ({ symbol: name });
const shown = (v: unknown) =>
  v instanceof RubyFloat ? float(v.value) : v instanceof RubySymbol ? symbol(v.name) : v instanceof PsychFailure ? { failure: v.message } : v;

describe('psychPlainScalar reads a plain scalar as GitLab\'s Psych does', () => {
  it.each([
    // A float needs a "." and a signed exponent; without, it is text.
    ['1e3', '1e3'], ['1E3', '1E3'], ['1e+3', '1e+3'], ['1.0e3', '1.0e3'], ['12e03', '12e03'], ['0e0', '0e0'],
    ['1.0e+3', float(1000)], ['1.5E+3', float(1500)], ['.5', float(0.5)], ['0.', float(0)], ['1_000.5', float(1000.5)], ['1,000.5', float(1000.5)],
    ['.', '.'], ['+.', '+.'],
    ['.inf', float(Infinity)], ['-.inf', float(-Infinity)], ['.NaN', float(NaN)],
    // Integers: underscores and commas, octal with a leading 0, 0b, 0x; 1__0 is text.
    ['1_000', 1000], ['1,000', 1000], ['017', 15], ['0_1', 1], ['0x1F', 31], ['0b101', 5], ['+12', 12], ['1__0', '1__0'], ['0o17', '0o17'],
    ['99999999999999999999', 99999999999999999999n],
    ['0b_', { failure: 'invalid value for Integer(): "0b"' }],
    // Base 60 as Ruby 3.1 weighs it.
    ['12:30', 45000], ['12:30:15', 45015], ['-12:30', -41400], ['1:30.5', float(5430)], ['9:60', '9:60'], ['1:2:3:4', '1:2:3:4'],
    // Booleans and nil: not y/n, which stay text.
    ['yes', true], ['On', true], ['off', false], ['NO', false], ['y', 'y'], ['n', 'n'], ['~', null], ['Null', null], ['', null],
    // A leading ':' makes a Symbol.
    [':sym', symbol('sym')], [':1', symbol('1')], [':"a b"', symbol('a b')],
    ['default', 'default'], ['<<', '<<'], ['_1', '_1'],
  ])('%s', (text, expected) => {
    expect(shown(psychPlainScalar(text))).toEqual(expected);
  });

  it('dates and times, as instants', () => {
    expect(psychPlainScalar('2001-12-14')).toEqual(new Date('2001-12-14T00:00:00Z'));
    expect(psychPlainScalar('2001-12-14t21:59:43.10-05:00')).toEqual(new Date('2001-12-15T02:59:43.100Z'));
    expect(psychPlainScalar('2001-02-31')).toBe('2001-02-31');
  });
});
