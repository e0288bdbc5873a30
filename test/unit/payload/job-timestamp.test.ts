import { describe, expect, it } from 'vitest';
import { timestampSeconds } from '../../../core/payload/job-timestamp.js';

/** The timestamp of the value `text`, read where it sits inside a payload (a span, as the scanner gives it). */
function secondsOf(text: string): number | null {
  const payload = Buffer.from(`{"enqueued_at":${text},"e":1}`);
  const start = payload.indexOf(':') + 1;
  return timestampSeconds(payload, { start, end: start + Buffer.byteLength(text) });
}

describe('timestampSeconds', () => {
  it.each([
    ['Sidekiq 6 Float seconds', '1795459303.8460433', 1795459303.8460433],
    ['Sidekiq 8 Integer milliseconds', '1795459303846', 1795459303.846],
    ['an exponent with a fraction: a Float, seconds', '1.795459303e9', 1795459303],
    ['an integer with a lowercase exponent: a Float, seconds', '1795459303e0', 1795459303],
    ['an integer with an uppercase exponent: a Float, seconds', '1795459303E0', 1795459303],
    ['a negative integer: milliseconds', '-5', -0.005],
    ['a negative Float: seconds', '-1.5', -1.5],
    ['zero (the lowest digit)', '0', 0],
    ['nine (the highest digit)', '9', 0.009],
  ])('reads %s', (_name, text, seconds) => {
    expect(secondsOf(text)).toBe(seconds);
  });

  it.each([
    ['a string of digits', '"1795459303"'],
    ['null', 'null'],
    ['true', 'true'],
    ['an empty array', '[]'],
    ['an empty object', '{}'],
  ])('gives null for %s', (_name, text) => {
    expect(secondsOf(text)).toBeNull();
  });
});
