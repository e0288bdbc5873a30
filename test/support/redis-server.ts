// The tests start throwaway servers with the same code as `sidekiq-migrate demo`.
import { startRedisServer, type RedisServerHandle } from '../../cli/support/redis-server-process.js';

export * from '../../cli/support/redis-server-process.js';

/**
 * Starts one server for each argument list (or `{ args, tls }`), at once. If any cannot start, the others are stopped
 * (by pid) before the error is thrown: `servers.push(await startRedisServer(), await
 * startRedisServer())` or `Promise.all([...])` left a started server running, owned by nobody,
 * when its sibling failed to start.
 */
export async function startRedisServers(...specs: ServerSpec[]): Promise<RedisServerHandle[]> {
  const started = await Promise.allSettled(specs.map((spec) => (isArgs(spec) ? startRedisServer(spec) : startRedisServer(spec.args, { tls: spec.tls }))));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (failed) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failed.reason;
  }
  return servers;
}

type ServerSpec = readonly string[] | { readonly args?: readonly string[]; readonly tls?: boolean };
const isArgs = (spec: ServerSpec): spec is readonly string[] => Array.isArray(spec);
