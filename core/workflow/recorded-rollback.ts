import type { Redis } from 'ioredis';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { encodeMove, movesKey, readMoves } from '../reroute/move-record.js';
import { reverseRoutingPlan, type RecordedMove, type ReverseRoutingPlan } from '../routing/reverse-plan.js';
import { cacheKey, storedDigest } from './stored-routing.js';

/**
 * A dry-run rollback's routing, by reference: the run it rolls back and the digest of the moves
 * that run recorded when the dry run was planned. A dry run writes nothing, so it cannot store its
 * routing (stored-routing.ts) as a run does; carrying the moves in its settings put them in every
 * state, and a run routed to a queue per worker records thousands (6,000 are ~500 KB, over the
 * 256 KiB a state may hold). The record itself is on the source: each step reads it again.
 */
export interface RecordedRollback {
  readonly of: string;
  readonly digest: string;
}

/** The digest of a record's moves, whatever order SMEMBERS gives them in. */
export function recordedMovesDigest(moves: readonly RecordedMove[]): string {
  return storedDigest(moves.map(encodeMove).sort().join('\n'));
}

const cache = new Map<string, ReverseRoutingPlan>();

/**
 * The reverse routing of `ref.of`'s record, read once per process and digest. A record that is
 * gone or no longer the one the dry run planned by (that run was resumed meanwhile, or expired)
 * fails the step: its pages would count by other routing than its plan.
 */
export async function loadRecordedRollback(redis: Redis, prefix: string, ref: RecordedRollback): Promise<ReverseRoutingPlan> {
  const key = movesKey(prefix, ref.of);
  const cached = cache.get(cacheKey(key, ref.digest));
  if (cached) return cached;
  const moves = await readMoves(redis, prefix, ref.of);
  if (moves === null || recordedMovesDigest(moves) !== ref.digest) {
    throw new FatalError(`The moves run ${ref.of} recorded (${key}) are ${moves === null ? 'gone' : 'not the ones'} this dry run planned by (the run was resumed, or its record expired, meanwhile). Run the dry run again.`);
  }
  const plan = reverseRoutingPlan(ref.of, moves);
  if (cache.size > 16) cache.clear();
  cache.set(cacheKey(key, ref.digest), plan);
  return plan;
}
