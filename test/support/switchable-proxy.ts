import { connect, createServer, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a Redis, which a test takes down and brings back: `down()`
 * cuts every open connection and resets each new one the moment it is accepted (TCP RST, as a
 * dead or firewalled Redis does), keeping the port ours; `up()` forwards again to the same
 * server, its data intact (a Redis that came back). `close()` when done.
 */
export async function switchableProxy(to: { host: string; port: number }): Promise<{ url: string; down: () => void; up: () => void; refused: () => number; close: () => Promise<void> }> {
  let isDown = false;
  let refused = 0;
  const open = new Set<Socket>();
  const server = createServer((client: Socket) => {
    if (isDown) {
      refused++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(to.port, to.host);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    down: () => {
      isDown = true;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    up: () => {
      isDown = false;
    },
    refused: () => refused,
    close: () => {
      for (const s of open) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
