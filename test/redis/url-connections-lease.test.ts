import { afterEach, describe, expect, it } from 'vitest';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { sharedRedisUrl } from '../support/redis.js';
import { waitUntil } from '../support/wait-until.js';

// The local runner's tasks share the run's connections (cli/workflow/task-handlers.ts): a task that
// failed on one leaves it behind for a new one, and it is ended only once no running task got it.

let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
});

describe("a task's lease of the run's connections", () => {
  it('left behind by a failed task: the next get connects again, and the old one is ended once the last task that got it ends', async () => {
    connections = new UrlConnections({ source: { url: sharedRedisUrl() } });
    const failed = connections.lease();
    const beside = connections.lease();
    const old = await failed.get('source');
    expect(await beside.get('source')).toBe(old);

    failed.end(true);
    const fresh = await connections.get('source');
    expect(fresh).not.toBe(old);
    // Still in use by the task beside it: not cut off mid-page.
    expect(await old.redis.ping()).toBe('PONG');
    expect(old.redis.status).toBe('ready');

    beside.end(false);
    await waitUntil('the old connection ended', () => old.redis.status === 'end');
    expect(fresh.redis.status).toBe('ready');
    expect(await connections.get('source')).toBe(fresh);
  });

  it('ends a connection left behind at once when no other task got it, and keeps one a task ended without failing', async () => {
    connections = new UrlConnections({ source: { url: sharedRedisUrl() } });
    const ok = connections.lease();
    const kept = await ok.get('source');
    ok.end(false);
    expect(await connections.get('source')).toBe(kept);

    const failed = connections.lease();
    expect(await failed.get('source')).toBe(kept);
    failed.end(true);
    await waitUntil('the connection left ended', () => kept.redis.status === 'end');
    expect(await connections.get('source')).not.toBe(kept);
  });
});
