import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { startRedisServer, TEST_CA_FILE, type RedisServerHandle } from '../support/redis-server.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { tempFileWriter } from '../support/temp-files.js';

// Omnibus GitLab reaches its bundled Redis through a Unix socket (url: unix:/var/opt/gitlab/redis/redis.socket).
// Such an entry, and --from unix:///path, were refused with advice to forward a TCP port (socat).
// Now the local CLI connects through the socket (the run lock and the same-server check work there
// as over TCP); a Lambda, which cannot reach a socket, refuses it (connection-env.ts).
const file = tempFileWriter('cli-redis-yml-socket-');
const socketDir = mkdtempSync(join(tmpdir(), 'sm-sock-'));
const socket = join(socketDir, 'redis.socket');
let sourceServer: RedisServerHandle;
let targetServer: RedisServerHandle;
let source: Redis;
let target: Redis;

beforeAll(async () => {
  [sourceServer, targetServer] = await Promise.all([startRedisServer(['--unixsocket', socket, '--unixsocketperm', '700']), startRedisServer()]);
  source = new Redis(sourceServer.url);
  target = new Redis(targetServer.url);
}, 30_000);
afterAll(async () => {
  source?.disconnect();
  target?.disconnect();
  await Promise.all([sourceServer?.stop(), targetServer?.stop()]);
  rmSync(socketDir, { recursive: true, force: true });
});

async function seed(): Promise<{ moving: string; staying: string }> {
  await source.flushall();
  await target.flushall();
  const moving = sidekiqPayload({ className: 'A', args: '[1]' });
  const staying = sidekiqPayload({ className: 'B', args: '[2]' });
  await source.rpush('queue:default', moving, staying);
  await source.sadd('queues', 'default');
  return { moving, staying };
}

describe('Unix sockets', { timeout: 120_000 }, () => {
  it.each([
    ["redis.yml's main as Omnibus writes it (url: unix:/path)", () => ['--redis-yml', file('redis.yml', `production:\n  main:\n    url: unix:${socket}\n  queues_shard_catchall_b:\n    url: "${targetServer.url}"\n`), '--from', 'main', '--to', 'queues_shard_catchall_b']],
    ['--from unix:///path', () => ['--from', `unix://${socket}`, '--to', targetServer.url]],
    // GitLab's own form (gitlab.rb, resque.yml), as copied onto the command line: it passed the URL's
    // check and was then refused as 'not a Redis URL (redis://… or rediss://…)' (a store name).
    ['--from unix:/path (GitLab\'s form)', () => ['--from', `unix:${socket}`, '--to', targetServer.url]],
    ['--from unix:/path beside --redis-yml', () => ['--redis-yml', file('redis-other.yml', `production:\n  main:\n    url: "${targetServer.url}"\n`), '--from', `unix:${socket}?db=0`, '--to', 'main']],
  ])('%s: the move goes through the socket', async (_name, endpoints) => {
    const { moving, staying } = await seed();

    const moved = await runCli('move', ...endpoints(), '--classes', 'A');

    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toContain('Complete');
    await expectExactJobs(source, '', [jobEntry('queue:default', staying)], 'the source keeps the class not selected');
    await expectExactJobs(target, '', [jobEntry('queue:default', moving)], 'the target has the moved class');
    // The run lock was taken and given back through the socket.
    expect(await source.keys('*lock*')).toEqual([]);
  });

  it('a socket path with a bare "%": one message naming the option, the value and why (not "URI malformed")', async () => {
    const { moving, staying } = await seed();

    const refused = await runCli('move', '--from', `unix://${socketDir}/a%zz.socket`, '--to', targetServer.url, '--classes', 'A');

    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`--from: unix://${socketDir}/a%zz.socket: the socket's path has a "%" not followed by two hex digits: write a "%" in a path as %25\n`);
    await expectExactJobs(source, '', [jobEntry('queue:default', moving), jobEntry('queue:default', staying)], 'nothing moved');
  });

  it('--from the socket, --to the same server over TCP: refused as the same Redis, nothing moved', async () => {
    const { moving, staying } = await seed();

    const refused = await runCli('move', '--from', `unix://${socket}`, '--to', sourceServer.url, '--classes', 'A');

    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`^source unix://${socket} and target ${sourceServer.url} are the same Redis \\(server run_id [0-9a-f]{40}, database 0, no prefix\\): a transfer needs two different places\\. To re-route inside one Redis, use run\\. Nothing was touched\\.\\n$`));
    await expectExactJobs(source, '', [jobEntry('queue:default', moving), jobEntry('queue:default', staying)], 'nothing moved');
  });

  // A CA option for a socket (which never speaks TLS) was ignored, as one for a redis:// URL was
  // before it was refused: the user believed the connection encrypted.
  it.each([
    ['drain-check --tls-ca', () => ['drain-check', '--redis', `unix://${socket}`, '--tls-ca', TEST_CA_FILE], '--tls-ca', () => `unix://${socket}`],
    ['move --from-tls-ca (unix:/path)', () => ['move', '--from', `unix:${socket}`, '--to', targetServer.url, '--classes', 'A', '--from-tls-ca', TEST_CA_FILE], '--from-tls-ca', () => `unix:${socket}`],
  ])('%s for a Unix socket: refused, exit 2, nothing moved', async (_name, args, option, url) => {
    const { moving, staying } = await seed();

    const refused = await runCli(...args());

    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(`${option} ${TEST_CA_FILE}: ${url()} is a Unix socket, which does not use TLS, so no CA is used: leave ${option} out\n`);
    await expectExactJobs(source, '', [jobEntry('queue:default', moving), jobEntry('queue:default', staying)], 'nothing moved');
    expect(await target.dbsize()).toBe(0);
  });
});
