import { afterEach } from 'vitest';
import { UrlConnections } from '../../core/workflow/url-connections.js';

/**
 * The ConnectionProvider a file's steps are given, to its private source and target
 * (privateSourceAndTarget's `urls`): each `connect()` opens a provider of its own, and every one
 * opened during a test is closed after it (also when the test failed).
 */
export function connectionsPerTest(redis: { urls: () => { source: string; target: string } }): {
  /** A provider with `source` and `target`; `sameServer`: both on the source server. */
  connect: (sameServer?: boolean) => UrlConnections;
  /** `connections`, built by the test itself, closed after the test like the others. */
  closedAfterTest: (connections: UrlConnections) => UrlConnections;
  /** The provider opened (or handed to closedAfterTest) last in this test. */
  latest: () => UrlConnections;
} {
  const open: UrlConnections[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  const closedAfterTest = (connections: UrlConnections) => {
    open.push(connections);
    return connections;
  };
  return {
    connect: (sameServer = false) => {
      const { source, target } = redis.urls();
      return closedAfterTest(new UrlConnections({ source: { url: source }, target: { url: sameServer ? source : target } }));
    },
    closedAfterTest,
    latest: () => {
      const last = open.at(-1);
      if (!last) throw new Error('no connections opened in this test yet');
      return last;
    },
  };
}
