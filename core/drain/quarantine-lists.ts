import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { lookForLeftovers } from './leftover-keys.js';

/** A quarantine list (`<prefix>sidekiq-migrate:quarantine:QUEUE`) and how many jobs it holds. */
export interface QuarantineList {
  /** As text, the queue's name lossless (key-name.ts): `redisKey(key)` is the key. */
  readonly key: string;
  /** The queue its jobs came from. */
  readonly queue: string;
  readonly size: number;
}

/**
 * Every non-empty quarantine list under the prefix, sorted by key. Their jobs are ones nobody will
 * run (no Sidekiq process fetches from them), and no transfer carries them: a Redis holding any is
 * not drained. The whole keyspace, however long it takes: a look with a time bound is
 * lookForLeftovers (leftover-keys.ts).
 */
export async function findQuarantineLists(redis: Redis, keys: SidekiqKeys): Promise<QuarantineList[]> {
  return (await lookForLeftovers(redis, keys, { quarantine: true, inflight: false })).quarantine;
}
