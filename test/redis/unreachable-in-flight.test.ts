// A Redis behind a load balancer (an NLB, HAProxy, a TCP proxy) dies: the balancer still accepts
// each connection, then resets it. A command written just then gets no reply. ioredis keeps such a
// command aside to send again once a reconnection is ready, but every reconnection here connects
// and is reset before ready, and ioredis's give-up (maxRetriesPerRequest, then the end of its
// retries) settled only the commands it still held elsewhere: the one in flight waited out the
// whole command timeout (30 s), and only then did the step fail and its retry say "Cannot
// connect". The CLI told the operator the target could not be reached half a minute late; a
// Lambda spent that half minute of its time waiting.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connectRedis, DEFAULT_COMMAND_TIMEOUT_MS } from '../../core/redis/connect-redis.js';
import { classifyRedisError, RedisUnavailableError } from '../../core/redis/redis-errors.js';
import { parseRedisUrl } from '../../core/redis/redis-url.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { switchableProxy } from '../support/switchable-proxy.js';

let server: RedisServerHandle | undefined;
afterAll(async () => {
  await server?.stop();
});
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function throughProxy() {
  server ??= await startRedisServer();
  const proxy = await switchableProxy({ host: '127.0.0.1', port: server.port });
  cleanup.push(() => proxy.close());
  const client = await connectRedis(parseRedisUrl(proxy.url), { role: 'target' });
  cleanup.push(() => client.disconnect());
  return { proxy, client };
}

describe('a command in flight when a load balancer in front of the Redis starts resetting connections', () => {
  it('fails as retryable within seconds, not after the command timeout, and the connection gives up (replaced on next use)', { timeout: 60_000 }, async () => {
    const { proxy, client } = await throughProxy();
    await client.set('before', '1');
    proxy.down('balancer');
    const sentAt = Date.now();
    const failed = await client.set('during', '1').then(
      () => undefined,
      (error: unknown) => error,
    );
    const tookMs = Date.now() - sentAt;

    expect(failed, 'the write in flight fails').toBeDefined();
    expect(classifyRedisError(failed, 'Writing')).toBeInstanceOf(RedisUnavailableError);
    expect(proxy.refused(), 'every reconnection was accepted, then reset').toBeGreaterThanOrEqual(2);
    // ioredis gives a queued command up when a second reconnection fails (about 0.6 s): now the one in flight too.
    expect(tookMs, `failed after ${tookMs} ms; the command timeout is ${DEFAULT_COMMAND_TIMEOUT_MS} ms`).toBeLessThan(10_000);
    await expect.poll(() => client.status, { timeout: 10_000 }).toBe('end');
  });

  it('is sent again and answered when the Redis is back within the reconnections (a failover), written once', async () => {
    const { proxy, client } = await throughProxy();
    await client.del('counter');
    proxy.down('balancer');
    const during = client.incr('counter');
    setTimeout(() => proxy.up(), 100);
    expect(await during).toBe(1);
    expect(await client.get('counter')).toBe('1');
    expect(client.status).toBe('ready');
  });
});
