import { hash } from 'node:crypto';
import type { Splice } from '../payload/rewrite-queue.js';
import type { WrittenPart } from '../redis/encoded-command.js';

/**
 * What a re-route run rewrote in one sorted set, so that its counts stay true.
 *
 * A set is re-routed in place while it is scanned: ZSCAN may return a rewritten entry again later
 * in the same scan (Redis guarantees only that entries present all along come back at least once).
 * Met again, it looks like a job already on its destination; counted, it would add to `scanned`
 * and "already routed" jobs that were neither. So the Lua step records a digest of each entry it
 * writes (in the same call, rerouteSetEntries-n6.lua), and a page checks the digests of the entries
 * that look already routed: this run's own rewrites are skipped, not counted.
 *
 * The record is a Redis set of 11-character digests (66 bits; a few tens of bytes per moved entry
 * while the set is in progress), deleted when the set's scan ends and expiring after 7 days if the
 * run dies. Only counts depend on it: if it is evicted or two digests collide (66 bits: about 1 in
 * 10^8 for a million entries), a count is off, never a job.
 */
export const rewrittenEntriesKey = (prefix: string, runId: string, set: string): string =>
  `${prefix}sidekiq-migrate:${runId}:rewritten:${set}`;

/**
 * One-shot `hash` rather than `createHash(…).update(…).digest()`: a digest per moved entry, and the
 * Hash object cost ~5 µs of each of them (13 % of the CLI's CPU in a re-route, bench/README.md).
 * SHA-1 for its spread, not for security; text, so that the record reads plainly in redis-cli.
 */
export function entryDigest(member: Buffer): string {
  return hash('sha1', member, 'base64url').slice(0, 11);
}

/**
 * entryDigest of a rewrite, as a part of the Lua call that carries the rewrite before it: read from
 * the call's own buffer where the encoding has just written the rewrite (Splice.writtenBytes), so
 * that the rewrite never needs a buffer of its own (issue #18). Its bytes are the digest's text.
 */
export class RewriteDigest implements WrittenPart {
  readonly length = 11;

  constructor(private readonly rewrite: Splice) {}

  writeTo(out: Buffer, at: number): void {
    const digest = entryDigest(this.rewrite.writtenBytes(out));
    for (let i = 0; i < 11; i++) out[at + i] = digest.charCodeAt(i);
  }

  toBuffer(): Buffer {
    return Buffer.from(entryDigest(this.rewrite.toBuffer()), 'latin1');
  }
}
