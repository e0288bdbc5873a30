import type { TestProject } from 'vitest/node';
import { assertRedisServerInstalled, type RedisServerHandle, startRedisServers } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URLs of the two shared throwaway servers: `source` and `target` for cross-Redis tests. */
    redisUrls: { source: string; target: string };
    redisPids: { source: number; target: number };
  }
}

/**
 * Starts the two redis-server processes the whole run shares (tests isolate themselves with a
 * key prefix of their own), and stops them by pid when the run ends — also if it is interrupted.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  assertRedisServerInstalled();
  const servers: RedisServerHandle[] = [];
  const killAll = () => {
    for (const s of servers) {
      try {
        process.kill(s.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killAll);
  servers.push(...(await startRedisServers([], [])));
  const [source, target] = servers as [RedisServerHandle, RedisServerHandle];
  project.provide('redisUrls', { source: source.url, target: target.url });
  project.provide('redisPids', { source: source.pid, target: target.pid });
  return async () => {
    process.removeListener('exit', killAll);
    await Promise.all(servers.map((s) => s.stop()));
  };
}
