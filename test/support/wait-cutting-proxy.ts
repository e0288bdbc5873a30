import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { RedisServerHandle } from './redis-server.js';

export interface WaitCuttingProxy {
  readonly url: string;
  /** How many connections it cut. */
  cuts(): number;
  /** Closes it and every connection through it (again: nothing more). */
  close(): Promise<void>;
}

/**
 * A loopback proxy in front of `to` that cuts the connection sending a WAIT (`*3 $4 WAIT`, not
 * one named in an ACL DRYRUN) when `cut(replicas)` says so, `replicas` being the count that WAIT
 * asks for (0 for the plan's `WAIT 0 0` probe), before it reaches Redis, as a network blip or a
 * proxy's restart would: ioredis connects again and sends it again on the new connection. `cut`
 * is asked once for each WAIT, in the order they are sent; every other byte passes.
 */
export async function waitCuttingProxy(to: RedisServerHandle, cut: (replicas: number) => boolean): Promise<WaitCuttingProxy> {
  let cuts = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((downstream) => {
    const upstream = createConnection({ host: '127.0.0.1', port: to.port });
    open.add(downstream).add(upstream);
    for (const s of [downstream, upstream]) {
      s.on('error', () => {});
      s.on('close', () => open.delete(s));
    }
    downstream.on('data', (d: Buffer) => {
      const wait = /(^|\r\n)\*3\r\n\$4\r\nwait\r\n\$\d+\r\n(\d+)\r\n/i.exec(d.toString('latin1'));
      if (wait && cut(Number(wait[2]))) {
        cuts++;
        downstream.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => downstream.write(d));
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `redis://127.0.0.1:${(server.address() as { port: number }).port}`,
    cuts: () => cuts,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
