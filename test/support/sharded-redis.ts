import { Redis } from 'ioredis';
import { rewritingProxy } from './rewriting-proxy.js';
import { startRedisServer } from './redis-server.js';
import { waitUntil } from './wait-until.js';

/**
 * A Redis that hides its shards as Redis Enterprise's proxy does: single-key commands work, a call
 * on keys in different hash slots is refused (CROSSSLOT), and INFO says `cluster_enabled:0`. A
 * real Redis in cluster mode holding every slot, behind a proxy that rewrites its INFO. `admin`
 * talks to the server itself. `stop()` when done.
 */
export async function shardedBehindProxy(): Promise<{ url: string; admin: Redis; stop: () => Promise<void> }> {
  const server = await startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']);
  const admin = new Redis(server.url, { protocol: 2 });
  await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  await waitUntil('the cluster holds every slot', async () => /cluster_state:ok/.test(String(await admin.call('CLUSTER', 'INFO'))));
  const proxy = await rewritingProxy({ host: '127.0.0.1', port: server.port }, (chunk) => chunk.replace('cluster_enabled:1', 'cluster_enabled:0'));
  const stop = async () => {
    admin.disconnect();
    await proxy.close();
    await server.stop();
  };
  return { url: proxy.url, admin, stop };
}
