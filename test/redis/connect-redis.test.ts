import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { InputError } from '../../core/errors/input-error.js';
import { connectRedis } from '../../core/redis/connect-redis.js';
import { RedisUnavailableError } from '../../core/redis/redis-errors.js';
import { parseRedisUrl } from '../../core/redis/redis-url.js';
import { freeLoopbackPort, startRedisServer, TEST_CA_FILE, type RedisServerHandle } from '../support/redis-server.js';
import { sharedRedisUrl } from '../support/redis.js';
import { refusingEndpoint } from '../support/refusing-endpoint.js';

const servers: RedisServerHandle[] = [];
async function server(args: string[] = [], tls = false): Promise<RedisServerHandle> {
  const s = await startRedisServer(args, { tls });
  servers.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** A sentinel watching the primary on `primaryPort` (it needs a configuration file it may rewrite). */
async function startSentinel(primaryPort: number): Promise<{ port: number; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-sentinel-'));
  const port = await freeLoopbackPort();
  writeFileSync(join(dir, 'sentinel.conf'), `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor mymaster 127.0.0.1 ${primaryPort} 1\n`);
  const child = spawn('redis-server', [join(dir, 'sentinel.conf'), '--sentinel'], { stdio: 'ignore' });
  const stop = async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited.catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: null });
  probe.on('error', () => {}); // refused until the sentinel listens: retried
  try {
    await probe.ping();
  } finally {
    probe.disconnect();
  }
  return { port, stop };
}

const withAuth = (url: string, auth: string) => url.replace('://', `://${auth}@`);

describe('connecting to Redis before anything is touched', () => {
  it('connects to a plain primary', async () => {
    const client = await connectRedis(parseRedisUrl(sharedRedisUrl()));
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('refuses a wrong password, naming the endpoint without the secret', async () => {
    const s = await server(['--requirepass', 's3cret-pw']);

    // One at a time: a second attempt rejecting while the first is awaited would be an unhandled rejection.
    const wrong = connectRedis(parseRedisUrl(withAuth(s.url, ':not-it')), { role: 'source' });
    await expect(wrong).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/^source redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: authentication failed \(WRONGPASS /), cause: expect.objectContaining({ message: expect.stringMatching(/^WRONGPASS/) }) });
    const missing = connectRedis(parseRedisUrl(s.url), { role: 'source' });
    await expect(missing).rejects.toMatchObject({ retryable: false, message: expect.stringContaining('authentication failed') });
    await expect(wrong).rejects.not.toThrow(/not-it/);
    const ok = await connectRedis(parseRedisUrl(withAuth(s.url, ':s3cret-pw')));
    expect(await ok.ping()).toBe('PONG');
    ok.disconnect();
  });

  it('says a wrong password is wrong (WRONGPASS), not missing, on a database other than 0', async () => {
    const s = await server(['--requirepass', 's3cret-pw']);

    const wrong = connectRedis(parseRedisUrl(`${withAuth(s.url, ':not-it')}/3`), { role: 'source' });

    await expect(wrong).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/^source redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/3: authentication failed \(WRONGPASS /) });
  });

  it('connects as an ACL user, and names a wrong one', async () => {
    // redis-server takes a directive's words as separate arguments.
    const s = await server(['--user', 'migrator', 'on', '>pw', '~*', '&*', '+@all', '--user', 'default', 'off']);

    const client = await connectRedis(parseRedisUrl(withAuth(s.url, 'migrator:pw')));
    const wrong = connectRedis(parseRedisUrl(withAuth(s.url, 'migrator:nope')));
    wrong.catch(() => {}); // it may reject before it is awaited below: not an unhandled rejection

    expect(await client.acl('WHOAMI')).toBe('migrator');
    client.disconnect();
    await expect(wrong).rejects.toThrow(/redis:\/\/migrator:\*\*\*@.*authentication failed/);
  });

  it('says an unreachable host is unreachable, as a retryable error', async () => {
    const endpoint = await refusingEndpoint();

    const attempt = connectRedis(parseRedisUrl(endpoint.url), { role: 'target', connectTimeoutMs: 1_000 }).finally(endpoint.close);

    await expect(attempt).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(new RegExp(`^Cannot connect to target redis://127\\.0\\.0\\.1:${endpoint.port}`)), cause: expect.any(Error) });
    expect(endpoint.attempts()).toBeGreaterThan(0);
  });

  it('refuses a database the server does not have, and closes a connection whose later SELECT is refused', async () => {
    const s = await server(['--databases', '2']);
    await expect(connectRedis(parseRedisUrl(`${s.url}/2`), { role: 'source' })).rejects.toMatchObject({
      retryable: false,
      message: `source ${s.url}/2: the server has no database 2 (SELECT 2: ERR DB index is out of range); it has databases 0 to 1. Nothing was touched.`,
    });

    // On reconnecting, ioredis reports a refused SELECT only as an 'error' event and would go on
    // in database 0: the connection is closed instead, so that commands fail.
    const client = await connectRedis(parseRedisUrl(`${s.url}/1`));
    expect(await client.ping()).toBe('PONG');
    client.emit('error', new Error('ERR DB index is out of range'));
    await expect(client.ping()).rejects.toThrow(/Connection is closed/);
    const zero = await connectRedis(parseRedisUrl(s.url));
    zero.emit('error', new Error('ERR DB index is out of range')); // database 0 is never refused
    expect(await zero.ping()).toBe('PONG');
    zero.disconnect();
  });

  it('says which databases there are, and the rule where the user may not read the setting (CONFIG refused)', async () => {
    const s = await server(['--databases', '4']);
    const admin = await connectRedis(parseRedisUrl(s.url));
    await admin.call('ACL', 'SETUSER', 'noconfig', 'on', '>secret', '~*', '&*', '+@all', '-config');
    admin.disconnect();
    const noConfig = s.url.replace('redis://', 'redis://noconfig:secret@');

    await expect(connectRedis(parseRedisUrl(`${s.url}/9`), { role: 'target' })).rejects.toMatchObject({
      message: `target ${s.url}/9: the server has no database 9 (SELECT 9: ERR DB index is out of range); it has databases 0 to 3. Nothing was touched.`,
    });
    await expect(connectRedis(parseRedisUrl(`${noConfig}/9`), { role: 'target' })).rejects.toMatchObject({
      message: expect.stringMatching(/: the server has no database 9 \(SELECT 9: ERR DB index is out of range\); its databases are 0 to its `databases` setting minus one \(0 to 15 by default; ElastiCache's cluster mode and Redis Enterprise have only 0\)\. Nothing was touched\.$/),
    });
  });

  it('refuses a read-only replica', async () => {
    const primary = await server();
    const replica = await server(['--replicaof', '127.0.0.1', String(primary.port)]);

    await expect(connectRedis(parseRedisUrl(replica.url), { role: 'target' })).rejects.toThrow(/is a read-only replica; point at the primary endpoint/);
  });

  it('refuses a Redis Cluster endpoint, which Sidekiq does not support', async () => {
    const clustered = await server(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']);

    await expect(connectRedis(parseRedisUrl(clustered.url))).rejects.toThrow(/Redis Cluster endpoint; Sidekiq does not support cluster mode/);
  });

  it('refuses a Redis Sentinel (GitLab may list sentinels), saying to give the primary, not that every command is missing', async () => {
    const primary = await server();
    const sentinel = await startSentinel(primary.port);
    try {
      const attempt = connectRedis(parseRedisUrl(`redis://127.0.0.1:${sentinel.port}`), { role: 'source', use: 'migrate-source' });
      await expect(attempt).rejects.toBeInstanceOf(InputError);
      await expect(attempt).rejects.toThrow(
        `source redis://127.0.0.1:${sentinel.port} is a Redis Sentinel, not the Redis it watches; Sentinel is not supported: give the current primary's address (SENTINEL get-master-addr-by-name <name> on this sentinel tells it). Nothing was touched.`,
      );
    } finally {
      await sentinel.stop();
    }
  });

  it('says the scheme may not match the port: redis:// to a TLS-only Redis, rediss:// to a plain one', async () => {
    const [tlsOnly, plain] = await Promise.all([server([], true), server()]);

    const asPlain = connectRedis(parseRedisUrl(tlsOnly.url.replace('rediss://', 'redis://')), { role: 'source' });
    await expect(asPlain).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(asPlain).rejects.toThrow(
      new RegExp(`^Cannot connect to source redis://127\\.0\\.0\\.1:${tlsOnly.port}: .*ECONNRESET.* \\(a Redis that accepts TLS only closes plain connections: is it one\\? Use rediss:// there\\)$`),
    );
    const asTls = connectRedis(parseRedisUrl(plain.url.replace('redis://', 'rediss://')), { role: 'target', connectTimeoutMs: 1_000 });
    await expect(asTls).rejects.toThrow(
      new RegExp(`^Cannot connect to target rediss://127\\.0\\.0\\.1:${plain.port}: .*ETIMEDOUT.* \\(rediss:// speaks TLS: does this port\\? A Redis without TLS does not answer it; use redis:// there\\)$`),
    );
  });

  it('speaks TLS to rediss:// and checks the certificate', async () => {
    const s = await server([], true);
    const ca = readFileSync(TEST_CA_FILE);

    const client = await connectRedis(parseRedisUrl(s.url), { tls: { ca } });
    const untrusted = connectRedis(parseRedisUrl(s.url), { connectTimeoutMs: 2_000 });
    untrusted.catch(() => {}); // it may reject before it is awaited below: not an unhandled rejection

    expect(await client.ping()).toBe('PONG');
    client.disconnect();
    await expect(untrusted).rejects.toMatchObject({
      retryable: false,
      message: expect.stringMatching(/^Redis rediss:\/\/127\.0\.0\.1:\d+: the server's TLS certificate was rejected \(.*certificate.*\)/),
      cause: expect.objectContaining({ code: expect.stringMatching(/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/) }),
    });
  });

  it('names a permission the user lacks for the checks themselves', async () => {
    const s = await server(['--user', 'blind', 'on', '>pw', '~*', '&*', '+@all', '-info']);

    await expect(connectRedis(parseRedisUrl(withAuth(s.url, 'blind:pw')), { role: 'source' })).rejects.toMatchObject({
      retryable: false,
      message: expect.stringMatching(new RegExp(`^source redis://blind:\\*\\*\\*@127\\.0\\.0\\.1:${s.port}: the user lacks a permission we need \\(NOPERM .*'info'.*\\): grant it \\(ACL SETUSER blind \\+info; Sidekiq itself calls INFO too\\)\\. Nothing was touched\\.$`)),
      cause: expect.objectContaining({ message: expect.stringMatching(/^NOPERM/) }),
    });
  });

  it('keeps a refusal that is neither about connecting nor retryable as it is, saying what it was doing', async () => {
    // INFO disabled: ioredis skips its ready check, and our own INFO gets "unknown command".
    const s = await server(['--rename-command', 'INFO', '""']);

    await expect(connectRedis(parseRedisUrl(s.url), { role: 'source' })).rejects.toMatchObject({
      retryable: false,
      message: expect.stringMatching(new RegExp(`^Connecting to source redis://127\\.0\\.0\\.1:${s.port}: ERR unknown command 'info'`)),
    });
  });

  it('takes the password given apart from the URL over the one in it, and selects the database', async () => {
    const s = await server(['--requirepass', 'right']);

    const client = await connectRedis(parseRedisUrl(`${withAuth(s.url, ':wrong')}/3`), { password: 'right' });
    await client.set('k', 'v');
    const check = await connectRedis(parseRedisUrl(`${withAuth(s.url, ':right')}/3`));

    expect(await check.get('k')).toBe('v');
    expect(await check.select(0).then(() => check.exists('k'))).toBe(0);
    client.disconnect();
    check.disconnect();
  });

  it('a connection dropped after our own AUTH authenticates again on reconnecting, as the ACL user, in its database', async () => {
    const s = await server(['--requirepass', 'right']);
    const admin = new Redis(withAuth(s.url, ':right'), { protocol: 2 });
    await admin.call('ACL', 'SETUSER', 'alice', 'on', '>alice-pw', '~*', '&*', '+@all');
    const notices: string[] = [];

    const client = await connectRedis(parseRedisUrl(`${s.url}/2`), { password: 'right', notice: (m) => notices.push(m) });
    const alice = await connectRedis(parseRedisUrl(`${withAuth(s.url, 'alice:alice-pw')}/3`), { notice: (m) => notices.push(m) });
    await client.set('k', 'two');
    await alice.set('k', 'three');
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');

    expect(await client.get('k')).toBe('two');
    expect(await alice.get('k')).toBe('three');
    expect(await alice.call('ACL', 'WHOAMI')).toBe('alice');
    expect(notices).toEqual([]);
    for (const c of [client, alice, admin]) c.disconnect();
  });

  it('a password for a server that asks for none: said once through notice, not on the console, and the connection works', async () => {
    const s = await server();
    const notices: string[] = [];
    const warn = vi.spyOn(console, 'warn');
    try {
      const client = await connectRedis(parseRedisUrl(`${withAuth(s.url, ':unneeded-pw')}/1`), { role: 'target', notice: (m) => notices.push(m) });
      await client.set('k', 'v');
      await client.call('CLIENT', 'KILL', 'TYPE', 'normal');
      expect(await client.get('k')).toBe('v');
      client.disconnect();
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
    expect(notices).toEqual([`target redis://:***@127.0.0.1:${s.port}/1 asks for no password, but the URL's password was given: the server took the connection without it. Check that this is the Redis you meant.`]);
  });

  it('times out a command that waits too long for its reply, and gives up reconnecting after a few attempts', async () => {
    const s = await server();
    const client = await connectRedis(parseRedisUrl(s.url), { commandTimeoutMs: 300 });
    process.kill(s.pid, 'SIGSTOP');
    try {
      await expect(client.ping()).rejects.toThrow('Command timed out');
    } finally {
      process.kill(s.pid, 'SIGCONT');
    }
    const retry = client.options.retryStrategy!;
    expect([1, 2, 5, 6].map((attempt) => retry(attempt))).toEqual([200, 400, 1_000, null]);
    expect(client.options).toMatchObject({ commandTimeout: 300, connectTimeout: 10_000, maxRetriesPerRequest: 2 });
    client.disconnect();
    const defaults = await connectRedis(parseRedisUrl(s.url));
    expect(defaults.options).toMatchObject({ commandTimeout: 30_000 });
    defaults.disconnect();
    const given = await connectRedis(parseRedisUrl(s.url), { connectTimeoutMs: 1_234 });
    expect(given.options).toMatchObject({ connectTimeout: 1_234 });
    given.disconnect();
  });

  it.each([
    ['http://example.com', 'the scheme must be redis:// or rediss://'],
    ['redis://', 'the host is missing'],
    ['not a url', 'not a URL'],
    ['redis://:pw@host/abc', 'the database must be a number'],
  ])('explains a malformed URL: %s', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message);
    expect(() => parseRedisUrl(url)).not.toThrow(/:pw@/);
  });
});
