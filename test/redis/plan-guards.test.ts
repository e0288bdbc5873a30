import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PlanSupersededError } from '../../core/errors/plan-superseded-error.js';
import { RunLock, runLockKey, RunLockLostError, runStopMarkerKey } from '../../core/redis/run-lock.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import type { Connection } from '../../core/workflow/connections.js';
import { finishRun } from '../../core/workflow/run-executions.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { forgetRunConflicts, PLAN_ITEMS_PER_CALL, storeRunPlan } from '../../core/workflow/store-run-plan.js';
import { aroundScriptPipelines } from '../support/around-script-pipelines.js';
import { keyValueSnapshot, withoutExpiryInstants } from '../support/exact-jobs.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

// A plan's writes after it took its run's lock go through only while the lock still carries that
// plan's plannedAt and plannedBy (lib/run-generation.lua plannerLost): each refusal below leaves
// every key exactly as it was, and says why.
let server: RedisServerHandle;
let redis: Redis;
let source: Connection;
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { protocol: 2 });
  source = { redis, keys: new SidekiqKeys('p:'), name: 'redis://source' };
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

const LOCK = runLockKey('p:');
const A = { runId: 'run-1', plannedAt: 1_796_000_000_000, plannedBy: 'arn:exec:A' };
const record = (fields: Record<string, unknown>) => JSON.stringify({ operation: 'transfer', host: 'h', pid: 1, startedAt: 'x', expiresAt: 1, ...fields });
const work = [
  { kind: 'set' as const, name: 'retry' },
  { kind: 'queue' as const, name: 'default' },
];

/** The later plan's records, as a later start of the run leaves them. */
async function laterPlansRecords(): Promise<void> {
  await redis.rpush('p:sidekiq-migrate:run-1:items', '{"kind":"queue","name":"b"}');
  await redis.hset('p:sidekiq-migrate:run-1:executions', 'root', '1', 'list:10', '1');
  await redis.set('p:sidekiq-migrate:run-1:routing', '{"kind":"renames","renames":{"b":"c"}}');
  await redis.sadd('p:sidekiq-migrate:run-1:conflicts:retry', 'digest');
}

describe("a plan's writes after its lock", () => {
  it('store its routing, selection, list and root execution in one step while the lock is its own (even past its expiry)', async () => {
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: A.plannedBy }));
    await laterPlansRecords(); // an earlier attempt's, replaced

    await storeRunPlan(source, A, { routing: '{"kind":"renames","renames":{"a":"b"}}', selection: '["X"]', work });

    const hex = (text: string) => Buffer.from(text).toString('hex');
    expect(withoutExpiryInstants(await keyValueSnapshot(redis))).toEqual({
      [LOCK]: `string persistent ${hex(record({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: A.plannedBy }))}`,
      'p:sidekiq-migrate:run-1:items': `list expiring ${hex('{"kind":"set","name":"retry"}')},${hex('{"kind":"queue","name":"default"}')}`,
      'p:sidekiq-migrate:run-1:executions': `hash expiring ${hex('root')}=${hex('1')}`,
      'p:sidekiq-migrate:run-1:routing': `string expiring ${hex('{"kind":"renames","renames":{"a":"b"}}')}`,
      'p:sidekiq-migrate:run-1:classes': `string expiring ${hex('["X"]')}`,
      'p:sidekiq-migrate:run-1:conflicts:retry': `set persistent ${hex('digest')}`,
    });
    expect(await redis.ttl('p:sidekiq-migrate:run-1:items')).toBeGreaterThan(7 * 24 * 3600 - 10);

    // No routing, no selection, no items: those keys are left alone, the list is empty.
    await storeRunPlan(source, A, { work: [] });
    expect(await redis.exists('p:sidekiq-migrate:run-1:items')).toBe(0);
    expect(await redis.get('p:sidekiq-migrate:run-1:routing')).toBe('{"kind":"renames","renames":{"a":"b"}}');
    expect(await redis.hgetall('p:sidekiq-migrate:run-1:executions')).toEqual({ root: '1' });

    await forgetRunConflicts(source, A, ['p:sidekiq-migrate:run-1:conflicts:retry', 'p:sidekiq-migrate:run-1:conflicts:dead']);
    expect(await redis.exists('p:sidekiq-migrate:run-1:conflicts:retry')).toBe(0);
  });

  const refusals: [string, string | null, RegExp, new (...args: never[]) => Error][] = [
    [
      'a later start of the run (another plannedAt)',
      record({ runId: 'run-1', plannedAt: A.plannedAt + 5, plannedBy: 'arn:exec:B' }),
      /^Run run-1: this plan \(execution arn:exec:A, planned 2026-\S+\) was superseded by a later plan of the run \(execution arn:exec:B, planned 2026-\S+\), found on source redis:\/\/source before it (stored the run's routing, list and executions|forgot the run's conflicts); it wrote nothing more and leaves the run to that plan\. Nothing is lost: the later plan carries run run-1 on\.$/,
      PlanSupersededError,
    ],
    [
      'a retried plan of another execution in the same millisecond (another plannedBy)',
      record({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: 'arn:exec:B' }),
      /was superseded by a later plan of the run \(execution arn:exec:B, /,
      PlanSupersededError,
    ],
    [
      'a retried plan task of the same execution (another plannedAt, the same plannedBy)',
      record({ runId: 'run-1', plannedAt: A.plannedAt + 1, plannedBy: A.plannedBy }),
      /was superseded by a later plan of the run \(execution arn:exec:A, /,
      PlanSupersededError,
    ],
    ['another run', record({ runId: 'run-2', plannedAt: A.plannedAt + 5 }), /^Run run-1 lost its run lock on source redis:\/\/source: it expired and run run-2 \(transfer, h pid 1, started x\) took it;/, RunLockLostError],
    ['no lock', null, /^Run run-1 lost its run lock on source redis:\/\/source: the lock is gone/, RunLockLostError],
  ];

  it.each(refusals)('are refused when the lock is %s: nothing written, the words say why', async (_, lock, words, type) => {
    if (lock !== null) await redis.set(LOCK, lock);
    await laterPlansRecords();
    const before = await keyValueSnapshot(redis);

    const store = storeRunPlan(source, A, { routing: '{"kind":"renames","renames":{"a":"b"}}', selection: '["X"]', work });
    await expect(store).rejects.toBeInstanceOf(type);
    await expect(store).rejects.toThrow(words);
    const forget = forgetRunConflicts(source, A, ['p:sidekiq-migrate:run-1:conflicts:retry']);
    await expect(forget).rejects.toBeInstanceOf(type);
    await expect(forget).rejects.toThrow(words);

    expect(await keyValueSnapshot(redis)).toEqual(before);
  });
});

describe("a plan's long list, stored in parts (appendRunPlan-3)", () => {
  const long = Array.from({ length: 2 * PLAN_ITEMS_PER_CALL + 7 }, (_, i) => ({ kind: 'queue' as const, name: `q${String(i).padStart(5, '0')}` }));
  const appendSha = new LuaScript('appendRunPlan-3').sha;

  it('is the whole list, in order, and a part sent twice (resent on a reconnection) is written once', async () => {
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: A.plannedBy }));
    let resent = 0;
    const twice = aroundScriptPipelines(redis, appendSha, async (exec) => {
      const reply = await exec();
      resent++;
      return exec().then(() => reply);
    });

    await storeRunPlan({ ...source, redis: twice }, A, { work: long });

    expect(resent).toBeGreaterThanOrEqual(2); // each part (the first may go twice more: EVALSHA, then the script itself)
    expect((await redis.lrange('p:sidekiq-migrate:run-1:items', 0, -1)).map((t) => JSON.parse(t) as unknown)).toEqual(long);
  });

  it('stops at a later start that took the lock between two parts: that start\'s list is left whole, the words say why', async () => {
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: A.plannedBy }));
    const B = { runId: 'run-1', plannedAt: A.plannedAt + 5, plannedBy: 'arn:exec:B' };
    const laterList = [{ kind: 'queue' as const, name: 'b' }];
    const takenOver = aroundScriptPipelines(redis, appendSha, async (exec) => {
      // The later start plans in full before this plan's second part arrives.
      await redis.set(LOCK, record(B));
      await storeRunPlan(source, B, { work: laterList });
      return exec();
    });

    const store = storeRunPlan({ ...source, redis: takenOver }, A, { work: long });

    await expect(store).rejects.toBeInstanceOf(PlanSupersededError);
    await expect(store).rejects.toThrow(/before it stored the rest of the run's list; it wrote nothing more/);
    expect((await redis.lrange('p:sidekiq-migrate:run-1:items', 0, -1)).map((t) => JSON.parse(t) as unknown)).toEqual(laterList);
  });

  it('is refused, nothing written, when the list was deleted between two parts', async () => {
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: A.plannedBy }));
    const deleted = aroundScriptPipelines(redis, appendSha, async (exec) => {
      await redis.del('p:sidekiq-migrate:run-1:items');
      return exec();
    });

    await expect(storeRunPlan({ ...source, redis: deleted }, A, { work: long })).rejects.toThrow(
      /^Run run-1: its list of sets and queues on source redis:\/\/source \(p:sidekiq-migrate:run-1:items\) held 0 item\(s\) where this plan had written 500: it was deleted or written by something else while the plan stored it\. The run stopped before its first page; start it again\.$/,
    );
    expect(await redis.exists('p:sidekiq-migrate:run-1:items')).toBe(0);
  });
});

describe("a failed plan's clean-up (finishRun)", () => {
  it("leaves the list, executions and lock of another execution's plan that planned in the same millisecond (its plannedBy differs)", async () => {
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: 'arn:exec:B', expiresAt: Date.now() + 60_000 }));
    await laterPlansRecords();
    const before = await keyValueSnapshot(redis);

    expect(await finishRun(redis, 'p:', 'run-1', A.plannedAt, A.plannedBy)).toEqual({ supersededBy: A.plannedAt });
    expect(await keyValueSnapshot(redis)).toEqual(before);

    // Its own: list and executions deleted, the lock released.
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: A.plannedBy, expiresAt: Date.now() + 60_000 }));
    expect(await finishRun(redis, 'p:', 'run-1', A.plannedAt, A.plannedBy)).toEqual({ released: true });
    expect(Object.keys(await keyValueSnapshot(redis))).toEqual(['p:sidekiq-migrate:run-1:conflicts:retry', 'p:sidekiq-migrate:run-1:routing']);
  });
});

describe("a plan's lock", () => {
  it("is not taken back from a later start of the run by a plan that read its clock before it (paused before its first or second lock)", async () => {
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt + 5, plannedBy: 'arn:exec:B', expiresAt: Date.now() + 60_000 }));
    const before = await keyValueSnapshot(redis);

    const taking = RunLock.acquire(redis, 'p:', { runId: 'run-1', operation: 'transfer', plannedAt: A.plannedAt, plannedBy: A.plannedBy }, 60_000, 'target redis://t', { newExecution: true });
    await expect(taking).rejects.toBeInstanceOf(PlanSupersededError);
    await expect(taking).rejects.toThrow(/^Run run-1: this plan \(execution arn:exec:A, planned \S+\) was superseded by a later plan of the run \(execution arn:exec:B, planned \S+\), found on target redis:\/\/t before it took the run's lock;/);
    expect(await keyValueSnapshot(redis)).toEqual(before);

    // An earlier start's lock of the run (it ended, or died) is taken, as before.
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt - 5, plannedBy: 'arn:exec:0', expiresAt: Date.now() + 60_000 }));
    const lock = await RunLock.acquire(redis, 'p:', { runId: 'run-1', operation: 'transfer', plannedAt: A.plannedAt, plannedBy: A.plannedBy }, 60_000, 'source', { newExecution: true });
    expect(JSON.parse((await redis.get(LOCK))!)).toMatchObject({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: A.plannedBy });
    expect(lock.holder.plannedAt).toBe(A.plannedAt);
  });

  it("is not taken from another execution's plan that took it in the same millisecond (plannedAt cannot tell which came later): the holder keeps it", async () => {
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: 'arn:exec:B', expiresAt: Date.now() + 60_000 }));
    const before = await keyValueSnapshot(redis);

    const taking = RunLock.acquire(redis, 'p:', { runId: 'run-1', operation: 'transfer', plannedAt: A.plannedAt, plannedBy: A.plannedBy }, 60_000, 'target redis://t', { newExecution: true });
    await expect(taking).rejects.toBeInstanceOf(PlanSupersededError);
    await expect(taking).rejects.toThrow(/^Run run-1: this plan \(execution arn:exec:A, planned \S+\) was superseded by a later plan of the run \(execution arn:exec:B, planned \S+\), found on target redis:\/\/t before it took the run's lock;/);
    expect(await keyValueSnapshot(redis)).toEqual(before);

    // The same execution's plan in the same millisecond (a retried plan task) takes it, as one
    // whose lock names no execution (an older version's) does.
    for (const plannedBy of [A.plannedBy, undefined]) {
      await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt, ...(plannedBy ? { plannedBy } : {}), expiresAt: Date.now() + 60_000 }));
      await RunLock.acquire(redis, 'p:', { runId: 'run-1', operation: 'transfer', plannedAt: A.plannedAt, plannedBy: A.plannedBy }, 60_000, 'source', { newExecution: true });
      expect(JSON.parse((await redis.get(LOCK))!)).toMatchObject({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: A.plannedBy });
    }
  });

  it("is not released by a failed plan once another execution's plan took it in the same millisecond", async () => {
    const lock = await RunLock.acquire(redis, 'p:', { runId: 'run-1', operation: 'transfer', plannedAt: A.plannedAt, plannedBy: A.plannedBy }, 60_000, 'target redis://t', { newExecution: true });
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: 'arn:exec:B', expiresAt: Date.now() + 60_000 }));
    const before = await keyValueSnapshot(redis);

    expect(await lock.release()).toBe(false);
    expect(await keyValueSnapshot(redis)).toEqual(before);

    // Its own: released.
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: A.plannedBy, expiresAt: Date.now() + 60_000 }));
    expect(await lock.release()).toBe(true);
    expect(await redis.exists(LOCK)).toBe(0);
  });

  it("is taken by a new start from a lock of the run with a later plannedAt once that lock expired (its holder died; another machine's clock ran ahead)", async () => {
    const dead = record({ runId: 'run-1', plannedAt: A.plannedAt + 3_600_000, plannedBy: 'arn:exec:0', expiresAt: Date.now() - 1 });
    await redis.set(LOCK, dead);

    await RunLock.acquire(redis, 'p:', { runId: 'run-1', operation: 'transfer', plannedAt: A.plannedAt, plannedBy: A.plannedBy }, 60_000, 'source', { newExecution: true });

    expect(JSON.parse((await redis.get(LOCK))!)).toMatchObject({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: A.plannedBy });
  });

  it("does not lift the stop of a later start of the run (it took the lock and was stopped since)", async () => {
    const lock = await RunLock.acquire(redis, 'p:', { runId: 'run-1', operation: 'transfer', plannedAt: A.plannedAt, plannedBy: A.plannedBy }, 60_000, 'source redis://source', { newExecution: true });
    // B took the lock, and its execution was stopped: the marker set, B's lock kept for the test.
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt + 5, plannedBy: 'arn:exec:B' }));
    await redis.set(runStopMarkerKey('p:', 'run-1'), '{"runId":"run-1"}');
    const before = await keyValueSnapshot(redis);

    const resume = lock.resume();
    await expect(resume).rejects.toBeInstanceOf(PlanSupersededError);
    await expect(resume).rejects.toThrow(/found on source redis:\/\/source before it lifted the run's stop marker; it wrote nothing more/);
    expect(await keyValueSnapshot(redis)).toEqual(before);

    // Its own lock again: the stop is lifted.
    await redis.set(LOCK, record({ runId: 'run-1', plannedAt: A.plannedAt, plannedBy: A.plannedBy }));
    await lock.resume();
    expect(await redis.exists(runStopMarkerKey('p:', 'run-1'))).toBe(0);
  });
});
