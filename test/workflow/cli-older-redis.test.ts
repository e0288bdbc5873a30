// What an operator on an older Redis meets (self-managed GitLab still runs 5.0 and 6.0;
// ElastiCache offers 5.0.6 and 6.0). A run needs SMISMEMBER, ZMSCORE and HRANDFIELD (Redis 6.2);
// a drain check needs nothing newer than 5.0. Emulated on this machine's Redis 7 with every
// command newer than 5.0 renamed away, and Redis 5's answer to AUTH with a user name (it has no
// ACL users) given by a proxy.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { rewritingProxy } from '../support/rewriting-proxy.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';

// Commands of Redis 6.0, 6.2 and 7.0 (this machine's redis-server has them all); not PEXPIRETIME,
// which the test's own snapshot reads (the tool sends neither it nor EXPIRETIME).
const NEWER_THAN_5 = ['ACL', 'HELLO', 'LPOS', 'RESET', 'GETEX', 'GETDEL', 'LMOVE', 'BLMOVE', 'ZRANGESTORE', 'ZUNION', 'ZINTER', 'ZDIFF', 'ZDIFFSTORE', 'ZRANDMEMBER', 'ZMSCORE', 'SMISMEMBER', 'HRANDFIELD', 'COPY', 'GEOSEARCH', 'GEOSEARCHSTORE', 'FAILOVER', 'XAUTOCLAIM', 'FUNCTION', 'FCALL', 'FCALL_RO', 'LMPOP', 'BLMPOP', 'ZMPOP', 'BZMPOP', 'SINTERCARD', 'EVAL_RO', 'EVALSHA_RO', 'SORT_RO'];

let old: RedisServerHandle;
let plain: RedisServerHandle;
let oldAdmin: Redis;
let plainAdmin: Redis;
let version: string;
beforeAll(async () => {
  old = await startRedisServer([...NEWER_THAN_5.flatMap((c) => ['--rename-command', c, '']), '--requirepass', 'pw-5x']);
  plain = await startRedisServer();
  oldAdmin = new Redis(old.url, { protocol: 2, password: 'pw-5x' });
  plainAdmin = new Redis(plain.url, { protocol: 2 });
  version = /^redis_version:(.*)$/m.exec(await oldAdmin.info('server'))![1]!.trim();
});
afterAll(async () => {
  oldAdmin.disconnect();
  plainAdmin.disconnect();
  await old.stop();
  await plain.stop();
});

const seed = async (redis: Redis) => {
  await redis.flushall();
  await redis.sadd('queues', 'old');
  await redis.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
  await redis.zadd('schedule', '1795459303.5', sidekiqPayload({ className: 'A', queue: 'old', args: '[2]' }));
};
const snapshots = async () => ({ old: await keyValueSnapshot(oldAdmin), plain: await keyValueSnapshot(plainAdmin) });

describe('a Redis older than 6.2', { timeout: 60_000 }, () => {
  it('run, its dry run and move (either end) are refused before anything is touched, naming the commands and the version needed', async () => {
    await seed(oldAdmin);
    await seed(plainAdmin);
    const before = await snapshots();
    const oldUrl = old.url.replace('redis://', 'redis://:pw-5x@');
    const shown = old.url.replace('redis://', 'redis://:***@');
    // A source also needs LPOS (Redis 6.0.6): a transfer pass looks for its mark, front or append
    // (claimQueueJobs-14.lua), and so does a class-selective append pass (claimSelectedQueueJobs-11.lua).
    const refusal = (role: string, what: string) =>
      `${role} ${shown}: the server does not have SMISMEMBER, HRANDFIELD, ZMSCORE${role === 'source' ? ', LPOS' : ''} (renamed or disabled, or newer than this Redis ${version}), which ${what} needs; we need Redis 6.2 or later with these commands enabled. Nothing was touched.\n`;

    const cases: [string[], string][] = [
      [['run', '--redis', oldUrl, '--rename', 'old=new'], refusal('source', 'a migration')],
      [['run', '--redis', oldUrl, '--rename', 'old=new', '--dry-run'], refusal('source', 'a migration')],
      [['move', '--from', oldUrl, '--to', plain.url], refusal('source', 'a migration')],
      [['move', '--from', oldUrl, '--to', plain.url, '--classes', 'A', '--append'], refusal('source', 'a migration')],
      [['move', '--from', plain.url, '--to', oldUrl], refusal('target', 'a transfer target')],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(...args);
      expect({ args, code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ args, code: 2, stdout: '', stderr: message });
      expect(await snapshots()).toEqual(before);
    }
  });

  it("a run started without the CLI (a deployment's execution) fails its plan as InvalidInputError, naming them, before anything is touched: no job moved, no lock", async () => {
    await seed(oldAdmin);
    await seed(plainAdmin);
    const before = await snapshots();
    const oldUrl = old.url.replace('redis://', 'redis://:pw-5x@');
    const shown = old.url.replace('redis://', 'redis://:***@');
    const message = (role: string) =>
      `${role} ${shown}: the server does not have SMISMEMBER, ZMSCORE, HRANDFIELD, which a run needs (Redis 6.2 or later; this is Redis ${version}, or they are renamed or disabled). Nothing was touched.`;
    const inputs = [
      [{ runId: 'old-1', mode: 'reroute', source: 'source', routing: { kind: 'renames', renames: { old: 'new' } } }, { source: { url: oldUrl } }, 'source'],
      [{ runId: 'old-2', mode: 'transfer', source: 'source', target: 'target' }, { source: { url: oldUrl }, target: { url: plain.url } }, 'source'],
      [{ runId: 'old-3', mode: 'transfer', source: 'source', target: 'target' }, { source: { url: plain.url }, target: { url: oldUrl } }, 'target'],
    ] as const;
    for (const [input, urls, role] of inputs) {
      const connections = new UrlConnections(urls);
      const executions = await runWorkflowLocally(input, localTaskHandlers(connections), { retryIntervalMs: 0 }).finally(() => connections.close());
      expect({ input, errors: executions.map((e) => e.error) }).toEqual({ input, errors: [{ name: 'InvalidInputError', message: message(role) }] });
      expect(await snapshots()).toEqual(before);
    }
  });

  it('drain-check works there: it finds the jobs left on a retired queue (exit 3), touching nothing', async () => {
    await seed(oldAdmin);
    const before = await snapshots();

    const result = await runCli('drain-check', '--redis', old.url.replace('redis://', 'redis://:pw-5x@'), '--retired-queues', 'old', '--json');

    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 3, stderr: '' });
    expect(JSON.parse(result.stdout)).toMatchObject({ queues: [{ queue: 'old', depth: 1 }] });
    expect(await snapshots()).toEqual(before);
  });
});

describe('Redis 5, which takes a password but has no users', { timeout: 60_000 }, () => {
  it('a URL with a user name (redis://default:PASSWORD@…) is refused as such, saying to give the password alone: exit 2, nothing touched', async () => {
    await seed(oldAdmin);
    const before = await snapshots();
    // Redis 5 answers AUTH with two arguments so; the proxy answers it in the server's stead.
    const proxy = await rewritingProxy({ host: '127.0.0.1', port: old.port }, (chunk) => chunk, (request) =>
      /^\*3\r\n\$4\r\nauth\r\n/i.test(request) ? "-ERR wrong number of arguments for 'auth' command\r\n" : undefined,
    );
    try {
      const url = proxy.url.replace('redis://', 'redis://default:pw-5x@');
      const shown = proxy.url.replace('redis://', 'redis://default:***@');
      const refusal = (role: string) =>
        `${role} ${shown}: the server takes no user name with the password (ERR wrong number of arguments for 'auth' command: users came with Redis 6's ACL); give the password alone, as in redis://:PASSWORD@host. Nothing was touched.\n`;
      for (const [args, role] of [
        [['drain-check', '--redis', url], 'Redis'],
        [['run', '--redis', url, '--rename', 'old=new'], 'source'],
      ] as const) {
        const result = await runCli(...args);
        expect({ args, code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ args, code: 2, stdout: '', stderr: refusal(role) });
        expect(await snapshots()).toEqual(before);
      }
      // The password alone is taken.
      const alone = await runCli('drain-check', '--redis', proxy.url.replace('redis://', 'redis://:pw-5x@'), '--json');
      expect(alone.code).toBe(3);
    } finally {
      await proxy.close();
    }
  });
});
