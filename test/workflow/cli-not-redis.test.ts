// A URL whose port is another service's (a web server, say: a typo in the port, or the load
// balancer's address): the CLI printed ioredis's own "Unknown RESP type 72 "H". Please report
// this." after half a minute of reconnecting to it. Now it says that the endpoint does not speak
// Redis's protocol, with the first line it answered, exit 2 (nothing touched), after one
// connection.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
let web: Server | undefined;
afterEach(async () => {
  web?.closeAllConnections();
  await new Promise((resolve) => web?.close(resolve) ?? resolve(undefined));
  web = undefined;
});

/** An HTTP server on a free loopback port, counting the connections made to it. */
async function httpServer(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  web = createServer((_, res) => res.end('hello'));
  web.on('connection', () => connections++);
  await new Promise<void>((resolve) => web!.listen(0, '127.0.0.1', resolve));
  return { url: `redis://127.0.0.1:${(web.address() as AddressInfo).port}`, connections: () => connections };
}

const notRedis = (role: string, url: string) =>
  `${role} ${url} does not speak Redis's protocol: it answered "HTTP/1.1 400 Bad Request" (an HTTP server?). Check the host and port. Nothing was touched.\n`;

describe('a URL that leads to something other than Redis', () => {
  it('drain-check: says so at once, with what it answered; exit 2', { timeout: 60_000 }, async () => {
    const endpoint = await httpServer();

    const result = await runCli('drain-check', '--redis', endpoint.url);

    expect(result.stderr).toBe(notRedis('Redis', endpoint.url));
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
    // Not connected to again and again: once by the client, once to read what it answers.
    expect(endpoint.connections()).toBeLessThanOrEqual(2);
  });

  it('move --to it: says so naming the target; the source untouched', { timeout: 60_000 }, async () => {
    const endpoint = await httpServer();
    await redis.client().lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));
    await redis.client().sadd('queues', 'default');
    const before = await keyValueSnapshot(redis.client());

    const result = await runCli('move', '--from', redis.url(), '--to', endpoint.url);

    expect(result.stderr).toBe(notRedis('target', endpoint.url));
    expect(result.code).toBe(2);
    expect(await keyValueSnapshot(redis.client())).toEqual(before);
  });
});
