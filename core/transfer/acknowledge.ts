import type { Redis, RedisKey } from 'ioredis';
import { LuaScript } from '../redis/lua-script.js';

const acknowledgeQueueBatch = new LuaScript('acknowledgeQueueBatch-2');
const acknowledgeSetBatch = new LuaScript('acknowledgeSetBatch-4');

/** How long a run remembers the set entries it gave back as conflicts (as long as its ledgers). */
export const CONFLICTS_TTL_SECONDS = 7 * 24 * 3600;

/**
 * The acknowledge of a queue slice: removes from the in-flight list exactly the jobs that were
 * written — its first ones, up to `upTo` (the batch's base plus the jobs read) — and only while it
 * still holds that batch. Jobs claimed into it meanwhile by another attempt stay in flight.
 */
export async function acknowledgeQueueJobs(source: Redis, inflight: RedisKey, batchKey: RedisKey, batch: string, upTo: number): Promise<void> {
  await acknowledgeQueueBatch.run(source, { keys: [inflight, batchKey], args: [batch, upTo] });
}

/**
 * The acknowledge of a set slice: removes the written entries from the in-flight set and gives
 * the conflicts back to the source set with their scores (recorded under `conflicts`, so that the
 * run does not claim them again), only while the in-flight set still holds `batch`.
 */
export async function acknowledgeSetEntries(
  source: Redis,
  keys: { readonly inflight: RedisKey; readonly batch: RedisKey; readonly source: RedisKey; readonly conflicts: RedisKey },
  batch: string,
  written: readonly Buffer[],
  conflicts: readonly Buffer[],
): Promise<void> {
  await acknowledgeSetBatch.run(source, {
    keys: [keys.inflight, keys.batch, keys.source, keys.conflicts],
    args: [batch, CONFLICTS_TTL_SECONDS, written.length, ...written, ...conflicts],
  });
}
