import { connect, createServer, type Socket } from 'node:net';

/**
 * How the endpoint behaves while down. 'reset': every open connection is cut and each new one
 * reset the moment it is accepted (TCP RST, as a dead or firewalled Redis does); whether the
 * client saw it connect first is a race. 'balancer': as a load balancer (an NLB, HAProxy) in front
 * of a Redis that died: an open connection is reset at its next request, which so gets no reply,
 * and each new connection is accepted (the client sees it connect, every time) and reset at the
 * first bytes it sends, or after a second if it sends none.
 */
export type DownMode = 'reset' | 'balancer';

/**
 * A loopback TCP proxy in front of a Redis, which a test takes down and brings back: `down()`
 * makes it unreachable (see DownMode), keeping the port ours; `up()` forwards again to the same
 * server, its data intact (a Redis that came back). `strand()` makes the connections open now go
 * silent, without a reset: what a client sends on them reaches nothing and nothing comes back (a
 * path that black-holes: the node behind an endpoint's name was replaced, a middlebox forgot the
 * connection), while new connections are forwarded as before (the name leads to a live server).
 * `refused()` counts the connections tried while down. `close()` when done.
 */
export async function switchableProxy(
  to: { host: string; port: number },
): Promise<{ url: string; down: (mode?: DownMode) => void; up: () => void; strand: () => void; refused: () => number; close: () => Promise<void> }> {
  let downMode: DownMode | undefined;
  let refused = 0;
  const open = new Set<Socket>();
  // Each forwarded client connection's upstream, for strand().
  const upstreams = new Map<Socket, Socket>();
  // Each open client connection's reset at its next request, for 'balancer' (its upstream is cut with it).
  const cutAtNextRequest = new Map<Socket, () => void>();
  const server = createServer((client: Socket) => {
    if (downMode === 'reset') {
      refused++;
      client.resetAndDestroy();
      return;
    }
    if (downMode === 'balancer') {
      refused++;
      client.on('error', () => {});
      const reset = () => {
        clearTimeout(timer);
        if (!client.destroyed) client.resetAndDestroy();
      };
      const timer = setTimeout(reset, 1_000);
      client.once('data', reset);
      open.add(client);
      client.once('close', () => open.delete(client));
      return;
    }
    const upstream = connect(to.port, to.host);
    open.add(client).add(upstream);
    upstreams.set(client, upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
      cutAtNextRequest.delete(client);
      upstreams.delete(client);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
    cutAtNextRequest.set(client, () => {
      // Replies to what was sent before still arrive; the next request reaches no server and gets none.
      client.unpipe(upstream);
      client.once('data', () => client.resetAndDestroy());
      client.resume(); // unpipe() paused it
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    down: (mode: DownMode = 'reset') => {
      downMode = mode;
      if (mode === 'balancer') {
        for (const cut of cutAtNextRequest.values()) cut();
        cutAtNextRequest.clear();
        return;
      }
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    up: () => {
      downMode = undefined;
    },
    strand: () => {
      for (const [client, upstream] of upstreams) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        // Read and dropped: nothing reaches the server, nothing comes back, the sockets stay open.
        client.on('data', () => {});
        upstream.on('data', () => {});
        cutAtNextRequest.delete(client);
      }
      upstreams.clear();
    },
    refused: () => refused,
    close: () => {
      for (const s of open) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
