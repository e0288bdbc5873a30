import { readdirSync, readFileSync } from 'node:fs';
import { list as commandNames } from '@ioredis/commands';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CommandRefusedError } from '../../core/redis/command-refused-error.js';
import { classifyRedisError } from '../../core/redis/redis-errors.js';
import { LuaScript, type LuaCall } from '../../core/redis/lua-script.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { cases, seed } from '../support/lua-step-calls.js';
import { repoPath } from '../support/paths.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

// Redis checks a command a script calls against the caller's ACL only when the script calls it,
// and keeps what the script did before: a command taken from the run's user during a run (`ACL
// SETUSER app -lpush` after the start-up check) stopped a re-route after its LREM, before its
// LPUSH, a job lost. Every script that writes now asks Redis first (redis.acl_check_cmd,
// core/redis/lua/lib/guards.lua refusedCommand) about every command it may call, on every key.
// Here each command a script's source names (its own, and those of the lib functions it calls) is
// taken from the caller's user in turn: the call must be refused whole, naming the command, with
// every key as it was. A new script, or a new command in one, without the look fails here.
let server: RedisServerHandle;
let admin: Redis;
let app: Redis;
beforeAll(async () => {
  server = await startRedisServer(['--user', 'default', 'on', 'nopass', '~*', '&*', '+@all', '--user', 'app', 'on', '>pw', '~*', '&*', '+@all']);
  admin = new Redis(server.url, { protocol: 2 });
  app = new Redis(server.url.replace('redis://', 'redis://app:pw@'), { protocol: 2 });
});
afterAll(async () => {
  app.disconnect();
  admin.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await admin.call('ACL', 'SETUSER', 'app', 'reset', 'on', '>pw', '~*', '&*', '+@all');
  await admin.flushall();
});

const LUA = repoPath('core/redis/lua');
const COMMANDS = new Set(commandNames.map((c) => c.toUpperCase()));
const body = (source: string) => source.slice(source.indexOf(']]') + 2);
const named = (text: string) => [...text.matchAll(/'([A-Z]+)'/g)].map((m) => m[1]!).filter((c) => COMMANDS.has(c));

/** The commands each lib function calls (lib/*.lua), by the function's name. */
const libCommands = new Map<string, string[]>();
for (const file of readdirSync(`${LUA}/lib`).filter((f) => f.endsWith('.lua'))) {
  const parts = readFileSync(`${LUA}/lib/${file}`, 'utf8').split(/^local function /m).slice(1);
  for (const part of parts) libCommands.set(/^(\w+)/.exec(part)![1]!, named(part));
}

/** Every command the script may call: named in its source, or by a lib function it calls. */
function commandsOf(script: string): string[] {
  const source = body(readFileSync(`${LUA}/${script}.lua`, 'utf8'));
  const fromLibs = [...libCommands].filter(([fn]) => new RegExp(`\\b${fn}\\(`).test(source)).flatMap(([, commands]) => commands);
  return [...new Set([...named(source), ...fromLibs])].sort();
}

// openPageAttempt-7's one key of a checked type is not among `cases`' keys to break: added here
// (and retireLedger-4's call on a ledger of ids, as before).
const calls: [script: string, call: LuaCall][] = [
  ...cases.map(([script, call]): [string, LuaCall] => [script, call]),
  ['retireLedger-4', { keys: ['ledger:ids', 'ledgers'], args: ['retire', 600, 1, 'b0:9', 'set'] }],
  ['openPageAttempt-7', { keys: ['receipts', 'lock', 'stopped'], args: ['item:input', 'attempts', 60, 'run', 1000, 'arn'] }],
  // renewRunLock's other actions, each asking only for what it may call (a release must work
  // after a run failed for want of SET); resume deletes a marker (a string the seed has).
  ['renewRunLock-4', { keys: ['lock', 'stopped'], args: ['run', 'release', '', '', '', 1000, 'arn'] }],
  ['renewRunLock-4', { keys: ['lock', 'stopped'], args: ['run', 'stop', 60000, 1000, 'why', 1000, 'arn'] }],
  ['renewRunLock-4', { keys: ['lock', 'originals:end'], args: ['run', 'resume', '', '', '', 1000, 'arn'] }],
];
const scripts = [...new Set(calls.map(([script]) => script))];

describe('every Lua step that writes refuses the whole call when the user may not run one of its commands', () => {
  it('every script of core/redis/lua/ has a call here', () => {
    const scripts = readdirSync(LUA).filter((f) => f.endsWith('.lua')).map((f) => f.replace(/\.lua$/, ''));
    expect([...new Set(calls.map(([script]) => script))].sort()).toEqual(scripts.sort());
  });

  for (const script of scripts) {
    it(`${script}: each of its commands taken away → the call refused whole naming it (CommandRefusedError), or run when it does not need it`, async () => {
      const own = calls.filter(([name]) => name === script).map(([, call]) => call);
      // With every command allowed, each call writes (so that a refusal below is one that mattered).
      for (const call of own) {
        await admin.flushall();
        await seed(admin);
        const seeded = await keyValueSnapshot(admin, '');
        await new LuaScript(script).run(app, call);
        expect(await keyValueSnapshot(admin, ''), 'the call writes when allowed').not.toEqual(seeded);
      }
      const commands = commandsOf(script);
      expect(commands.length).toBeGreaterThan(1);
      for (const command of commands) {
        let refusals = 0;
        for (const call of own) {
          await admin.flushall();
          await seed(admin);
          await admin.call('ACL', 'SETUSER', 'app', `-${command.toLowerCase()}`);
          const before = await keyValueSnapshot(admin, '');

          const error = await new LuaScript(script).run(app, call).then(
            () => null,
            (e: unknown) => classifyRedisError(e, 'Doing it'),
          );
          await admin.call('ACL', 'SETUSER', 'app', `+${command.toLowerCase()}`);

          // A call that ran whole did not need the command (a key it was not given: the pass's record).
          if (error === null) continue;
          refusals++;
          expect(error, `${script} without ${command}`).toBeInstanceOf(CommandRefusedError);
          expect(error).toMatchObject({ command, keyOnly: false, retryable: false });
          expect(error.message).toMatch(new RegExp(`^Doing it: the user may not run ${command}( on .+)?, which this step needs \\(its ACL changed after the run's start-up check\\); this step was refused before it wrote anything\\. Grant it \\(ACL SETUSER … \\+${command.toLowerCase()}\\) or use another user, then run the same command again\\.$`));
          expect(await keyValueSnapshot(admin, ''), `${script} without ${command}: nothing written`).toEqual(before);
        }
        expect(refusals, `${script} refused without ${command} in one of its calls at least`).toBeGreaterThan(0);
      }
    });
  }

  it('a command allowed but not on one key (an ACL selector): refused naming the key, nothing changed', async () => {
    await seed(admin);
    const [script, call] = cases.find(([name]) => name.startsWith('copyJobsToLists'))!;
    expect(call.args[0]).toBe('RPUSH');
    // RPUSH allowed on the call's other keys, not on queue:q (a selector grants it there only).
    await admin.call('ACL', 'SETUSER', 'app', '-rpush', '(+rpush ~ledger* ~queues ~lock)');
    const before = await keyValueSnapshot(admin, '');

    const error = await new LuaScript(script).run(app, call).then(
      (reply) => new Error(`no error: ${JSON.stringify(reply)}`),
      (e: unknown) => classifyRedisError(e, 'Copying'),
    );

    expect(error).toBeInstanceOf(CommandRefusedError);
    expect(error).toMatchObject({ command: 'RPUSH', key: 'queue:q', keyOnly: true });
    expect(error.message).toBe(
      "Copying: the user may not run RPUSH on queue:q, which this step needs (its ACL changed after the run's start-up check); this step was refused before it wrote anything. Grant it (ACL SETUSER … ~queue:q) or use another user, then run the same command again.",
    );
    expect(await keyValueSnapshot(admin, '')).toEqual(before);
  });

  it('on a Redis without redis.acl_check_cmd (before 7.0) the look is skipped and the call runs as before', async () => {
    await seed(admin);
    const [script, call] = cases.find(([name]) => name.startsWith('rerouteQueueJobs'))!;
    // The script as Redis 6.2 would see it: `redis` without acl_check_cmd (a local shadowing it).
    const source = `local redis = setmetatable({}, { __index = function(_, k) if k == 'acl_check_cmd' then return nil end return redis[k] end })\n${new LuaScript(script).source}`;
    const reply = await app.eval(source, call.keys.length, ...call.keys, ...call.args.map((a) => (typeof a === 'number' ? String(a) : (a as string))));
    expect(reply).toEqual([0, 1]);
    expect(await admin.lrange('queue:new', 0, -1)).toHaveLength(1);
  });
});
