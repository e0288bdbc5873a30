import { connect, createServer, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a Redis that delays every chunk `oneWayMs` in each direction: a
 * round trip of 2 × oneWayMs, as a Redis far from its client (a VPN to an on-premise source, another
 * region). Bytes keep their order (timers of one delay fire in the order they were set).
 * `close()` when done.
 */
export async function latencyProxy(to: { host: string; port: number }, oneWayMs: number): Promise<{ url: string; close: () => Promise<void> }> {
  const open = new Set<Socket>();
  const server = createServer((client: Socket) => {
    const upstream = connect(to.port, to.host);
    const forward = (from: Socket, into: Socket) => from.on('data', (chunk) => setTimeout(() => into.destroyed || into.write(chunk), oneWayMs));
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', end);
      socket.on('close', () => {
        open.delete(socket);
        end();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
