import type { ChainableCommander } from 'ioredis';
import { MAX_ENTRIES_PER_SCAN_CALL } from './page-bytes.js';

/** One call of a read in overlapping calls: from `offset` (rank, or LIMIT offset), `count` entries. */
export interface OverlappingCall {
  readonly offset: number;
  readonly count: number;
}

/** What a read in overlapping calls kept: entries (member, score, member, score…) and how many it asked for in all. */
export interface KeptEntries {
  readonly flat: Buffer[];
  /** Fewer entries than this: the set had no more where the kept calls read. */
  readonly asked: number;
}

/**
 * The calls of a read of `total` entries from `start`, at most MAX_ENTRIES_PER_SCAN_CALL each and
 * `maxCalls` in all: each after the first starts one entry back, on the last entry of the one
 * before it, so that its reply can show it joins that one (keptContiguous).
 */
export function overlappingCalls(start: number, total: number, maxCalls = Infinity): OverlappingCall[] {
  const calls: OverlappingCall[] = [];
  for (let covered = start; calls.length < maxCalls && covered < start + total; ) {
    const offset = calls.length === 0 ? covered : covered - 1;
    const count = Math.min(MAX_ENTRIES_PER_SCAN_CALL, start + total - offset);
    calls.push({ offset, count });
    covered = offset + count;
  }
  return calls;
}

/**
 * Sends `calls` in one pipeline (`send` adds one call's command, WITHSCORES) and keeps their
 * replies only as far as they are contiguous: a reply is kept if its first entry (member and
 * score) is the last entry of the kept one before it, so that, whatever other clients (Sidekiq's
 * poller, a producer) did between the calls, the result is what one atomic call of its size would
 * have returned for every entry present all along; the first that is not (or comes back empty)
 * is dropped with every call after it, and `asked` counts only the kept ones. Any call failed: the
 * read fails (every reply is in: none is left unhandled).
 *
 * One place for this rule: the walk of a set page by score (score-walk-read.ts) and a transfer's
 * dry run of a set (set-dry-run-read.ts) read by it.
 */
export async function readKeptContiguous(pipeline: ChainableCommander, key: string, calls: readonly OverlappingCall[], send: (pipeline: ChainableCommander, call: OverlappingCall) => void): Promise<KeptEntries> {
  for (const call of calls) send(pipeline, call);
  const replies = ((await pipeline.exec()) ?? []) as [Error | null, Buffer[]][];
  for (const [error] of replies) if (error) throw error;
  if (replies.length !== calls.length) throw new Error(`Reading ${key}: ${calls.length} calls sent, ${replies.length} replies`);
  let flat = replies[0]![1];
  let asked = calls[0]!.count;
  for (let i = 1; i < calls.length; i++) {
    // The kept replies end short of what they asked: the set ended there; the rest is past its end.
    if (flat.length < 2 * asked) break;
    const part = replies[i]![1];
    if (part.length < 2 || !part[0]!.equals(flat[flat.length - 2]!) || !part[1]!.equals(flat[flat.length - 1]!)) break;
    flat = flat.concat(part.slice(2));
    asked = calls[i]!.offset - calls[0]!.offset + calls[i]!.count;
  }
  return { flat, asked };
}
