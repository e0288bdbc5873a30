import type { Redis } from 'ioredis';
import { MAX_ENTRIES_PER_SCAN_CALL } from '../redis/page-bytes.js';
import { overlappingCalls, readKeptContiguous } from '../redis/overlapping-reads.js';
import { memberDigest } from './class-selection.js';
import { readAfter, type CountPosition } from './selected-left-count.js';

/**
 * Most entries a dry run's slice reads before the rank where its last entry was (no more than the
 * slice asks for: fewer when they are large): the poller removing up to this many entries below it
 * between two slices still leaves it in the slice's first call (a few percent more read, in the
 * same round trip); more, and the slice reads by score (readAfter).
 */
export const DRY_RUN_MARGIN = 50;

/** Where a dry run stands: its last entry counted (score, SHA-1, ties before it), and the rank it had then. */
export interface DryRunPosition extends CountPosition {
  readonly rank: number;
}

/**
 * A set transfer's dry run slice: up to `want` entries after `at` (without it: from rank
 * `fromRank`, 0 at a pass's start; a cursor the previous version wrote has no `at`, only the rank
 * it had read to, and an execution running while this code is deployed goes on from there as that
 * version would have, rather than counting its first entries again), read by rank in calls of at most MAX_ENTRIES_PER_SCAN_CALL sent at once (one round trip).
 *
 * Why not from the rank of the entries counted so far: Sidekiq runs between two slices (the poller
 * removing due entries, the retry handler and scheduler adding some) and shifts every rank: a
 * removal below skipped an entry, an addition counted one twice. So the slice looks for `at` itself
 * (its score and SHA-1) in its first call, which starts up to DRY_RUN_MARGIN entries (no more
 * than it asks for) before its last rank, and counts only the entries after it; each call after the first starts on the last entry
 * of the one before and is kept only if it starts with it (one call is contiguous in the set as it
 * ran; a call that does not start there is dropped with those after it, and the slice counts what
 * was kept: the next slice goes on from there). `at` not in the first call (removed, or moved
 * further than the margin): the slice reads after it by score (readAfter, one call), and the rank of
 * its last entry then (ZRANK).
 */
export async function readDryRunSlice(source: Redis, key: string, at: DryRunPosition | undefined, want: number, fromRank = 0): Promise<{ members: Buffer[]; ended: boolean; at: DryRunPosition | undefined }> {
  // No more entries before it than the slice asks for: a slice of large entries asks for few
  // (page-bytes.ts, about MAX_PAGE_BYTES of payloads); 50 of them before it, counted already, were
  // many pages a slice. A read by score (readAfter) reads as many before it at most, too.
  const margin = Math.min(DRY_RUN_MARGIN, want);
  const start = at === undefined ? fromRank : Math.max(0, at.rank - margin);
  const total = at === undefined ? want : at.rank - start + 1 + want;
  const calls = overlappingCalls(start, total);
  const { flat, asked } = await readKeptContiguous(source.pipeline(), key, calls, (p, { offset, count }) => p.zrangeBuffer(key, String(offset), String(offset + count - 1), 'WITHSCORES'));
  const entries: { member: Buffer; score: string }[] = [];
  for (let i = 0; i < flat.length; i += 2) entries.push({ member: flat[i]!, score: flat[i + 1]!.toString('latin1') });
  let first = 0;
  if (at !== undefined) {
    const found = entries.findIndex((e, i) => i <= at.rank - start + margin && e.score === at.score && memberDigest(e.member) === at.digest);
    if (found < 0) {
      const read = await readAfter(source, key, at, Math.min(want, MAX_ENTRIES_PER_SCAN_CALL), undefined);
      const last = read.entries.at(-1);
      // Its rank now (one more round trip, here only), so that the next slice finds it again by rank
      // rather than reading by score, 200 entries a slice, for the rest of the pass; gone: the old one.
      const rank = last ? ((await source.zrank(key, last.member)) ?? at.rank) : at.rank;
      return { members: read.entries.map((e) => e.member), ended: read.ended, at: last ? { score: last.score, digest: memberDigest(last.member), before: read.before, rank } : at };
    }
    first = found + 1;
  }
  const taken = entries.slice(first, first + want);
  const ended = flat.length < 2 * asked && first + taken.length === entries.length;
  const lastIndex = first + taken.length - 1;
  if (taken.length === 0) return { members: [], ended, at: at === undefined ? undefined : { ...at, rank: start + first - 1 } };
  const last = entries[lastIndex]!;
  let before = 0;
  while (lastIndex - before - 1 >= 0 && entries[lastIndex - before - 1]!.score === last.score) before++;
  return { members: taken.map((e) => e.member), ended, at: { score: last.score, digest: memberDigest(last.member), before, rank: start + lastIndex } };
}
