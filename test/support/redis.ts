import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';

export { startRedisServer, type RedisServerHandle } from './redis-server.js';

/** URL of one of the two shared throwaway servers started by the global setup. */
export function sharedRedisUrl(which: 'source' | 'target' = 'source'): string {
  return inject('redisUrls')[which];
}

/** A key prefix no other test uses, so tests can share a server without seeing each other's keys. */
export function uniquePrefix(): string {
  return `t${randomUUID().slice(0, 8)}:`;
}

/**
 * A client to a shared server, closed when the test file (or the describe block it is created in)
 * ends. RESP2 replies, as Sidekiq sees them.
 */
export function connectShared(which: 'source' | 'target' = 'source'): Redis {
  const client = new Redis(sharedRedisUrl(which), { protocol: 2, maxRetriesPerRequest: 1, lazyConnect: false });
  afterAll(() => void client.disconnect());
  return client;
}
