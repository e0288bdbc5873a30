import type { Redis } from 'ioredis';
import { nameFromBytes } from '../redis/key-name.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { escapeGlob } from '../reroute/discover-queues.js';

/** A quarantine list (`<prefix>sidekiq-migrate:quarantine:QUEUE`) and how many jobs it holds. */
export interface QuarantineList {
  /** As text, the queue's name lossless (key-name.ts): `redisKey(key)` is the key. */
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
  const prefix = `${keys.prefix}sidekiq-migrate:quarantine:`;
  const head = Buffer.from(prefix, 'utf8');
  const found = new Map<string, QuarantineList>();
  try {
    let cursor = '0';
    do {
      // Key names are bytes: a queue whose name is not UTF-8 keeps it (key-name.ts).
      const [next, names] = await redis.scanBuffer(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
      cursor = next.toString();
      for (const bytes of names) {
        const queue = nameFromBytes(bytes.subarray(head.length));
        const key = `${prefix}${queue}`;
        if (found.has(key) || (await redis.type(bytes)) !== 'list') continue;
        const size = await redis.llen(bytes);
        if (size > 0) found.set(key, { key, queue, size });
      }
    } while (cursor !== '0');
  } catch (error) {
    throw classifyRedisError(error, `Looking for quarantine lists (${prefix}*)`);
  }
  return [...found.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}
