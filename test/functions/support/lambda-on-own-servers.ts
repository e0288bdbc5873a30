import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, vi } from 'vitest';
import { type RedisServerHandle, startRedisServers } from '../../support/redis-server.js';
import { captureOutput, type OutputCapture } from './lambda-harness.js';
import { coldStart, type LoadedHandlers } from './load-handlers.js';

export interface LambdaOnOwnServersOptions {
  /** redis-server arguments of the source (e.g. `--enable-debug-command local`). */
  readonly sourceArgs?: readonly string[];
  /** redis-server arguments of the target; `false`: no target server, no target URL. */
  readonly targetArgs?: readonly string[] | false;
  /** More SIDEKIQ_MIGRATE_* settings of the container (a prefix, a secret). */
  readonly env?: Readonly<Record<string, string>>;
}

/** What a test file works with; each is there from its `beforeAll` on. */
export interface LambdaOnOwnServers {
  readonly sourceServer: RedisServerHandle;
  readonly targetServer: RedisServerHandle;
  /** The test's own clients (RESP2, as Sidekiq's redis-rb speaks), not the container's. */
  readonly source: Redis;
  readonly target: Redis;
  /** The container's handlers, cold-started on SIDEKIQ_MIGRATE_SOURCE_URL / _TARGET_URL. */
  readonly h: LoadedHandlers;
  /** Captures stdout and stderr until `stop()`, or the end of the test at the latest. */
  readonly captureOutput: () => OutputCapture;
}

/**
 * One Lambda container on redis-servers of the test file's own: a source and a target started
 * before the file's tests (the connection names `source` and `target`), and after them the
 * container's connections closed, its environment unstubbed, the clients disconnected and the
 * servers stopped (by pid). Call it at the top of the file; it registers the hooks.
 */
export function lambdaOnOwnServers(options: LambdaOnOwnServersOptions = {}): LambdaOnOwnServers {
  const servers: RedisServerHandle[] = [];
  const clients: Redis[] = [];
  let h: LoadedHandlers | undefined;
  let out: OutputCapture | undefined;

  beforeAll(async () => {
    const withTarget = options.targetArgs !== false;
    servers.push(...(await startRedisServers(options.sourceArgs ?? [], ...(withTarget ? [options.targetArgs ?? []] : []))));
    clients.push(...servers.map((s) => new Redis(s.url, { protocol: 2 })));
    h = await coldStart({
      SIDEKIQ_MIGRATE_SOURCE_URL: servers[0]!.url,
      ...(withTarget ? { SIDEKIQ_MIGRATE_TARGET_URL: servers[1]!.url } : {}),
      ...options.env,
    });
  });
  afterEach(() => out?.stop());
  afterAll(async () => {
    await h?.connections.close();
    vi.unstubAllEnvs();
    clients.forEach((c) => c.disconnect());
    await Promise.all(servers.map((s) => s.stop()));
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`lambdaOnOwnServers: no ${what} (before beforeAll, or started without one)`);
    return value;
  };
  return {
    get sourceServer() {
      return started(servers[0], 'source server');
    },
    get targetServer() {
      return started(servers[1], 'target server');
    },
    get source() {
      return started(clients[0], 'source client');
    },
    get target() {
      return started(clients[1], 'target client');
    },
    get h() {
      return started(h, 'container');
    },
    captureOutput: () => (out = captureOutput()),
  };
}
