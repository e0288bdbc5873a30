import type { Span } from './scan-payload.js';

/**
 * A Sidekiq timestamp (`enqueued_at`, `created_at`, `failed_at`, …) in seconds since the epoch,
 * or null when the value is not a finite JSON number.
 *
 * Sidekiq ≤ 7 writes Float seconds (`1795459303.8460433`); Sidekiq 8 writes Integer
 * milliseconds (`1795459303846`). Sidekiq 8 tells them apart by the parsed Ruby type (Float →
 * seconds, Integer → milliseconds), and Ruby's JSON.parse makes a Float of exactly the numbers
 * with a fraction or an exponent. We apply the same rule to the text, so `1.0e9` is seconds and
 * `1795459303846` is milliseconds. Only for reading: the payload's bytes are never converted.
 */
export function timestampSeconds(buf: Buffer, span: Span): number | null {
  const first = buf[span.start];
  if (first === undefined || (first !== 0x2d && (first < 0x30 || first > 0x39))) return null;
  let float = false;
  for (let i = span.start; i < span.end; i++) {
    const c = buf[i];
    if (c === 0x2e || c === 0x65 || c === 0x45) {
      float = true;
      break;
    }
  }
  const value = Number(buf.toString('latin1', span.start, span.end));
  const seconds = float ? value : value / 1000;
  return Number.isFinite(seconds) ? seconds : null;
}
