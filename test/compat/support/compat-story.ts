import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server.js';
import { ProcessTracker } from './real-sidekiq.js';

/**
 * What a real-Sidekiq story file needs around its story: a work folder for manifests, execution
 * records and Sidekiq logs, Redis servers of its own, and every process it starts tracked, all
 * stopped by pid after the file's tests. A story that fails keeps its work folder, and says where.
 */
export interface CompatStory {
  readonly tracker: ProcessTracker;
  readonly workDir: string;
  /** A file in the work folder. */
  file(name: string): string;
  /** A redis-server of its own and a client to it, both stopped after the file's tests. */
  startRedis(): Promise<{ url: string; redis: Redis }>;
  /** Runs the story once, however many tests ask: the others assess what it saw (and fail with its error). */
  once<T>(story: () => Promise<T>): () => Promise<T>;
}

export function compatStory(name: string): CompatStory {
  const tracker = new ProcessTracker();
  const workDir = mkdtempSync(join(tmpdir(), `sidekiq-migrate-compat-${name}-`));
  const servers: RedisServerHandle[] = [];
  const clients: Redis[] = [];
  let keepWorkDir = false;

  afterAll(async () => {
    await tracker.stopAll(); // every ruby / sidekiq / CLI process still running, by pid
    clients.forEach((c) => c.disconnect());
    await Promise.all(servers.map((s) => s.stop())); // by pid
    if (!keepWorkDir) rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  return {
    tracker,
    workDir,
    file: (file) => join(workDir, file),
    async startRedis() {
      const server = await startRedisServer();
      servers.push(server);
      const redis = new Redis(server.url, { protocol: 2, maxRetriesPerRequest: 1 });
      clients.push(redis);
      return { url: server.url, redis };
    },
    once<T>(story: () => Promise<T>) {
      let seen: Promise<T> | undefined;
      return () =>
        (seen ??= story().catch((error: Error) => {
          if (readdirSync(workDir).length === 0) throw error; // failed before writing anything
          keepWorkDir = true;
          throw new Error(`${error.message}\n(manifests, execution records and sidekiq logs kept in ${workDir})`, { cause: error });
        }));
    },
  };
}
