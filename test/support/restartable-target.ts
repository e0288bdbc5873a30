import type { ChildProcess } from 'node:child_process';
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, beforeEach } from 'vitest';
import { LuaScript } from '../../core/redis/lua-script.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { aroundScriptPipelines } from './around-script-pipelines.js';
import { startRedisServers, type RedisServerHandle } from './redis-server.js';
import { restartEmpty } from './restart-empty.js';
import { withWrappedClient } from './wrapped-client.js';

/** What a test works with; each is there from its `beforeEach` on, new for every test. */
export interface SourceAndRestartableTarget {
  readonly source: RedisServerHandle;
  readonly target: RedisServerHandle;
  /**
   * A client of `url` that retries every 50 ms (across the target's restart) and swallows
   * connection errors, disconnected after the test.
   */
  readonly client: (url: string, options?: RedisOptions) => Redis;
  /** The target restarted empty (restart-empty.ts); the new process is killed by its pid after the test. */
  readonly restartTargetEmpty: () => Promise<void>;
  /**
   * Connections (`source`, `target`, closed after the test) whose target restarts empty (or does
   * `after`) right after the `at`-th copy by the Lua step `script` that ran there and answered
   * while `armed()` says so (not a first send that met NOSCRIPT and is sent again), before the
   * page goes on to the acknowledge on the source.
   */
  readonly restartAfterCopy: (
    script: string,
    options?: { readonly armed?: () => boolean; readonly at?: number; readonly after?: () => Promise<void> },
  ) => ConnectionProvider & { restarts: () => number };
  /** Plain connections to both, closed after the test. */
  readonly connections: () => UrlConnections;
}

/**
 * A source and a target redis-server of each test's own, the target one a test may restart empty
 * (no persistence), started before each test and stopped after it (the restarted process by its
 * pid), with the clients and connections the test opened. Call it at the top of the file; it
 * registers the hooks.
 */
export function sourceAndRestartableTarget(): SourceAndRestartableTarget {
  let servers: [RedisServerHandle, RedisServerHandle] | undefined;
  let restarted: ChildProcess | undefined;
  const clients: Redis[] = [];
  const providers: UrlConnections[] = [];
  beforeEach(async () => {
    servers = (await startRedisServers([], [])) as [RedisServerHandle, RedisServerHandle];
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close()));
    clients.splice(0).forEach((c) => c.disconnect());
    if (restarted?.pid !== undefined) process.kill(restarted.pid, 'SIGKILL');
    restarted = undefined;
    await Promise.all((servers ?? []).map((s) => s.stop()));
    servers = undefined;
  });

  const started = (): [RedisServerHandle, RedisServerHandle] => {
    if (servers === undefined) throw new Error('sourceAndRestartableTarget: the servers start in beforeEach');
    return servers;
  };
  const connections = () => {
    const [source, target] = started();
    const provider = new UrlConnections({ source: { url: source.url }, target: { url: target.url } });
    providers.push(provider);
    return provider;
  };
  const restartTargetEmpty = async () => {
    restarted = await restartEmpty(started()[1]);
  };
  return {
    get source() {
      return started()[0];
    },
    get target() {
      return started()[1];
    },
    client: (url, options = {}) => {
      const c = new Redis(url, { protocol: 2, retryStrategy: () => 50, ...options });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    restartTargetEmpty,
    restartAfterCopy: (script, { armed = () => true, at = 1, after = restartTargetEmpty } = {}) => {
      const { sha } = new LuaScript(script, { encodeCalls: true });
      const provider = connections();
      let restarts = 0;
      let copies = 0;
      const wrap = (redis: Redis): Redis =>
        aroundScriptPipelines(redis, sha, async (exec) => {
          const replies = await exec();
          if (restarts === 0 && armed() && replies.every(([error]) => error === null) && ++copies === at) {
            restarts++;
            await after();
          }
          return replies;
        });
      return { ...withWrappedClient(provider, 'target', wrap), restarts: () => restarts };
    },
    connections,
  };
}
