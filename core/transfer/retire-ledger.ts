import type { Redis, RedisKey } from 'ioredis';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { inflightKey, ledgerKey } from './transfer-keys.js';

/**
 * Gives a run's ledger its time to live once nothing it records can be in flight any more: its
 * run's in-flight key for that source key is gone (every batch acknowledged).
 *
 * Until then the ledger has no TTL (the copy scripts PERSIST it), because under the volatile-*
 * eviction policies (ElastiCache's default is volatile-lru) Redis evicts keys with a TTL first,
 * and a ledger evicted while its entries are in flight would let a resume write them twice.
 * Once retired, evicting it is harmless: batches claimed later get new ids, and the copy that
 * records them takes the TTL off again, in the same script.
 *
 * Called where no other attempt of the run can be writing that key: at the end of an execution
 * (summarize) and after resuming an interrupted run's leftovers (plan step, holding the lock).
 */
export async function retireLedger(source: Redis, target: Redis, inflight: RedisKey, ledger: RedisKey, ttlSeconds: number): Promise<boolean> {
  if ((await source.exists(inflight)) === 1) return false;
  return (await target.expire(ledger, ttlSeconds)) === 1;
}

/** `retireLedger` for each source key (`queue:NAME`, `retry`) a run worked on. */
export async function retireRunLedgers(
  context: { readonly source: Redis; readonly target: Redis; readonly sourceKeys: SidekiqKeys; readonly targetKeys: SidekiqKeys; readonly runId: string },
  sourceKeys: readonly string[],
  ttlSeconds: number,
): Promise<void> {
  for (const key of sourceKeys) {
    await retireLedger(context.source, context.target, inflightKey(context.sourceKeys.prefix, context.runId, key), ledgerKey(context.targetKeys.prefix, context.runId, key), ttlSeconds);
  }
}
