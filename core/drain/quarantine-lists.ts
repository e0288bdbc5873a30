import type { Redis } from 'ioredis';
import { classifyRedisError } from '../redis/redis-errors.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { escapeGlob } from '../reroute/discover-queues.js';

/** A quarantine list (`<prefix>sidekiq-migrate:quarantine:QUEUE`) and how many jobs it holds. */
export interface QuarantineList {
  readonly key: string;
  /** The queue its jobs came from. */
  readonly queue: string;
  readonly size: number;
}

/**
 * Every non-empty quarantine list under the prefix. Their jobs are ones nobody will run (no
 * Sidekiq process fetches from them), and no transfer carries them: a Redis holding any is not
 * drained. Bounded SCAN pages; one LLEN per list found.
 */
export async function findQuarantineLists(redis: Redis, keys: SidekiqKeys): Promise<QuarantineList[]> {
  const prefix = keys.quarantine('');
  const found = new Map<string, QuarantineList>();
  try {
    let cursor = '0';
    do {
      const [next, names] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of names) {
        if (found.has(key) || (await redis.type(key)) !== 'list') continue;
        const size = await redis.llen(key);
        if (size > 0) found.set(key, { key, queue: key.slice(prefix.length), size });
      }
    } while (cursor !== '0');
  } catch (error) {
    throw classifyRedisError(error, `Looking for quarantine lists (${prefix}*)`);
  }
  return [...found.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}
