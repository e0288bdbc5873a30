import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectOptions } from '../../cli/workflow/connect-options.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { startRedisServer, TEST_CA_FILE, type RedisServerHandle } from '../support/redis-server.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { commandsDuring } from '../support/monitor-writes.js';

// Issue 11, item 13: passwords apart from URLs (any characters), one CA option per side added to
// Node's own CAs, and a connection check that verifies every command the run will send.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'cli-credentials-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ W: 'c' }));
// Legal in an ElastiCache AUTH token, and each one breaks a URL.
const PASSWORD = 'p#w%d?x@y:z/1';

const cli = runCli;

function writeTemp(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const job = (queue: string, i: number) => sidekiqPayload({ className: 'W', queue, args: `[${i},1.0]`, jid: `00000000000000000000000${i}` });

async function jobs(client: Redis): Promise<string[]> {
  const out: string[] = [];
  for (const key of (await client.keys('*')).sort()) {
    const type = await client.type(key);
    if (type === 'list') for (const v of await client.lrange(key, 0, -1)) out.push(`${key}\t${v}`);
    if (type === 'zset') {
      const flat = await client.zrange(key, 0, '-1', 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) out.push(`${key}\t${flat[i]}\t${flat[i + 1]}`);
    }
  }
  return out.sort();
}

const host = (url: string) => url.replace(/^rediss?:\/\//, '');

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('a read-only ACL user', { timeout: 180_000 }, () => {
  beforeEach(async () => {
    await redis.source().call('ACL', 'SETUSER', 'reader', 'reset', 'on', '>reader-pass', '~*', '&*', '+@read', '+info');
    // May do everything but EVALSHA, and ACL DRYRUN too (the precise check).
    await redis.source().call('ACL', 'SETUSER', 'noscript', 'reset', 'on', '>noscript-pass', '~*', '&*', '+@all', '-evalsha');
    // May do everything but LREM and ACL: checked by MULTI … DISCARD, running nothing.
    await redis.source().call('ACL', 'SETUSER', 'nolrem', 'reset', 'on', '>nolrem-pass', '~*', '&*', '+@all', '-lrem', '-acl');
    await redis.source().rpush('queue:old', job('old', 1), job('old', 2));
    await redis.source().sadd('queues', 'old');
  });

  it('fails the dry run that the runbook says proves the credentials: exit 2, the missing commands named, nothing touched', async () => {
    const before = await keyValueSnapshot(redis.source());

    const { code, stdout, stderr } = await cli('run', '--redis', `redis://reader:reader-pass@${host(redis.urls().source)}`, '--mapping', mappingFile, '--dry-run');

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^source redis:\/\/reader:\*\*\*@127\.0\.0\.1:\d+: the user reader may not run EVALSHA, SCRIPT LOAD, MULTI \(needed to check the other writes without running them\), which a migration needs\. Grant them/);
    expect(stderr).not.toContain('reader-pass');
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
  });

  it('may still run the read-only drain check', async () => {
    const { code, stdout } = await cli('drain-check', '--redis', `redis://reader:reader-pass@${host(redis.urls().source)}`);

    expect(code).toBe(3);
    expect(stdout).toMatch(/STUCK — 2 job\(s\) left/);
  });

  it('a user without EVALSHA is found by ACL DRYRUN: exit 2 naming EVALSHA alone', async () => {
    const { code, stderr } = await cli('run', '--redis', `redis://noscript:noscript-pass@${host(redis.urls().source)}`, '--mapping', mappingFile);

    expect(code).toBe(2);
    expect(stderr).toMatch(/the user noscript may not run EVALSHA, which a migration needs/);
    expect(await redis.source().llen('queue:old')).toBe(2);
  });

  it('a user without LREM (nor ACL) is found by queueing the commands in MULTI and discarding them', async () => {
    const before = await keyValueSnapshot(redis.source());

    const { code, stderr } = await cli('run', '--redis', `redis://nolrem:nolrem-pass@${host(redis.urls().source)}`, '--mapping', mappingFile);

    expect(code).toBe(2);
    expect(stderr).toMatch(/the user nolrem may not run LREM, which a migration needs\. Grant them \(ACL SETUSER … \+lrem\)/);
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
    expect(await redis.source().exists('sidekiq-migrate:permission-check', 'queue:sidekiq-migrate-permission-check', 'retry')).toBe(0);
  });

  it('a user limited to GitLab\'s namespace (~resque:gitlab:*), run without --namespace, is told about the keys, not to grant commands it has; with it, the run moves every job', async () => {
    const source = redis.source();
    // Both ways the check is made: ACL DRYRUN, and (without ACL) commands sent and queued in a discarded MULTI.
    await source.call('ACL', 'SETUSER', 'gitlab', 'reset', 'on', '>gitlab-pass', '~resque:gitlab:*', '&*', '+@all');
    await source.call('ACL', 'SETUSER', 'gitlabnoacl', 'reset', 'on', '>gitlab-pass', '~resque:gitlab:*', '&*', '+@all', '-acl');
    await source.rpush('resque:gitlab:queue:old', job('old', 3));
    await source.sadd('resque:gitlab:queues', 'old');
    const before = await keyValueSnapshot(source);

    for (const user of ['gitlab', 'gitlabnoacl']) {
      const url = `redis://${user}:gitlab-pass@${host(redis.urls().source)}`;
      const { code, stdout, stderr } = await cli('run', '--redis', url, '--mapping', mappingFile);
      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(stderr).toMatch(
        new RegExp(`^source redis://${user}:\\*\\*\\*@127\\.0\\.0\\.1:\\d+: the user ${user} may not use the keys a migration needs with no prefix \\(no namespace\\) \\(TYPE, EXISTS, .*, MGET, HDEL refused on them\\)\\. Grant them \\(ACL SETUSER … ~\\*\\), or, if Sidekiq's keys are under a namespace \\(GitLab's resque:gitlab:\\), give it, or use another user\\. Nothing was touched\\.\\n$`),
      );
      expect(stderr).not.toMatch(/\+type|may not run/);
      expect(await keyValueSnapshot(source)).toEqual(before);
    }

    const namespaced = await cli('run', '--redis', `redis://gitlabnoacl:gitlab-pass@${host(redis.urls().source)}`, '--namespace', 'resque:gitlab', '--mapping', mappingFile);
    expect(namespaced.code).toBe(0);
    expect(await source.lrange('resque:gitlab:queue:c', 0, -1)).toEqual([job('c', 3)]);
    expect(await source.exists('resque:gitlab:queue:old')).toBe(0);
  });

  it('a command the server does not have (disabled by the service) is named as such, not as one to grant', async () => {
    const disabled = await startRedisServer(['--rename-command', 'SMISMEMBER', '']);
    try {
      const client = new Redis(disabled.url, { protocol: 2 });
      await client.lpush('queue:a', job('a', 1));
      await client.sadd('queues', 'a');
      const { code, stdout, stderr } = await cli('run', '--redis', disabled.url, '--mapping', mappingFile);
      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(stderr).toMatch(
        /^source redis:\/\/127\.0\.0\.1:\d+: the server does not have SMISMEMBER \(renamed or disabled, or newer than this Redis [\d.]+\), which a migration needs; we need Redis 6\.2 or later with these commands enabled\. Nothing was touched\.\n$/,
      );
      expect(await client.lrange('queue:a', 0, -1)).toEqual([job('a', 1)]);
      client.disconnect();
    } finally {
      await disabled.stop();
    }
  });

  it('a read-only target refuses the move before anything is claimed', async () => {
    await redis.target().call('ACL', 'SETUSER', 'reader', 'reset', 'on', '>reader-pass', '~*', '&*', '+@read', '+info');
    const before = await keyValueSnapshot(redis.source());

    const { code, stderr } = await cli('move', '--from', redis.urls().source, '--to', `redis://reader:reader-pass@${host(redis.urls().target)}`);

    expect(code).toBe(2);
    expect(stderr).toMatch(/^target redis:\/\/reader:\*\*\*@127\.0\.0\.1:\d+: the user reader may not run EVALSHA, SCRIPT LOAD, MULTI .*which a transfer target needs/);
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
    expect(await jobs(redis.target())).toEqual([]);
  });
});

describe('passwords apart from the URL', { timeout: 180_000 }, () => {
  beforeEach(async () => {
    await redis.source().call('ACL', 'SETUSER', 'mover', 'reset', 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
    await redis.target().call('ACL', 'SETUSER', 'mover', 'reset', 'on', '>target#pass%', '~*', '&*', '+@all');
    await redis.source().rpush('queue:old', job('old', 1), job('old', 2));
    await redis.source().sadd('queues', 'old');
  });
  const url = (which: 'source' | 'target') => `redis://mover@${host(redis.urls()[which])}`;

  it('--password: the run authenticates with it, moves every job, and never shows it', async () => {
    const { code, stdout, stderr } = await cli('run', '--redis', url('source'), '--password', PASSWORD, '--rename', 'old=new');

    expect(code).toBe(0);
    expect(stdout).toContain('Complete: everything that could be moved was moved.');
    expect(`${stdout}${stderr}`).not.toContain(PASSWORD);
    expect(await jobs(redis.source())).toEqual([`queue:new\t${job('new', 1)}`, `queue:new\t${job('new', 2)}`].sort());
  });

  it('a wrong password is refused (exit 2) without showing either password', async () => {
    const { code, stderr } = await cli('run', '--redis', url('source'), '--password', 'wrong#one', '--rename', 'old=new');

    expect(code).toBe(2);
    expect(stderr).toMatch(/authentication failed/);
    expect(stderr).not.toMatch(/wrong#one|p#w%d/);
    expect(await redis.source().llen('queue:old')).toBe(2);
  });

  it('SIDEKIQ_MIGRATE_PASSWORD, for drain-check', async () => {
    vi.stubEnv('SIDEKIQ_MIGRATE_PASSWORD', PASSWORD);

    const { code, stdout } = await cli('drain-check', '--redis', url('source'));

    expect(code).toBe(3);
    expect(stdout).toMatch(/STUCK — 2 job\(s\) left/);
  });

  it('move: SIDEKIQ_MIGRATE_FROM_PASSWORD and --to-password, one per side', async () => {
    vi.stubEnv('SIDEKIQ_MIGRATE_FROM_PASSWORD', PASSWORD);

    const { code, stdout } = await cli('move', '--from', url('source'), '--to', url('target'), '--to-password', 'target#pass%');

    expect(code).toBe(0);
    expect(stdout).not.toMatch(/target#pass%|p#w%d/);
    expect(await jobs(redis.source())).toEqual([]);
    expect(await jobs(redis.target())).toEqual([`queue:old\t${job('old', 1)}`, `queue:old\t${job('old', 2)}`].sort());
  });

  it('the configuration file: fromPassword and toPassword through ${VAR}, never printed', async () => {
    vi.stubEnv('TEST_FROM_SECRET', PASSWORD);
    const file = join(mkdtempSync(join(tmpdir(), 'cli-credentials-config-')), 'sidekiq-migrate.config.yaml');
    writeFileSync(file, `from: ${url('source')}\nto: ${url('target')}\nfromPassword: \${TEST_FROM_SECRET}\ntoPassword: "target#pass%"\n`);

    const { code, stdout, stderr } = await cli('--config', file, 'move', '--json');

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ complete: true, totals: { written: 2 } });
    expect(`${stdout}${stderr}`).not.toMatch(/target#pass%|p#w%d/);
    expect(await jobs(redis.target())).toHaveLength(2);
  });
});

describe('one CA per side, added to the default CAs', { timeout: 180_000 }, () => {
  const SECOND_TLS = fileURLToPath(new URL('../fixtures/tls-second/', import.meta.url));
  const servers: RedisServerHandle[] = [];
  const clients: Redis[] = [];
  beforeAll(async () => {
    // The source signed by the test CA; the target by a second, unrelated CA.
    servers.push(await startRedisServer([], { tls: true }));
    servers.push(await startRedisServer(['--tls-cert-file', join(SECOND_TLS, 'server.crt'), '--tls-key-file', join(SECOND_TLS, 'server.key')], { tls: true }));
    clients.push(new Redis(servers[0]!.url, { protocol: 2, tls: { ca: readFileSync(TEST_CA_FILE) } }));
  });
  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('--from-tls-ca and --to-tls-ca: each end trusted through its own CA, every job moved', async () => {
    await clients[0]!.flushall();
    await clients[0]!.rpush('queue:q', job('q', 1), job('q', 2));
    await clients[0]!.sadd('queues', 'q');

    const { code, stdout } = await cli('move', '--from', servers[0]!.url, '--to', servers[1]!.url, '--from-tls-ca', TEST_CA_FILE, '--to-tls-ca', join(SECOND_TLS, 'ca.crt'), '--json');

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ complete: true, totals: { written: 2 } });
    expect(await clients[0]!.llen('queue:q')).toBe(0);
  });

  it('one --tls-ca for both: the target, signed by another CA, is refused (exit 2) before anything is claimed', async () => {
    await clients[0]!.flushall();
    await clients[0]!.rpush('queue:q', job('q', 1));

    const { code, stderr } = await cli('move', '--from', servers[0]!.url, '--to', servers[1]!.url, '--tls-ca', TEST_CA_FILE);

    expect(code).toBe(2);
    expect(stderr).toMatch(/^target rediss:\/\/127\.0\.0\.1:\d+: the server's TLS certificate was rejected/);
    expect(await clients[0]!.llen('queue:q')).toBe(1);
  });

  // Node takes any text as `ca` and trusts nothing of one without a certificate: the file mixed up
  // (the server's key, an empty file) met the server as "its certificate was rejected", which sends
  // the user to check the server instead of the file.
  const noCertificate = "holds no certificate (no -----BEGIN CERTIFICATE----- block): give the CA's certificate(s) in PEM form, as in a .crt or .pem file";
  it.each([
    ['the server key instead of the CA', () => join(SECOND_TLS, 'server.key'), (path: string) => `The CA certificate file ${path} ${noCertificate}`],
    ['an empty file', () => writeTemp('empty.pem', ''), (path: string) => `The CA certificate file ${path} ${noCertificate}`],
    [
      'a damaged certificate',
      () => writeTemp('damaged.pem', `${readFileSync(TEST_CA_FILE, 'utf8')}-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n`),
      (path: string) => `The CA certificate file ${path}: certificate 2 of the file is not readable: give the CA's certificate(s) in PEM form, as in a .crt or .pem file`,
    ],
  ])('a CA file that is no PEM certificate (%s): exit 2 naming the file, before any connection, nothing touched', async (_case, file, message) => {
    await clients[0]!.flushall();
    await clients[0]!.rpush('queue:q', job('q', 1));
    await clients[0]!.sadd('queues', 'q');
    const before = await keyValueSnapshot(clients[0]!);
    const path = file();

    const { result, commands } = await commandsDuring({ source: clients[0]!, target: clients[0]! }, () => cli('run', '--redis', servers[0]!.url, '--rename', 'q=r', '--tls-ca', path));

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`${message(path)}\n`);
    expect(commands).toEqual([]);
    expect(await keyValueSnapshot(clients[0]!)).toEqual(before);
  });

  // A byte order mark (U+FEFF, which Windows editors write) before a certificate: Node's TLS
  // (OpenSSL 3) skips one only where a PEM read starts, at the start of the file or on the line
  // right after the certificate before it; anywhere else (after a blank or comment line, as in a
  // bundle concatenated from files saved apart) it left that certificate out without a word, and
  // the check, which found "-----BEGIN CERTIFICATE-----" anywhere, took the file: the server then
  // met the user as "its certificate was rejected".
  const BOM = '\uFEFF';
  it('a CA file with a byte order mark, and a bundle of two such files concatenated: trusted, every job moved', async () => {
    const other = readFileSync(join(SECOND_TLS, 'ca.crt'), 'utf8');
    const ca = readFileSync(TEST_CA_FILE, 'utf8');
    for (const [name, text] of [['bom.pem', `${BOM}${ca}`], ['bom-bundle.pem', `${BOM}${other}${BOM}${ca}`]] as const) {
      await clients[0]!.flushall();
      await clients[0]!.rpush('queue:q', job('q', 1), job('q', 2));
      await clients[0]!.sadd('queues', 'q');

      const { code, stdout, stderr } = await cli('run', '--redis', servers[0]!.url, '--rename', 'q=r', '--tls-ca', writeTemp(name, text), '--json');

      expect(code, stderr).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ complete: true });
      expect(await jobs(clients[0]!)).toEqual([`queue:r\t${job('r', 1)}`, `queue:r\t${job('r', 2)}`]);
    }
  });

  it("a bundle whose certificate has a byte order mark after a blank line (Node's TLS leaves it out): exit 2 naming it, before any connection, nothing touched", async () => {
    await clients[0]!.flushall();
    await clients[0]!.rpush('queue:q', job('q', 1));
    await clients[0]!.sadd('queues', 'q');
    const before = await keyValueSnapshot(clients[0]!);
    const path = writeTemp('bom-after-blank.pem', `${readFileSync(join(SECOND_TLS, 'ca.crt'), 'utf8')}\n${BOM}${readFileSync(TEST_CA_FILE, 'utf8')}`);

    const { result, commands } = await commandsDuring({ source: clients[0]!, target: clients[0]! }, () => cli('run', '--redis', servers[0]!.url, '--rename', 'q=r', '--tls-ca', path));

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `The CA certificate file ${path}: certificate 2 of the file has text before -----BEGIN on its line (a byte order mark, U+FEFF, counts too, but at the start of the file or of the line after the certificate before it): Node's TLS leaves such a certificate out without a word; remove that text\n`,
    );
    expect(commands).toEqual([]);
    expect(await keyValueSnapshot(clients[0]!)).toEqual(before);
  });

  it('move: a --to-tls-ca that is no certificate is refused the same way, the source untouched', async () => {
    const path = join(SECOND_TLS, 'server.key');
    await clients[0]!.flushall();
    await clients[0]!.rpush('queue:q', job('q', 1));

    const { code, stderr } = await cli('move', '--from', servers[0]!.url, '--to', servers[1]!.url, '--from-tls-ca', TEST_CA_FILE, '--to-tls-ca', path);

    expect(code).toBe(2);
    expect(stderr).toBe(`The CA certificate file ${path} ${noCertificate}\n`);
    expect(await clients[0]!.llen('queue:q')).toBe(1);
  });

  it("a CA file adds to Node's default roots (a public-CA ElastiCache stays trusted)", () => {
    const options = connectOptions({ caFiles: [TEST_CA_FILE, undefined] }, 'migrate-target');
    const ca = options.tls!.ca as string[];

    expect(ca.slice(0, rootCertificates.length)).toEqual([...rootCertificates]);
    expect(ca).toHaveLength(rootCertificates.length + 1);
    expect(ca.at(-1)).toContain('BEGIN CERTIFICATE');
  });
});

// A CA given for a connection that does not speak TLS was ignored: the run went ahead in the clear
// (its password too) while the user believed it encrypted. Refused before anything connects.
describe('a CA option for a redis:// (plain) URL', { timeout: 180_000 }, () => {
  const noTls = (option: string, url: string) => `${option} ${TEST_CA_FILE}: ${url} does not use TLS (redis://), so no CA is used: give its rediss:// URL, or leave ${option} out\n`;
  const neitherTls = (option: string, from: string, to: string) => `${option} ${TEST_CA_FILE}: neither ${from} nor ${to} uses TLS (redis://), so no CA is used: give their rediss:// URLs, or leave ${option} out\n`;

  it.each([
    ['run --tls-ca', (u: { source: string; target: string }) => ['run', '--redis', u.source, '--rename', 'q=r', '--tls-ca', TEST_CA_FILE], (u: { source: string }) => noTls('--tls-ca', u.source)],
    ['rollback --tls-ca', (u: { source: string; target: string }) => ['rollback', 'reroute-x', '--redis', u.source, '--tls-ca', TEST_CA_FILE], (u: { source: string }) => noTls('--tls-ca', u.source)],
    ['move --tls-ca, both ends plain', (u: { source: string; target: string }) => ['move', '--from', u.source, '--to', u.target, '--tls-ca', TEST_CA_FILE], (u: { source: string; target: string }) => neitherTls('--tls-ca', u.source, u.target)],
    ['move --to-tls-ca, the new one plain', (u: { source: string; target: string }) => ['move', '--from', u.source, '--to', u.target, '--to-tls-ca', TEST_CA_FILE], (u: { source: string; target: string }) => noTls('--to-tls-ca', u.target)],
    ['move --from-tls-ca, the old one plain', (u: { source: string; target: string }) => ['move', '--from', u.source, '--to', u.target, '--from-tls-ca', TEST_CA_FILE], (u: { source: string }) => noTls('--from-tls-ca', u.source)],
    ['drain-check --tls-ca', (u: { source: string; target: string }) => ['drain-check', '--redis', u.source, '--tls-ca', TEST_CA_FILE], (u: { source: string }) => noTls('--tls-ca', u.source)],
    ['drain-check --to-tls-ca', (u: { source: string; target: string }) => ['drain-check', '--redis', u.source, '--to', u.target, '--run-id', 'transfer-x', '--to-tls-ca', TEST_CA_FILE], (u: { source: string; target: string }) => noTls('--to-tls-ca', u.target)],
  ])('%s: exit 2 naming the option and the URL, nothing sent to either server', async (_case, args, message) => {
    const urls = redis.urls();
    await redis.source().rpush('queue:q', job('q', 1));
    await redis.source().sadd('queues', 'q');
    const before = [await keyValueSnapshot(redis.source()), await keyValueSnapshot(redis.target())];

    const { result, commands } = await commandsDuring({ source: redis.source(), target: redis.target() }, () => cli(...args(urls)));

    expect(result.stderr).toBe(message(urls));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(commands).toEqual([]);
    expect([await keyValueSnapshot(redis.source()), await keyValueSnapshot(redis.target())]).toEqual(before);
  });
});
