// A deployed task whose secret holds a password for a Redis that asks for none: the connection
// opens (the server takes it without one), and the container's log warns once, at the connect,
// naming the endpoint and where the password came from (the secret, not the URL: the environment
// holds no password), never the password itself (functions/support/container.ts).
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { type RedisServerHandle, startRedisServers } from '../support/redis-server.js';
import { captureOutput, fakeContext, logRecords } from './support/lambda-harness.js';
import { coldStart, type LoadedHandlers } from './support/load-handlers.js';

const PASSWORD = 'unneeded-pw-Kq82Zr';
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sidekiq-migrate/source-Unneed';
const secrets = mockClient(SecretsManagerClient);
let server: RedisServerHandle;
let h: LoadedHandlers;

beforeAll(async () => {
  [server] = (await startRedisServers([])) as [RedisServerHandle];
  secrets.on(GetSecretValueCommand, { SecretId: SECRET }).resolves({ ARN: SECRET, Name: 'source', SecretString: PASSWORD });
});
afterAll(async () => {
  await h?.connections.close();
  vi.unstubAllEnvs();
  secrets.restore();
  await server.stop();
});

describe('a password from the secret for a Redis that asks for none', () => {
  it('the task runs; the log warns once, naming the endpoint and the secret, never the password', { timeout: 60_000 }, async () => {
    const out = captureOutput();
    try {
      // The cold start and two invocations: the connection is opened once, and kept.
      h = await coldStart({ SIDEKIQ_MIGRATE_SOURCE_URL: server.url, SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: SECRET });
      const first = (await h.drainCheck({ remember: false }, fakeContext())) as DrainReport;
      const second = (await h.drainCheck({ remember: false }, fakeContext())) as DrainReport;
      expect(first).toMatchObject({ remaining: 0 });
      expect(second).toMatchObject({ remaining: 0 });
    } finally {
      out.stop();
    }
    const warnings = logRecords(out.records()).filter((r) => r['level'] === 'WARN');
    expect(warnings.map((r) => r['message'])).toEqual([
      `source redis://127.0.0.1:${server.port} asks for no password, but the password of the secret ${SECRET} was given: the server took the connection without it. Check that this is the Redis you meant.`,
    ]);
    expect(out.text()).not.toContain(PASSWORD);
  });
});
