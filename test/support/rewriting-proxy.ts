import { connect, createServer, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a Redis that rewrites what the server answers, as a managed
 * service's proxy shows a server other than the one behind it: Redis Enterprise's proxy reports
 * `cluster_enabled:0` for a database with several shards, which still refuses calls on keys in
 * different hash slots (CROSSSLOT). `rewrite` gets each chunk of the server's replies (latin1, so
 * bytes pass through unchanged); keep the length of what it replaces, RESP counts bytes.
 * `answer`, when it returns a reply for a chunk the client sent, answers it in the server's stead
 * (an older Redis's refusal of a command, say) and does not forward it. `close()` when done.
 */
export async function rewritingProxy(
  to: { host: string; port: number },
  rewrite: (chunk: string) => string,
  answer: (request: string) => string | undefined = () => undefined,
): Promise<{ url: string; close: () => Promise<void> }> {
  const open = new Set<Socket>();
  const server = createServer((client: Socket) => {
    const upstream = connect(to.port, to.host);
    open.add(client).add(upstream);
    client.on('data', (data: Buffer) => {
      const reply = answer(data.toString('latin1'));
      if (reply === undefined) upstream.write(data);
      else client.write(Buffer.from(reply, 'latin1'));
    });
    upstream.on('data', (data: Buffer) => client.write(Buffer.from(rewrite(data.toString('latin1')), 'latin1')));
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of open) socket.destroy();
      server.close(() => resolve());
    });
  return { url: `redis://127.0.0.1:${port}`, close };
}
