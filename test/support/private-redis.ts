import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startRedisServer, type RedisServerHandle, startRedisServers } from './redis-server.js';

/**
 * Two private servers for a test file (a source and a target, started with the redis-server
 * arguments given, if any), emptied before each test, so that a test may count every key on both
 * and compare the union with what it seeded.
 */
export function privateSourceAndTarget(sourceArgs: readonly string[] = [], targetArgs: readonly string[] = []): {
  source: () => Redis;
  target: () => Redis;
  urls: () => { source: string; target: string };
  pids: () => { source: number; target: number };
} {
  const servers: RedisServerHandle[] = [];
  const clients: Redis[] = [];
  beforeAll(async () => {
    servers.push(...(await startRedisServers(sourceArgs, targetArgs)));
    clients.push(...servers.map((s) => new Redis(s.url, { protocol: 2 })));
  });
  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await Promise.all(servers.map((s) => s.stop()));
  });
  beforeEach(async () => {
    await Promise.all(clients.map((c) => c.flushall()));
  });
  return {
    source: () => clients[0]!,
    target: () => clients[1]!,
    urls: () => ({ source: servers[0]!.url, target: servers[1]!.url }),
    pids: () => ({ source: servers[0]!.pid, target: servers[1]!.pid }),
  };
}

/** One private server for a test file, emptied before each test (SCRIPT FLUSH or SCAN counts must not disturb others). */
export function privateRedis(): { client: () => Redis; url: () => string } {
  let server: RedisServerHandle | undefined;
  let client: Redis | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis(server.url, { protocol: 2 });
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    await client!.flushall();
  });
  return { client: () => client!, url: () => server!.url };
}
