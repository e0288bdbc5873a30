/**
 * Why a payload is not a job we may read or rewrite. Such a payload is never rewritten and never
 * dropped: the caller leaves it where it is or quarantines it, byte for byte.
 *
 * - `invalid-utf8`: the bytes are not UTF-8 (Ruby's generator cannot have written them).
 * - `invalid-json`: not one RFC 8259 JSON document (includes trailing bytes and truncation).
 * - `not-an-object`: valid JSON, but an array, string, number or literal.
 * - `duplicate-key`: a member we read or rewrite (`class`, `wrapped`, `queue`, `jid`,
 *   `enqueued_at`, `created_at`, `args`, or `queue_name` in `args[0]`) occurs twice at its level.
 * - `missing-class` / `class-not-string`: Sidekiq could not run it; not a job (process info, a
 *   busy-thread entry) or a broken one.
 * - `queue-not-string`: `queue` is present but a number, null, … : what Sidekiq would make of it
 *   (`nil.to_s` is `""`) is not a queue we should guess at.
 * - `wrapped-not-string`: `wrapped` is present, not null and not a string: we could not say
 *   which class an ActiveJob wrapper routes by.
 */
export type UnparsableReason =
  | 'invalid-utf8'
  | 'invalid-json'
  | 'not-an-object'
  | 'duplicate-key'
  | 'missing-class'
  | 'class-not-string'
  | 'queue-not-string'
  | 'wrapped-not-string';

export interface Unparsable {
  readonly kind: 'unparsable';
  readonly reason: UnparsableReason;
}

/** One frozen object per reason: reporting a bad payload allocates nothing. */
const BY_REASON = new Map<UnparsableReason, Unparsable>();

export function unparsable(reason: UnparsableReason): Unparsable {
  let found = BY_REASON.get(reason);
  if (found === undefined) {
    found = Object.freeze({ kind: 'unparsable', reason });
    BY_REASON.set(reason, found);
  }
  return found;
}
