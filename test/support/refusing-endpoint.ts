import { createServer, type Socket } from 'node:net';

/**
 * A loopback endpoint that stays ours for the whole test file and resets every connection the
 * moment it is accepted (TCP RST, as a dead or firewalled Redis does): no free port probed and
 * then hoped to stay unused. `attempts()` counts the connections tried, so that a test can show
 * the client really tried it. `close()` when done.
 */
export async function refusingEndpoint(): Promise<{ port: number; url: string; attempts: () => number; close: () => Promise<void> }> {
  let attempts = 0;
  const server = createServer((socket: Socket) => {
    attempts++;
    socket.resetAndDestroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { port, url: `redis://127.0.0.1:${port}`, attempts: () => attempts, close };
}
