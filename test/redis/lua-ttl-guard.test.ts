import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LuaScript, type LuaCall } from '../../core/redis/lua-script.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { cases, job, seed } from '../support/lua-step-calls.js';

// Redis does not roll a script back when a command in it fails. EXPIRE, PEXPIRE and SET … EX/PX
// refuse a time to live that is not a whole number ('value is not an integer or out of range') or
// that overflows ('invalid expire time': on Redis 7.0.15, EXPIRE above ~9.22e15 s, PEXPIRE and
// SET … PX above ~9.22e18 ms), and EXPIRE of 0 or less deletes the key. Every step that sets an
// expiry from its arguments checks each such argument first (guards.lua badTtl: 1 to 10^15), so a
// call given one Redis would refuse, or one that would delete the key, changes nothing at all.
let server: RedisServerHandle;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { protocol: 2 });
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

const caseOf = (script: string): LuaCall => cases.find(([name]) => name === script)![1];

// [script, a call that writes once its keys are seeded, the 0-based indexes of its times to live in args, what it seeds]
const steps: [string, LuaCall, number[], () => Promise<void>][] = [
  // One written entry, then one conflict: the conflicts' EXPIRE comes after the written entry's ZREM.
  [
    'acknowledgeSetBatch-10',
    { keys: ['inflight:s', 'batch:s', 'schedule', 'conflicts:s', 'seal:s', 'acknowledged:s', 'inflight-keys'], args: ['b2', 60, 1, '', job(1), job(2)] },
    [1],
    async () => {
      await redis.set('batch:s', 'b2');
      await redis.zadd('inflight:s', 1, job(1), 2, job(2));
    },
  ],
  ['addRunExecution-4', caseOf('addRunExecution-4'), [3], () => seed(redis)],
  ['claimQueueJobs-14', caseOf('claimQueueJobs-14'), [7], () => seed(redis)],
  ['claimSetEntries-16', caseOf('claimSetEntries-16'), [5, 8], () => seed(redis)],
  ['endQueuePass-5', caseOf('endQueuePass-5'), [1], () => seed(redis)],
  ['openPageAttempt-7', { keys: ['receipts', 'lock', 'stopped'], args: ['item:input', 'attempts', 60, 'run', 1000, 'arn'] }, [2], () => seed(redis)],
  ['retireLedger-4', caseOf('retireLedger-4'), [1], () => seed(redis)],
  ['storeRunPlan-7', caseOf('storeRunPlan-7'), [3], () => seed(redis)],
  ['writePageReceipt-2', caseOf('writePageReceipt-2'), [4], () => seed(redis)],
];

// 0 and -1: EXPIRE deletes the key, SET … EX/PX refuses; 1.5, x, '': not an integer; 10^16: EXPIRE's
// seconds overflow; 10^20: PEXPIRE's and SET … PX's ms overflow (and not a 64-bit integer).
const refused = ['0', '-1', '1.5', '10000000000000000', '100000000000000000000', 'x', ''];

describe('every Lua step that sets an expiry refuses a time to live Redis would refuse before it writes anything', () => {
  for (const [script, call, ttlAt, seedKeys] of steps) {
    it(`${script}: the call writes with a good time to live (so the refusals below are not vacuous)`, async () => {
      await seedKeys();
      const before = await keyValueSnapshot(redis, '');
      await new LuaScript(script).run(redis, call);
      expect(await keyValueSnapshot(redis, '')).not.toEqual(before);
    });

    for (const at of ttlAt) {
      it.each(refused)(`${script} ARGV[${at + 1}] = %j → refused with its words, no key changed`, async (ttl) => {
        await seedKeys();
        const before = await keyValueSnapshot(redis, '');
        const args = call.args.map((arg, i) => (i === at ? ttl : arg));

        const error = await new LuaScript(script).run(redis, { keys: call.keys, args }).then(
          (reply) => new Error(`no error: ${JSON.stringify(reply)}`),
          (e: unknown) => e as Error,
        );

        expect(error.message).toBe(`ERR sidekiq-migrate invalid time to live ${ttl} (${script.replace(/-\w+$/, '')} ARGV[${at + 1}]: a whole number from 1 to 10^15); this call was refused before it wrote anything`);
        expect(await keyValueSnapshot(redis, '')).toEqual(before);
      });
    }

    it(`${script}: 10^15, the largest time to live allowed, is one Redis accepts`, async () => {
      await seedKeys();
      const args = call.args.map((arg, i) => (ttlAt.includes(i) ? '1000000000000000' : arg));
      await expect(new LuaScript(script).run(redis, { keys: call.keys, args })).resolves.toBeDefined();
    });
  }
});

// renewRunLock-4's stop gives its markers a time to live from ARGV[3] (0: no marker) without this
// guard: its first write is the SET … PX itself, and its second SET … PX takes the same value, so a
// time to live Redis refuses fails the call before it changed anything. Kept so (not renamed for
// the guard); this pins it down.
describe('renewRunLock-4 stop: a marker time to live SET … PX refuses fails the call at its first write, nothing changed', () => {
  const stops: [string, LuaCall][] = [
    ['with the ended execution named (its end recorded first)', { keys: ['lock', 'stopped', 'ended:arn'], args: ['run', 'stop', 1000, '', '{"runId":"run","endedBy":"arn"}', '', 'arn'] }],
    ['with no execution named (the marker first)', { keys: ['lock', 'stopped'], args: ['run', 'stop', 1000, '', '{"runId":"run"}', '', ''] }],
  ];
  for (const [what, call] of stops) {
    it.each(['1.5', '100000000000000000000', 'x', ' 5', '1e3'])(`${what}: %j`, async (ttl) => {
      await seed(redis);
      const before = await keyValueSnapshot(redis, '');
      const args = call.args.map((arg, i) => (i === 2 ? ttl : arg));
      await expect(new LuaScript('renewRunLock-4').run(redis, { keys: call.keys, args })).rejects.toThrow(/ERR/);
      expect(await keyValueSnapshot(redis, '')).toEqual(before);
      // With a good one, the same call writes.
      await new LuaScript('renewRunLock-4').run(redis, call);
      expect(await keyValueSnapshot(redis, '')).not.toEqual(before);
    });
  }
});
