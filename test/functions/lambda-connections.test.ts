import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clearCaches } from '@aws-lambda-powertools/parameters';
import { mockClient } from 'aws-sdk-client-mock';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/config/config-error.js';
import { envNameOf, readConnectionEnv } from '../../functions/support/connection-env.js';
import { createLambdaConnections, type LambdaConnections } from '../../functions/support/lambda-connections.js';
import { parseCredentials } from '../../functions/support/redis-credentials.js';
import { startRedisServer, TEST_CA_FILE, type RedisServerHandle } from '../support/redis-server.js';
import { refusingEndpoint } from '../support/refusing-endpoint.js';
import { shardedBehindProxy } from '../support/sharded-redis.js';

const ARN = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-Ab12Cd`;
const TOKEN = 'token-Kq83Lz0Pw';

const secrets = mockClient(SecretsManagerClient);
const servers: RedisServerHandle[] = [];
const providers: LambdaConnections[] = [];
let tokenServer: RedisServerHandle;
let aclServer: RedisServerHandle;

beforeAll(async () => {
  [tokenServer, aclServer] = await Promise.all([
    startRedisServer(['--requirepass', TOKEN]),
    startRedisServer(['--user', 'migrator', 'on', '>pw-Vb71', '~*', '&*', '+@all', '--user', 'default', 'off']),
  ]);
  servers.push(tokenServer, aclServer);
});
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  secrets.reset();
  clearCaches();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  secrets.restore();
});

function provider(env: Record<string, string>): LambdaConnections {
  const p = createLambdaConnections(env);
  providers.push(p);
  return p;
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    readConnectionEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('configuration from the environment', () => {
  it('reads each connection: URL, prefix, secret', () => {
    const settings = readConnectionEnv({
      SIDEKIQ_MIGRATE_SOURCE_URL: 'rediss://old.cache.amazonaws.com:6379',
      SIDEKIQ_MIGRATE_SOURCE_PREFIX: 'resque:gitlab:',
      SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: ARN('source'),
      SIDEKIQ_MIGRATE_OLD_REDIS_URL: 'redis://migrator@10.0.0.1:6380/2',
      SIDEKIQ_MIGRATE_DEBUG: '1', // not a connection's: none of our business
      PATH: '/usr/bin',
    });

    expect(Object.keys(settings).sort()).toEqual(['OLD_REDIS', 'SOURCE']);
    expect(settings['SOURCE']).toMatchObject({ prefix: 'resque:gitlab:', secretArn: ARN('source'), url: { tls: true, host: 'old.cache.amazonaws.com', port: 6379 } });
    expect(settings['OLD_REDIS']).toMatchObject({ prefix: '', url: { tls: false, username: 'migrator', port: 6380, db: 2 } });
    expect(settings['OLD_REDIS']!.secretArn).toBeUndefined();
    expect(envNameOf('old-redis')).toBe('OLD_REDIS');
  });

  it('reports every problem at once, and never a password', () => {
    const problems = problemsOf({
      SIDEKIQ_MIGRATE_SOURCE_URL: 'http://old.example.com',
      SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: 'my-secret',
      SIDEKIQ_MIGRATE_SOURCE_PREFX: 'resque:',
      SIDEKIQ_MIGRATE_TARGET_PREFIX: 'resque:',
      SIDEKIQ_MIGRATE_SPARE_URL: 'redis://:hunter2@10.0.0.9:6379',
    });

    expect(problems).toHaveLength(5);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^SIDEKIQ_MIGRATE_SOURCE_URL: .*scheme must be redis:\/\/ or rediss:\/\//),
        expect.stringMatching(/^SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: must be a Secrets Manager secret ARN/),
        expect.stringMatching(/^SIDEKIQ_MIGRATE_SOURCE_\*: unknown option\(s\) PREFX/),
        expect.stringMatching(/^SIDEKIQ_MIGRATE_TARGET_URL: is missing/),
        expect.stringMatching(/^SIDEKIQ_MIGRATE_SPARE_URL: redis:\/\/:\*\*\*@10\.0\.0\.9:6379 contains a password/),
      ]),
    );
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problemsOf({})).toEqual([expect.stringMatching(/no Redis connection is configured: set SIDEKIQ_MIGRATE_SOURCE_URL/)]);
  });

  it('refuses a Unix socket URL, which the local CLI reads but a Lambda cannot reach', () => {
    expect(problemsOf({ SIDEKIQ_MIGRATE_SOURCE_URL: 'unix:///var/opt/gitlab/redis/redis.socket' })).toEqual([
      "SIDEKIQ_MIGRATE_SOURCE_URL: unix:///var/opt/gitlab/redis/redis.socket is a Unix socket, which a Lambda function cannot reach (it runs on AWS, not on the Redis host): give the Redis's TCP address, redis://host:port (or rediss://), or run the local CLI on the Redis host",
    ]);
  });

  it('gives a provider that fails every task with the full list, rather than a crashed cold start', async () => {
    const p = provider({ SIDEKIQ_MIGRATE_SOURCE_URL: 'nonsense', SIDEKIQ_MIGRATE_TARGET_SECRET_ARN: 'x' });

    expect(p.problems).toHaveLength(3);
    await expect(p.get('source')).rejects.toMatchObject({ name: 'ConfigError', problems: p.problems });
  });

  it('names the variable to set for a connection it does not know', async () => {
    const p = provider({ SIDEKIQ_MIGRATE_SOURCE_URL: tokenServer.url, SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: ARN('t1') });

    await expect(p.get('old-redis')).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('set SIDEKIQ_MIGRATE_OLD_REDIS_URL') });
  });
});

describe('credentials from Secrets Manager', () => {
  it('reads a plain AUTH token or an ACL user, and refuses JSON of another shape without echoing it', () => {
    expect(parseCredentials('plain-token', 's')).toEqual({ password: 'plain-token' });
    expect(parseCredentials('12345', 's')).toEqual({ password: '12345' });
    expect(parseCredentials(JSON.stringify({ username: 'u', password: 'p', host: 'h' }), 's')).toEqual({ username: 'u', password: 'p' });
    expect(parseCredentials(new TextEncoder().encode(JSON.stringify({ password: 'p' })), 's')).toEqual({ password: 'p' });
    expect(() => parseCredentials(JSON.stringify({ user: 'u', pass: 'sekrit' }), 'The secret')).toThrow(/The secret is JSON but not/);
    expect(() => parseCredentials(JSON.stringify({ user: 'u', pass: 'sekrit' }), 'The secret')).not.toThrow(/sekrit/);
    expect(() => parseCredentials('', 'The secret')).toThrow(/The secret is empty/);
  });

  it('opens a connection with an AUTH token, once, and keeps the client', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: ARN('t2') }).resolves({ SecretString: TOKEN });
    const p = provider({ SIDEKIQ_MIGRATE_SOURCE_URL: tokenServer.url, SIDEKIQ_MIGRATE_SOURCE_PREFIX: 'resque:gitlab:', SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: ARN('t2') });

    const [a, b] = await Promise.all([p.get('source'), p.get('SOURCE')]);
    const c = await p.get('source');

    expect(a).toBe(b);
    expect(c.redis).toBe(a.redis);
    expect(await a.redis.ping()).toBe('PONG');
    expect(a.keys.prefix).toBe('resque:gitlab:');
    expect(a.name).toBe(tokenServer.url);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secrets.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: ARN('t2') });
  });

  it('reads a secret given by its name (SECRET_NAME) under that exact name', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: 'sidekiq/redis-source' }).resolves({ SecretString: TOKEN });
    const p = provider({ SIDEKIQ_MIGRATE_SOURCE_URL: tokenServer.url, SIDEKIQ_MIGRATE_SOURCE_SECRET_NAME: 'sidekiq/redis-source' });

    const { redis } = await p.get('source');

    expect(await redis.ping()).toBe('PONG');
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: 'sidekiq/redis-source' }]);
    expect(problemsOf({ SIDEKIQ_MIGRATE_SOURCE_URL: tokenServer.url, SIDEKIQ_MIGRATE_SOURCE_SECRET_NAME: 'a', SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: ARN('a') })).toEqual([
      'SIDEKIQ_MIGRATE_SOURCE_SECRET_NAME: give the secret by SECRET_ARN or by SECRET_NAME, not both',
    ]);
  });

  it('trusts the private CA bundled with the function (TLS_CA_FILE, relative to its code directory), and only with it', async () => {
    const tls = await startRedisServer([], { tls: true });
    servers.push(tls);
    const codeDirectory = mkdtempSync(join(tmpdir(), 'lambda-task-root-'));
    mkdirSync(join(codeDirectory, 'tls'));
    copyFileSync(TEST_CA_FILE, join(codeDirectory, 'tls', 'source-ca.pem'));
    const withCa = createLambdaConnections({ SIDEKIQ_MIGRATE_SOURCE_URL: tls.url, SIDEKIQ_MIGRATE_SOURCE_TLS_CA_FILE: 'tls/source-ca.pem' }, { codeDirectory });
    const withoutCa = createLambdaConnections({ SIDEKIQ_MIGRATE_SOURCE_URL: tls.url }, { codeDirectory });
    const missing = createLambdaConnections({ SIDEKIQ_MIGRATE_SOURCE_URL: tls.url, SIDEKIQ_MIGRATE_SOURCE_TLS_CA_FILE: 'tls/target-ca.pem' }, { codeDirectory });
    providers.push(withCa, withoutCa, missing);

    const { redis } = await withCa.get('source');

    expect(await redis.ping()).toBe('PONG');
    await expect(withoutCa.get('source')).rejects.toMatchObject({ message: expect.stringMatching(/certificate/i) });
    await expect(missing.get('source')).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('The CA file of connection "source" (SIDEKIQ_MIGRATE_SOURCE_TLS_CA_FILE=tls/target-ca.pem) cannot be read') });
    rmSync(codeDirectory, { recursive: true, force: true });
  });

  // The CLI strips a byte order mark (U+FEFF) at the start of its --tls-ca file
  // (core/config/read-input-file.ts); the functions read theirs as they were: one mark Node's TLS
  // skips, but a file with two (saved with a mark, then again by an editor that adds one) trusted
  // nothing here while the CLI, one mark stripped, connected with it.
  it('trusts a bundled CA file that starts with a byte order mark, read as the CLI reads it (the mark stripped)', async () => {
    const tls = await startRedisServer([], { tls: true });
    servers.push(tls);
    const codeDirectory = mkdtempSync(join(tmpdir(), 'lambda-task-root-'));
    const ca = readFileSync(TEST_CA_FILE, 'utf8');
    writeFileSync(join(codeDirectory, 'one-mark.pem'), `\uFEFF${ca}`);
    writeFileSync(join(codeDirectory, 'two-marks.pem'), `\uFEFF\uFEFF${ca}`);
    const one = createLambdaConnections({ SIDEKIQ_MIGRATE_SOURCE_URL: tls.url, SIDEKIQ_MIGRATE_SOURCE_TLS_CA_FILE: 'one-mark.pem' }, { codeDirectory });
    const two = createLambdaConnections({ SIDEKIQ_MIGRATE_SOURCE_URL: tls.url, SIDEKIQ_MIGRATE_SOURCE_TLS_CA_FILE: 'two-marks.pem' }, { codeDirectory });
    providers.push(one, two);

    expect(await (await one.get('source')).redis.ping()).toBe('PONG');
    expect(await (await two.get('source')).redis.ping()).toBe('PONG');
    rmSync(codeDirectory, { recursive: true, force: true });
  });

  it('logs in as an ACL user from a JSON secret', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: ARN('acl') }).resolves({ SecretString: JSON.stringify({ username: 'migrator', password: 'pw-Vb71' }) });
    const p = provider({ SIDEKIQ_MIGRATE_TARGET_URL: aclServer.url, SIDEKIQ_MIGRATE_TARGET_SECRET_ARN: ARN('acl') });

    const { redis } = await p.get('target');

    expect(await redis.acl('WHOAMI')).toBe('migrator');
  });

  it('replaces a connection that ended, reading the secret again once its cache has a stale one', async () => {
    // The token is rotated: the server takes the new one, the cached secret still has the old one.
    const server = await startRedisServer(['--requirepass', 'old-token-1']);
    servers.push(server);
    secrets.on(GetSecretValueCommand, { SecretId: ARN('rot') }).resolves({ SecretString: 'old-token-1' });
    const p = provider({ SIDEKIQ_MIGRATE_SOURCE_URL: server.url, SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: ARN('rot') });
    const first = await p.get('source');
    await first.redis.config('SET', 'requirepass', 'new-token-2');
    secrets.on(GetSecretValueCommand, { SecretId: ARN('rot') }).resolves({ SecretString: 'new-token-2' });
    const ended = new Promise((resolve) => first.redis.once('end', resolve));
    first.redis.disconnect();
    await ended;

    const second = await p.get('source');

    expect(second.redis).not.toBe(first.redis);
    expect(await second.redis.ping()).toBe('PONG');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2); // the cached one failed: fetched again, once
    expect(p.failedConnects).toBe(0);
  });

  it('says why a connection failed, without the token, and counts the failure', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: ARN('wrong') }).resolves({ SecretString: 'not-the-token-9' });
    const p = provider({ SIDEKIQ_MIGRATE_SOURCE_URL: tokenServer.url, SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: ARN('wrong') });

    const failure = (await p.get('source').catch((e: unknown) => e)) as Error;

    expect(failure).toMatchObject({ name: 'InputError', retryable: false, message: expect.stringContaining('authentication failed') });
    expect(failure.message).not.toContain('not-the-token-9');
    expect(p.failedConnects).toBe(1);
    // Not kept: the next invocation tries again.
    await expect(p.get('source')).rejects.toMatchObject({ name: 'InputError' });
    expect(p.failedConnects).toBe(2);
  });

  it('tells a refused secret (fatal) from a throttled one (retryable)', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform secretsmanager:GetSecretValue'), { name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    secrets.on(GetSecretValueCommand, { SecretId: ARN('denied') }).rejects(denied);
    secrets.on(GetSecretValueCommand, { SecretId: ARN('throttled') }).rejects(throttled);
    const p = provider({
      SIDEKIQ_MIGRATE_SOURCE_URL: tokenServer.url,
      SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: ARN('denied'),
      SIDEKIQ_MIGRATE_TARGET_URL: tokenServer.url,
      SIDEKIQ_MIGRATE_TARGET_SECRET_ARN: ARN('throttled'),
    });

    await expect(p.get('source')).rejects.toMatchObject({ name: 'SecretAccessError', retryable: false, message: expect.stringContaining('AccessDeniedException') });
    await expect(p.get('target')).rejects.toMatchObject({ name: 'SecretUnavailableError', retryable: true, message: expect.stringContaining(ARN('throttled')) });
  });

  it('says an unreachable Redis is unreachable (retryable)', async () => {
    const endpoint = await refusingEndpoint();
    const p = provider({ SIDEKIQ_MIGRATE_SOURCE_URL: endpoint.url });

    await expect(p.get('source').finally(endpoint.close)).rejects.toMatchObject({ name: 'RedisUnavailableError', retryable: true });
    expect(endpoint.attempts()).toBeGreaterThan(0);
  });
});

describe('a sharded Redis behind a proxy that reports cluster_enabled:0 (Redis Enterprise)', () => {
  it('is refused when connecting, before any step touches it, naming it and what to use instead', async () => {
    const sharded = await shardedBehindProxy();
    try {
      await sharded.admin.rpush('resque:gitlab:queue:old', 'x');
      const p = provider({ SIDEKIQ_MIGRATE_SOURCE_URL: sharded.url, SIDEKIQ_MIGRATE_SOURCE_PREFIX: 'resque:gitlab:' });

      await expect(p.get('source')).rejects.toMatchObject({
        name: 'InputError',
        retryable: false,
        message: `source ${sharded.url}: the server refuses a call on keys in different hash slots (CROSSSLOT Keys in request don't hash to the same slot): it is sharded (a Redis Enterprise database with several shards behind its proxy, or a cluster proxy), which Sidekiq does not support, and each of our moves is one call on several keys. Use a single-shard database. Nothing was touched.`,
      });
      expect(await sharded.admin.keys('*')).toEqual(['resque:gitlab:queue:old']);
    } finally {
      await sharded.stop();
    }
  });
});

// A client of the test's own, to make sure the servers above really want credentials.
describe('the test servers', () => {
  it('refuse clients without credentials', async () => {
    const anonymous = new Redis(tokenServer.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    anonymous.on('error', () => {});
    await anonymous.connect().catch(() => {});
    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH|closed/);
    anonymous.disconnect();
  });
});
