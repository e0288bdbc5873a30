import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';
import { waitUntil } from './wait-until.js';

/**
 * What the link from a primary to its replica lets through (the replica's own replies, ACKs
 * included, always pass):
 * - `live`: everything, as it comes;
 * - `lagging`: nothing until a WAIT on the primary asks its replicas where they are (the primary
 *   then sends `REPLCONF GETACK`), then everything held: asynchronous replication at its laziest,
 *   where only a WAIT makes sure a replica has a write — deterministic, no timing decides;
 * - `frozen`: nothing (a stalled link).
 */
export type ReplicaLink = 'live' | 'lagging' | 'frozen';

export interface ReplicaHandle {
  readonly server: RedisServerHandle;
  readonly client: Redis;
  link(mode: ReplicaLink): void;
  /**
   * A failover: the link is cut for good (what it held is dropped), the primary is killed
   * (SIGKILL: a shutdown would wait for its replicas) and the replica promoted (`REPLICAOF NO ONE`).
   */
  promote(primary: RedisServerHandle): Promise<void>;
  stop(): Promise<void>;
}

/** A replica of `primary`, replicating through a proxy of ours that the test steers (`link`); live and in sync when returned. */
export async function startReplica(primary: RedisServerHandle): Promise<ReplicaHandle> {
  let mode: ReplicaLink = 'live';
  let cut = false;
  const sockets: Socket[] = [];
  const toReplica: { socket: Socket; held: Buffer[]; tail: Buffer }[] = [];
  const proxy: Server = createServer((replica) => {
    if (cut) return void replica.destroy();
    const upstream = createConnection({ host: '127.0.0.1', port: primary.port });
    const link = { socket: replica, held: [] as Buffer[], tail: Buffer.alloc(0) };
    sockets.push(replica, upstream);
    toReplica.push(link);
    replica.on('data', (d: Buffer) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      if (mode === 'live') return void replica.write(d);
      link.held.push(d);
      // Only a GETACK sent since the link began to lag counts (one held while frozen does not):
      // looked for in this chunk and the end of the one before.
      const seen = Buffer.concat([link.tail, d]);
      link.tail = seen.subarray(Math.max(0, seen.length - 8));
      if (mode === 'lagging' && seen.includes('GETACK')) flush(link);
    });
    for (const s of [replica, upstream]) s.on('error', () => {});
    replica.on('close', () => upstream.destroy());
    upstream.on('close', () => replica.destroy());
  });
  const flush = (link: { socket: Socket; held: Buffer[]; tail: Buffer }) => {
    for (const d of link.held.splice(0)) link.socket.write(d);
  };
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
  const proxyPort = (proxy.address() as { port: number }).port;
  const server = await startRedisServer(['--replicaof', '127.0.0.1', String(proxyPort)]);
  const client = new Redis(server.url, { protocol: 2 });
  const primaryClient = new Redis(primary.url, { protocol: 2 });
  try {
    // In sync: a write on the primary is seen on the replica.
    const mark = `replica-sync-${Date.now()}`;
    await primaryClient.set(mark, '1');
    await waitUntil('the replica has synced', async () => (await client.get(mark).catch(() => null)) === '1');
    await primaryClient.del(mark);
    await waitUntil('the replica has synced', async () => (await client.exists(mark)) === 0);
  } finally {
    primaryClient.disconnect();
  }
  return {
    server,
    client,
    link(next) {
      mode = next;
      for (const l of toReplica) l.tail = Buffer.alloc(0);
      if (next === 'live') for (const l of toReplica) flush(l);
    },
    async promote(primaryServer) {
      cut = true;
      for (const l of toReplica) l.held.length = 0;
      for (const s of sockets) s.destroy();
      proxy.close();
      process.kill(primaryServer.pid, 'SIGKILL');
      await primaryServer.stop();
      await client.replicaof('NO', 'ONE');
    },
    async stop() {
      if (cut && !proxy.listening) return void (await server.stop());
      cut = true;
      for (const s of sockets) s.destroy();
      proxy.close();
      client.disconnect();
      await server.stop();
    },
  };
}
