import type { Redis } from 'ioredis';
import { classifyRedisError } from '../redis/redis-errors.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';

export interface SkippedKey {
  readonly key: string;
  readonly reason: string;
}

export interface DiscoveryPage {
  readonly cursor: string;
  readonly done: boolean;
  /** Queue names (without prefix and `queue:`) whose key is a list. */
  readonly queues: string[];
  /** `queue:*` keys that are not queues we may touch, and why. */
  readonly skipped: SkippedKey[];
}

/**
 * One bounded SCAN page over `<prefix>queue:*`. Skips what only looks like a queue: Sidekiq Pro
 * super_fetch private lists (`queue:sq|host:pid:nonce|NAME`, jobs a process has already taken,
 * which its orphan recovery pushes back) and keys of another type. GitLab's reliable-fetcher
 * working lists (`working:queue:…`) never match the pattern.
 */
export async function discoverQueuesPage(redis: Redis, keys: SidekiqKeys, cursor = '0', count = 1000): Promise<DiscoveryPage> {
  try {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${escapeGlob(keys.prefix)}queue:*`, 'COUNT', count);
    const candidates: string[] = [];
    const skipped: SkippedKey[] = [];
    for (const key of found) {
      const name = keys.queueNameOf(key);
      if (name === null) continue;
      if (name.includes('|')) skipped.push({ key, reason: 'private in-flight list of Sidekiq Pro super_fetch' });
      else candidates.push(key);
    }
    const types = candidates.length === 0 ? [] : await typesOf(redis, candidates);
    const queues: string[] = [];
    candidates.forEach((key, i) => {
      if (types[i] === 'list') queues.push(keys.queueNameOf(key)!);
      else if (types[i] !== 'none') skipped.push({ key, reason: `not a list but a ${types[i]}` });
    });
    return { cursor: next, done: next === '0', queues, skipped };
  } catch (error) {
    throw classifyRedisError(error, `Scanning ${keys.prefix}queue:* for queues`);
  }
}

/** Every queue list, page by page (SCAN may return a key twice; names are de-duplicated). */
export async function discoverQueues(redis: Redis, keys: SidekiqKeys, count = 1000): Promise<{ queues: string[]; skipped: SkippedKey[] }> {
  const queues = new Set<string>();
  const skipped = new Map<string, SkippedKey>();
  let cursor = '0';
  do {
    const page = await discoverQueuesPage(redis, keys, cursor, count);
    page.queues.forEach((q) => queues.add(q));
    page.skipped.forEach((s) => skipped.set(s.key, s));
    cursor = page.cursor;
  } while (cursor !== '0');
  return { queues: [...queues].sort(), skipped: [...skipped.values()] };
}

async function typesOf(redis: Redis, keys: readonly string[]): Promise<string[]> {
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.type(key);
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, type]) => {
    if (error) throw error;
    return String(type);
  });
}

/** Escapes SCAN MATCH glob characters in a literal prefix. */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, '\\$&');
}
