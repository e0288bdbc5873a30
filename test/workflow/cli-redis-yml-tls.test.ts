import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { startRedisServer, TEST_CA_FILE, type RedisServerHandle } from '../support/redis-server.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { tempFileWriter } from '../support/temp-files.js';

// GitLab's redis.yml turns TLS on with `ssl: true` beside a redis:// url (or a rediss:// url) and
// names the CA with `ssl_params: {ca_file: …}` (Gitlab::Redis::Wrapper hands both to redis-client).
// Neither was read: the entry was reached in plain text, which a TLS-only Redis closes. Now the
// entry connects with TLS, trusting its ca_file, and what cannot be honoured (not verifying the
// server, a client certificate) is refused when the store is named: exit 2, nothing connected.
const file = tempFileWriter('cli-redis-yml-tls-');
let tlsServer: RedisServerHandle;
let plainServer: RedisServerHandle;
let tls: Redis;
let plain: Redis;

beforeAll(async () => {
  [tlsServer, plainServer] = await Promise.all([startRedisServer([], { tls: true }), startRedisServer()]);
  tls = new Redis({ host: '127.0.0.1', port: tlsServer.port, tls: { ca: readFileSync(TEST_CA_FILE, 'utf8') } });
  plain = new Redis(plainServer.url);
}, 30_000);
afterAll(async () => {
  tls?.disconnect();
  plain?.disconnect();
  await Promise.all([tlsServer?.stop(), plainServer?.stop()]);
});

const entries = (main: string) => file('redis.yml', `production:\n  main:\n${main}  queues_shard_catchall_b:\n    url: "${plainServer.url}"\n`);

describe('redis.yml entries with TLS', { timeout: 120_000 }, () => {
  it.each([
    ['ssl: true beside a redis:// url', () => `    url: "redis://localhost:${tlsServer.port}"\n    ssl: true\n    ssl_params:\n      ca_file: "${TEST_CA_FILE}"\n`],
    ['a rediss:// url, verify_mode 1 (peer)', () => `    url: "rediss://localhost:${tlsServer.port}"\n    ssl_params:\n      ca_file: "${TEST_CA_FILE}"\n      verify_mode: 1\n`],
  ])('%s with ssl_params ca_file: the move connects with TLS, trusting that CA', async (_name, main) => {
    await tls.flushall();
    await plain.flushall();
    const moving = sidekiqPayload({ className: 'A', args: '[1]' });
    const staying = sidekiqPayload({ className: 'B', args: '[2]' });
    await tls.rpush('queue:default', moving, staying);
    await tls.sadd('queues', 'default');

    const moved = await runCli('move', '--redis-yml', entries(main()), '--from', 'main', '--to', 'queues_shard_catchall_b', '--classes', 'A');

    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toContain('Complete');
    await expectExactJobs(tls, '', [jobEntry('queue:default', staying)], 'main keeps the class not selected');
    await expectExactJobs(plain, '', [jobEntry('queue:default', moving)], 'the shard has the moved class');
  });

  it.each([
    ['verify_mode: 0', '      verify_mode: 0\n', "its ssl_params verify_mode: 0 (OpenSSL::SSL::VERIFY_NONE) turns off the check of the server's certificate, which this tool always makes: give the CA that signed it as ssl_params ca_file (or --tls-ca), and leave verify_mode out"],
    ['cert_file', '      cert_file: /etc/gitlab/ssl/redis-client.crt\n      key_file: /etc/gitlab/ssl/redis-client.key\n', 'its ssl_params cert_file, key_file (a client certificate) cannot be read by this tool: give the URL of a Redis that takes connections without one instead of the store name'],
    ['ca_path', '      ca_path: /etc/ssl/certs\n', 'its ssl_params ca_path cannot be read by this tool (ca_file only): give the CA file as ssl_params ca_file or with --tls-ca'],
  ])('ssl_params %s: refused, naming the file, the store and what to give, exit 2, nothing touched', async (_name, params, why) => {
    await tls.flushall();
    await plain.flushall();
    await tls.rpush('queue:default', sidekiqPayload({ className: 'A', args: '[1]' }));
    const path = entries(`    url: "rediss://localhost:${tlsServer.port}"\n    ssl_params:\n${params}`);
    const before = await tls.lrange('queue:default', 0, -1);

    const refused = await runCli('move', '--redis-yml', path, '--from', 'main', '--to', 'queues_shard_catchall_b', '--classes', 'A');

    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(`--from main: ${path}'s main cannot be used: ${why}\n`);
    expect(await tls.lrange('queue:default', 0, -1)).toEqual(before);
    expect(await plain.dbsize()).toBe(0);
  });

  // A ca_file the tool cannot read was said as 'Cannot read the CA certificate file config/ca.pem:
  // no such file', alone: no word that the path came from redis.yml's entry, nor where a relative
  // one is read from (the user typed no such path).
  it.each([
    ['move --from', (path: string) => ['move', '--redis-yml', path, '--from', 'main', '--to', 'queues_shard_catchall_b', '--classes', 'A']],
    ['drain-check --redis', (path: string) => ['drain-check', '--redis-yml', path, '--redis', 'main']],
  ])("%s a store whose ssl_params ca_file is not there: the message names the file's entry and the directory a relative path is read from, exit 2, nothing touched", async (_name, args) => {
    await tls.flushall();
    await plain.flushall();
    await tls.rpush('queue:default', sidekiqPayload({ className: 'A', args: '[1]' }));
    const path = entries(`    url: "rediss://localhost:${tlsServer.port}"\n    ssl_params:\n      ca_file: config/no-such-ca.pem\n`);
    const before = await tls.lrange('queue:default', 0, -1);

    const refused = await runCli(...args(path));

    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(`Cannot read the CA certificate file config/no-such-ca.pem: no such file\n  (in ${path}'s main, its ssl_params ca_file; a relative path is read from the current directory, ${process.cwd()})\n`);
    expect(await tls.lrange('queue:default', 0, -1)).toEqual(before);
    expect(await plain.dbsize()).toBe(0);
  });
});
