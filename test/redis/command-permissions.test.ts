import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors/input-error.js';
import { assertCommandsAllowed, commandsFor, missingCommands } from '../../core/redis/command-permissions.js';
import { connectRedis } from '../../core/redis/connect-redis.js';
import { RedisCommandError, RedisUnavailableError } from '../../core/redis/redis-errors.js';
import { parseRedisUrl } from '../../core/redis/redis-url.js';
import { repoPath } from '../support/paths.js';
import { startRedisServer, type RedisServerHandle, startRedisServers } from '../support/redis-server.js';
import { startReplica } from '../support/replica.js';

// Private servers: ACL users and a renamed command must not reach other tests.
let server: RedisServerHandle;
let renamed: RedisServerHandle; // LREM renamed away, as some managed services do
const clients: Redis[] = [];
beforeAll(async () => {
  [server, renamed] = (await startRedisServers([], ['--rename-command', 'LREM', ''])) as [RedisServerHandle, RedisServerHandle];
  const admin = client(server);
  const users: Record<string, string[]> = {
    scoped: ['~p:*', '&*', '+@all'], // everything, on keys under p: only
    nolrem: ['~*', '&*', '+@all', '-lrem'], // may run ACL DRYRUN
    noacl: ['~*', '&*', '+@all', '-acl', '-lrem', '-get'], // checked by sending and queueing
    nomulti: ['~*', '&*', '+@all', '-acl', '-multi', '-evalsha', '-script'],
    nomultiscript: ['~*', '&*', '+@all', '-acl', '-multi', '-evalsha'],
    nolset: ['~*', '&*', '+@all', '-lset'], // a transfer's claim marks jobs in place with LSET
    scopednolrem: ['~p:*', '&*', '+@all', '-lrem', '-acl'], // a command and the keys, without ACL DRYRUN
    // Every command and key under p: but p:queues read-only, and neither ACL DRYRUN nor MULTI.
    roqueues: ['%R~*', '~p:queue:*', '~p:schedule', '~p:retry', '~p:dead', '~p:interrupted', '~p:sidekiq-migrate:*', '~p:cron_job*', '&*', '+@all', '-acl', '-multi'],
  };
  for (const [name, rules] of Object.entries(users)) await admin.call('ACL', 'SETUSER', name, 'reset', 'on', '>pw', ...rules);
  await client(renamed).call('ACL', 'SETUSER', 'noacl', 'reset', 'on', '>pw', '~*', '&*', '+@all', '-acl');
  await client(renamed).call('ACL', 'SETUSER', 'noget', 'reset', 'on', '>pw', '~*', '&*', '+@all', '-get');
});
afterAll(async () => {
  clients.forEach((c) => c.disconnect());
  await Promise.all([server?.stop(), renamed?.stop()]);
});

function client(on: RedisServerHandle, username?: string): Redis {
  const c = new Redis(on.url, { protocol: 2, ...(username ? { username, password: 'pw' } : {}) });
  clients.push(c);
  return c;
}

const MULTI_NOTE = 'MULTI (needed to check the other writes without running them)';
const KEYED = ['TYPE', 'EXISTS', 'LLEN', 'LRANGE', 'LINDEX', 'ZCARD', 'ZCOUNT', 'ZRANGE', 'ZSCAN', 'SMEMBERS', 'HMGET', 'PTTL', 'HGETALL', 'GET'];

describe('the commands a run needs', () => {
  it('are the reads for a drain check, plus the writes for a target, plus the removals for a source', () => {
    const read = commandsFor('read', 'p:');
    const target = commandsFor('migrate-target', 'p:');
    const source = commandsFor('migrate-source', 'p:');
    expect(read.reads.map((c) => c[0])).toEqual(['INFO', 'SCAN', ...KEYED]);
    expect(read.writes).toEqual([]);
    expect(target.reads).toEqual(read.reads);
    expect(target.writes.map((c) => c[0])).toEqual(['EVALSHA', 'SCRIPT', 'MULTI', 'SET', 'DEL', 'UNLINK', 'EXPIRE', 'PERSIST', 'TIME', 'SADD', 'SISMEMBER', 'SMISMEMBER', 'HGET', 'HSET', 'HLEN', 'HRANDFIELD', 'HEXISTS', 'SCARD', 'SRANDMEMBER', 'SREM', 'RPUSH', 'LPUSH', 'ZADD', 'ZSCORE', 'ZMSCORE']);
    expect(source.reads).toEqual(read.reads);
    expect(source.writes).toEqual([...target.writes, ['LREM', 'p:queue:sidekiq-migrate-permission-check', '1', 'x'], ['LPOP', 'p:queue:sidekiq-migrate-permission-check'], ['RPOP', 'p:queue:sidekiq-migrate-permission-check'], ['LTRIM', 'p:queue:sidekiq-migrate-permission-check', '0', '-1'], ['LSET', 'p:queue:sidekiq-migrate-permission-check', '0', 'x'], ['LPOS', 'p:queue:sidekiq-migrate-permission-check', 'x'], ['ZREM', 'p:retry', 'x'], ['MGET', 'p:sidekiq-migrate:permission-check'], ['HDEL', 'p:sidekiq-migrate:permission-check', 'x']]);
  });

  it("include every command the Lua steps call (a user without one had a run move its jobs, then fail on it at the end)", () => {
    const dir = repoPath('core/redis/lua');
    const lua = [...readdirSync(dir), ...readdirSync(join(dir, 'lib')).map((f) => join('lib', f))].filter((f) => f.endsWith('.lua')).map((f) => readFileSync(join(dir, f), 'utf8'));
    // redis.call('X'…), variadic('X'…), and the pushes and pops chosen by an argument (LPUSH/RPUSH, LPOP/RPOP: probed).
    const called = new Set(lua.flatMap((text) => [...text.matchAll(/(?:redis\.p?call|variadic)\('([A-Z]+)'/g)].map((m) => m[1]!)));
    const probed = new Set([...commandsFor('migrate-source', 'p:').writes, ...commandsFor('migrate-target', 'p:').writes, ...commandsFor('read', 'p:').reads].map((c) => c[0]));
    expect(called.size).toBeGreaterThan(20);
    expect([...called].filter((c) => !probed.has(c)).sort()).toEqual([]);
  });

  it('are sent in shapes Redis accepts, on keys under the prefix (a user limited to it lacks nothing there, and every keyed command elsewhere)', async () => {
    const scoped = client(server, 'scoped');
    expect(await missingCommands(scoped, 'scoped', commandsFor('migrate-source', 'p:'))).toEqual([]);
    expect(await missingCommands(scoped, 'scoped', commandsFor('read', 'q:'))).toEqual(KEYED);
    expect(await missingCommands(scoped, 'scoped', commandsFor('migrate-source', 'q:'))).toEqual([
      ...KEYED,
      ...['EVALSHA', 'SET', 'DEL', 'UNLINK', 'EXPIRE', 'PERSIST', 'SADD', 'SISMEMBER', 'SMISMEMBER', 'HGET', 'HSET', 'HLEN', 'HRANDFIELD', 'HEXISTS', 'SCARD', 'SRANDMEMBER', 'SREM', 'RPUSH', 'LPUSH', 'ZADD', 'ZSCORE', 'ZMSCORE', 'LREM', 'LPOP', 'RPOP', 'LTRIM', 'LSET', 'LPOS', 'ZREM', 'MGET', 'HDEL'],
    ]);
  });
});

describe('finding the commands a user may not run, without running any', () => {
  it('asks ACL DRYRUN when the user may', async () => {
    const nolrem = client(server, 'nolrem');
    expect(await missingCommands(nolrem, 'nolrem', commandsFor('migrate-source', 'p:'))).toEqual(['LREM']);
    expect(await missingCommands(nolrem, 'nolrem', commandsFor('migrate-target', 'p:'))).toEqual([]);
  });

  it('sends every ACL DRYRUN probe at once: one round trip of the start-up, not one per command (issue #18)', async () => {
    const nolrem = client(server, 'nolrem');
    let outstanding = 0;
    let most = 0;
    let probes = 0;
    const call = nolrem.call.bind(nolrem) as (...args: unknown[]) => Promise<unknown>;
    (nolrem as unknown as { call: (...args: unknown[]) => Promise<unknown> }).call = async (...args: unknown[]) => {
      const probe = args[0] === 'ACL' && args[1] === 'DRYRUN' && args[3] !== 'PING';
      if (probe) {
        probes++;
        most = Math.max(most, ++outstanding);
      }
      try {
        return await call(...args);
      } finally {
        if (probe) outstanding--;
      }
    };
    expect(await missingCommands(nolrem, 'nolrem', commandsFor('migrate-source', 'p:'))).toEqual(['LREM']);
    expect(probes).toBeGreaterThan(10);
    expect(most).toBe(probes);
  });

  it('sends the reads and queues the writes in a discarded MULTI when it may not: nothing is written', async () => {
    const noacl = client(server, 'noacl');
    const admin = client(server);

    expect(await missingCommands(noacl, 'noacl', commandsFor('migrate-source', 'p:'))).toEqual(['GET', 'LREM']);
    expect(await missingCommands(noacl, 'noacl', commandsFor('migrate-target', 'p:'))).toEqual(['GET']);
    expect(await missingCommands(noacl, 'noacl', commandsFor('read', 'p:'))).toEqual(['GET']);

    // The transaction was discarded: nothing of the queued writes exists, and the connection is usable.
    expect(await admin.keys('*')).toEqual([]);
    expect(await noacl.set('p:after', 'x')).toBe('OK');
  });

  it('tells a user that may not send MULTI so, with EVALSHA and SCRIPT LOAD probed directly', async () => {
    expect(await missingCommands(client(server, 'nomulti'), 'nomulti', commandsFor('migrate-target', 'p:'))).toEqual(['EVALSHA', 'SCRIPT LOAD', MULTI_NOTE]);
    expect(await missingCommands(client(server, 'nomultiscript'), 'nomultiscript', commandsFor('migrate-source', 'p:'))).toEqual(['EVALSHA', MULTI_NOTE]);
    // A drain check writes nothing: MULTI is not needed.
    expect(await missingCommands(client(server, 'nomulti'), 'nomulti', commandsFor('read', 'p:'))).toEqual([]);
  });

  it('counts a renamed (disabled) command as missing, both ways', async () => {
    expect(await missingCommands(client(renamed), 'default', commandsFor('migrate-source', 'p:'))).toEqual(['LREM']);
    expect(await missingCommands(client(renamed, 'noacl'), 'noacl', commandsFor('migrate-source', 'p:'))).toEqual(['LREM']);
  });

  it('does not advise granting a command the server does not have', async () => {
    const refusal = assertCommandsAllowed(client(renamed), 'default', 'migrate-source', 'p:', 'source redis://x');
    await expect(refusal).rejects.toBeInstanceOf(InputError);
    await expect(refusal).rejects.toThrow(
      /^source redis:\/\/x: the server does not have LREM \(renamed or disabled, or newer than this Redis \d+\.\d+\.\d+\), which a migration needs; we need Redis 6\.2 or later with these commands enabled\. Nothing was touched\.$/,
    );
    // With a command the user may not run besides: both said, each with its remedy.
    const both = assertCommandsAllowed(client(renamed, 'noget'), 'noget', 'migrate-source', 'p:', 'source redis://x');
    await expect(both).rejects.toThrow(/the server does not have LREM .*\. Also, the user noget may not run GET \(ACL SETUSER … \+get\)\. Nothing was touched\.$/);
  });

  it('fails with the reason when the check itself fails', async () => {
    const dryRun = missingCommands(client(server), 'default', { reads: [['GET']], writes: [] });
    await expect(dryRun).rejects.toBeInstanceOf(RedisCommandError);
    await expect(dryRun).rejects.toThrow("Checking the permissions of the connection: ERR wrong number of arguments for 'get' command");
    // Sent directly (no ACL DRYRUN), an error that is not a refusal does not count as one.
    expect(await missingCommands(client(server, 'noacl'), 'noacl', { reads: [['GET'], ['GET', 'p:x']], writes: [] })).toEqual(['GET']);

    const gone = new Redis(server.url, { protocol: 2, lazyConnect: true, enableOfflineQueue: false });
    clients.push(gone);
    const attempt = missingCommands(gone, 'default', commandsFor('migrate-source', 'p:'));
    await expect(attempt).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(attempt).rejects.toThrow(/^Checking the permissions of the connection: Redis is unreachable/);
  });
});

describe('refusing a connection whose user lacks a command', () => {
  it('names what is missing, what needs it, and the ACL rule that grants it', async () => {
    const refusal = assertCommandsAllowed(client(server, 'nolrem'), 'nolrem', 'migrate-source', 'p:', 'source redis://x');
    await expect(refusal).rejects.toBeInstanceOf(InputError);
    await expect(refusal).rejects.toThrow(
      'source redis://x: the user nolrem may not run LREM, which a migration needs (on keys under "p:"). Grant them (ACL SETUSER … +lrem) or use another user. Nothing was touched.',
    );
    await expect(assertCommandsAllowed(client(server, 'nomulti'), 'nomulti', 'migrate-target', '', 'target redis://y')).rejects.toThrow(
      `target redis://y: the user nomulti may not run EVALSHA, SCRIPT LOAD, ${MULTI_NOTE}, which a transfer target needs. Grant them (ACL SETUSER … +evalsha +script|load +multi) or use another user. Nothing was touched.`,
    );
    // Every command allowed, but not on keys under q: (its ACL key pattern is ~p:*): the keys are what to grant.
    await expect(assertCommandsAllowed(client(server, 'scoped'), 'scoped', 'read', 'q:', '--redis z')).rejects.toThrow(
      `--redis z: the user scoped may not use the keys a drain check needs under "q:" (${KEYED.join(', ')} refused on them). Grant them (ACL SETUSER … ~q:*) or use another user. Nothing was touched.`,
    );
  });

  it('finds LSET, which a source\'s claim sends from inside a script, missing before anything is touched', async () => {
    expect(await missingCommands(client(server, 'nolset'), 'nolset', commandsFor('migrate-source', 'p:'))).toEqual(['LSET']);
    expect(await missingCommands(client(server, 'nolset'), 'nolset', commandsFor('migrate-target', 'p:'))).toEqual([]);
  });

  it('names a missing command and keys out of the user\'s pattern apart, each with its own grant', async () => {
    await expect(assertCommandsAllowed(client(server, 'scopednolrem'), 'scopednolrem', 'migrate-source', 'q:', 'source redis://x')).rejects.toThrow(
      /^source redis:\/\/x: the user scopednolrem may not run LREM, which a migration needs \(on keys under "q:"\)\. Grant them \(ACL SETUSER … \+lrem\) or use another user\. Also, the user scopednolrem may not use the keys a migration needs under "q:" \(TYPE, .*, LPOP, RPOP, LTRIM, LSET, LPOS, ZREM, MGET, HDEL refused on them\)\. Grant them \(ACL SETUSER … ~q:\*\) or use another user\. Nothing was touched\.$/,
    );
  });

  it('lets a user with every command through', async () => {
    await expect(assertCommandsAllowed(client(server, 'nolrem'), 'nolrem', 'migrate-target', 'p:', 'x')).resolves.toBeUndefined();
    await expect(assertCommandsAllowed(client(server), undefined, 'migrate-source', 'p:', 'x')).resolves.toBeUndefined();
  });

  it('is done by connectRedis before the connection is handed out, on the prefix given', async () => {
    const url = parseRedisUrl(server.url.replace('://', '://nolrem:pw@'));
    await expect(connectRedis(url, { role: 'source', use: 'migrate-source', prefix: 'p:' })).rejects.toThrow(
      new RegExp(`^source redis://nolrem:\\*\\*\\*@127\\.0\\.0\\.1:${server.port}: the user nolrem may not run LREM, which a migration needs \\(on keys under "p:"\\)`),
    );
    const scoped = parseRedisUrl(server.url.replace('://', '://scoped:pw@'));
    await expect(connectRedis(scoped, { use: 'read' })).rejects.toThrow(/^Redis redis:\/\/scoped:\*\*\*@.*: the user scoped may not use the keys a drain check needs with no prefix \(no namespace\) \(TYPE, /);
    const ok = await connectRedis(scoped, { use: 'migrate-source', prefix: 'p:' });
    expect(await ok.ping()).toBe('PONG');
    ok.disconnect();
  });
});

describe('WAIT, which a transfer sends to a server with replicas (replica-wait.ts)', () => {
  it('is required of a user on a server with a replica, and not on one without', async () => {
    const primary = await startRedisServer();
    const replica = await startReplica(primary);
    try {
      for (const on of [primary, server]) await client(on).call('ACL', 'SETUSER', 'nowait', 'reset', 'on', '>pw', '~*', '&*', '+@all', '-wait');
      const withReplica = parseRedisUrl(primary.url.replace('://', '://nowait:pw@'));
      await expect(connectRedis(withReplica, { role: 'target', use: 'migrate-target' })).rejects.toThrow(
        new RegExp(`^target redis://nowait:\\*\\*\\*@127\\.0\\.0\\.1:${primary.port}: the user nowait may not run WAIT, which a transfer target needs\\. Grant them \\(ACL SETUSER … \\+wait\\)`),
      );
      const withoutReplica = parseRedisUrl(server.url.replace('://', '://nowait:pw@'));
      const connected = await connectRedis(withoutReplica, { role: 'target', use: 'migrate-target' });
      connected.disconnect();
    } finally {
      await replica.stop();
      await primary.stop();
    }
  });
});

describe('the keys of the Lua steps', () => {
  // Redis checks a script's declared keys against the user's ACL key patterns when it is called
  // (read and write, on Redis 7), before any of it runs: a pattern that leaves a key out refuses
  // the step whole. A key not declared is checked only by the command that touches it, inside
  // the script, after what ran before it (a re-route's LREM kept, its push refused). So every key
  // a step touches is one of its KEYS: never a literal, ARGV, or a name built in the script.
  it('are all declared (KEYS), so that a key pattern refuses a step whole, never half-way', () => {
    const dir = repoPath('core/redis/lua');
    const files = [...readdirSync(dir), ...readdirSync(join(dir, 'lib')).map((f) => join('lib', f))].filter((f) => f.endsWith('.lua'));
    // Parameters that callers pass KEYS to (lib/claim-lock.lua lockTaken, lib/variadic.lua, a loop over KEYS-built names).
    const params = new Set(['lockKey', 'key']);
    const undeclared: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(dir, file), 'utf8').replace(/--\[\[[\s\S]*?\]\]/g, '');
      const fromKeys = new Set([...text.matchAll(/local\s+([\w\s,]+?)\s*=\s*([^\n]*KEYS\[[^\n]*)/g)].flatMap((m) => m[1]!.split(',').map((n) => n.trim())));
      for (const m of text.matchAll(/(?:redis\.p?call|variadic)\(\s*(?:'[A-Z]+'|\w+)\s*,\s*([^,)]+)/g)) {
        const key = m[1]!.trim();
        if (/^KEYS\[[^\]]+\]$/.test(key) || fromKeys.has(key) || params.has(key)) continue;
        if (/^'(TIME|SCRIPT)'/.test(m[0].replace(/^[^(]*\(\s*/, ''))) continue;
        undeclared.push(`${file}: ${m[0]}`);
      }
    }
    expect(files.length).toBeGreaterThan(20);
    expect(undeclared).toEqual([]);
  });

  it('are what Redis checks before a step runs: a declared key refused leaves everything as it was, an undeclared one would not', async () => {
    const admin = client(server);
    const roqueues = client(server, 'roqueues');
    await admin.rpush('p:queue:old', 'a', 'b');
    const step = "redis.call('LPOP', KEYS[1] or 'p:queue:old'); redis.call('SADD', KEYS[2] or 'p:queues', 'x'); return 1";
    await expect(roqueues.eval(step, 2, 'p:queue:old', 'p:queues')).rejects.toThrow(/NOPERM/);
    expect(await admin.lrange('p:queue:old', 0, -1)).toEqual(['a', 'b']);
    await expect(roqueues.eval(step, 0)).rejects.toThrow(/can't access at least one of the keys/);
    expect(await admin.lrange('p:queue:old', 0, -1)).toEqual(['b']); // the LPOP ran: why every key is declared
    await admin.del('p:queue:old');
  });

  it('are each checked up front, readable and writable, without ACL DRYRUN or MULTI', async () => {
    const roqueues = client(server, 'roqueues');
    expect(await missingCommands(roqueues, 'roqueues', commandsFor('migrate-source', 'p:'))).toEqual([MULTI_NOTE]);
    await expect(assertCommandsAllowed(client(server, 'roqueues'), 'roqueues', 'read', 'p:', 'x')).resolves.toBeUndefined();
    await expect(assertCommandsAllowed(client(server, 'roqueues'), 'roqueues', 'migrate-target', 'p:', 'target redis://y')).rejects.toThrow(
      ' Also, the user roqueues may not write p:queues, which a transfer target writes (its step there would be refused after others had changed data). Grant them (ACL SETUSER roqueues ~p:queues) or use another user. Nothing was touched.',
    );
  });
});
