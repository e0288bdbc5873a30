import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis } from '../../core/redis/connect-redis.js';
import { classifyRedisError } from '../../core/redis/redis-errors.js';
import { parseRedisUrl } from '../../core/redis/redis-url.js';
import { RetryableError } from '../../core/errors/sidekiq-migrate-error.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

/**
 * An endpoint like ElastiCache's primary endpoint: a name whose new connections go to the current
 * primary, while connections made before a failover stay with the node they were made to.
 */
class SwitchingEndpoint {
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    public backend: number,
  ) {}

  static async start(backend: number): Promise<SwitchingEndpoint> {
    const server = createServer();
    const endpoint = new SwitchingEndpoint(server, backend);
    server.on('connection', (client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: endpoint.backend });
      endpoint.sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const close = () => [client, upstream].forEach((s) => s.destroy());
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return endpoint;
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

// ElastiCache fails over by promoting a replica and pointing the primary endpoint's name at it;
// the old primary comes back as a replica, and a connection made to it before answers every
// write with READONLY. A warm Lambda keeps its connection: without a new one, every retry of the
// page (six, over minutes) met the same replica, and the run failed.
describe('a connection to a primary that became a replica (failover)', () => {
  it('fails the write as retryable, then connects again through the endpoint, reaching the new primary', async () => {
    const old: RedisServerHandle = await startRedisServer();
    const promoted: RedisServerHandle = await startRedisServer();
    cleanup.push(() => old.stop(), () => promoted.stop());
    const endpoint = await SwitchingEndpoint.start(old.port);
    cleanup.push(() => endpoint.stop());
    const redis = await connectRedis(parseRedisUrl(endpoint.url), { role: 'source' });
    cleanup.push(async () => redis.disconnect());
    await redis.set('before', '1');

    // The failover: the endpoint now leads to the promoted node; the old one follows it.
    endpoint.backend = promoted.port;
    const admin = new Redis(old.url, { protocol: 2 });
    cleanup.push(async () => admin.disconnect());
    await admin.replicaof('127.0.0.1', String(promoted.port));

    const refused = await redis.set('during', '1').catch((error: unknown) => error);
    expect(String(refused)).toMatch(/^ReplyError: READONLY/);
    expect(classifyRedisError(refused, 'Writing')).toBeInstanceOf(RetryableError);

    // The retry (as Step Functions or the local runner sends it) reaches the new primary.
    const retried = async () => redis.set('after', '1').then(() => 'written', (error: unknown) => String(error));
    let outcome = await retried();
    for (let attempt = 0; attempt < 20 && outcome !== 'written'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      outcome = await retried();
    }
    expect(outcome).toBe('written');
    const newPrimary = new Redis(promoted.url, { protocol: 2 });
    cleanup.push(async () => newPrimary.disconnect());
    expect(await newPrimary.get('after')).toBe('1');
  });
});
