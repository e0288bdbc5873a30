import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RunStoppedError } from '../../core/errors/run-stopped-error.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { RUN_STOP_MARKER_TTL_MS, RunLock, RunLockedError, runLockKey, runStopMarkerKey } from '../../core/redis/run-lock.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep, type PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { stopRunStep } from '../../core/workflow/steps/stop-run-step.js';
import { releaseLockStep } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { jobEntry, jobsIn, keyValueSnapshot } from '../support/exact-jobs.js';
import { interferingRedis } from '../support/interfering-redis.js';

const redis = privateSourceAndTarget();
const renewScript = new LuaScript('renewRunLock-4');
const { connect } = connectionsPerTest(redis);

const transfer = (runId = 'run-1', extra: Record<string, unknown> = {}) => ({ runId, mode: 'transfer', target: 'target', sets: ['schedule'], pageSize: 10, ...extra });
const run = (runId = 'run-1') => ({ runId, source: 'source', target: 'target', dryRun: false });
const budget = { deadline: Date.now() + 600_000 };

/**
 * 30 jobs on queue:default (job 0 pushed first, so at the tail) and 15 scheduled entries on the
 * source; returns them as `jobEntry` prints them, the queued ones in push order.
 */
async function seed(client: Redis): Promise<{ queued: string[]; scheduled: string[]; all: string[] }> {
  const queued: string[] = [];
  const scheduled: string[] = [];
  for (let i = 0; i < 30; i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` });
    await client.lpush('queue:default', payload);
    queued.push(jobEntry('queue:default', payload));
  }
  for (let i = 0; i < 15; i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${100 + i}]` });
    await client.zadd('schedule', String(2e9 + i), payload);
    scheduled.push(jobEntry('schedule', payload, String(2e9 + i)));
  }
  return { queued, scheduled, all: [...queued, ...scheduled].sort() };
}

/**
 * A provider whose clients hold every call made after `blockAfterPage` returned true (a page is
 * done) until `release` resolves: the run is stopped at a known point (between a page and the
 * lock renewal before the next), without racing a timer. `held()` says whether that happened.
 */
function blockingProvider(provider: UrlConnections, release: () => Promise<unknown> | undefined): ConnectionProvider & { held: () => number } {
  let held = 0;
  return {
    held: () => held,
    get: async (name) => {
      const connection = await provider.get(name);
      const redis = interferingRedis(connection.redis, async () => {
        const waitFor = release();
        if (waitFor) {
          held++;
          await waitFor;
        }
      });
      return { ...connection, redis };
    },
  };
}

/** Runs an item's page tasks until it is done, as the state machine's loop does. */
async function finish(plan: PlanOutput, item: WorkItem, provider: UrlConnections): Promise<WorkItem> {
  let current = item;
  while (!current.done) current = await pageStep({ settings: plan.settings, item: current }, provider, budget);
  return current;
}

/** Every key but the stop marker (whose TTL runs down), digested: proves nothing was written. */
// Jobs and ledgers; not the run's bookkeeping (its stop marker, list of items and executions, whose TTLs tick,
// and its started-with record, which a page task renews with them in its first round trip, before
// it finds the run stopped: store-run-plan.ts keepRunRecords).
const jobKeys = async (client: Redis) => Object.entries(await keyValueSnapshot(client)).filter(([key]) => !/:(stopped|items|executions|started-with)$/.test(key));
const exists = async (client: Redis, key: string) => (await client.exists(key)) === 1;

describe('stopping a run', () => {
  it('sets the stop marker (7 days) and releases the run lock, on the source and the target', async () => {
    await seed(redis.source());
    await planStep(transfer(), connect());

    const result = await stopRunStep(run(), connect(), { reason: 'ABORTED' });

    expect(result).toEqual({ marked: true, released: true, superseded: false });
    for (const client of [redis.source(), redis.target()]) {
      expect(await exists(client, runLockKey(''))).toBe(false);
      expect(await client.pttl(runStopMarkerKey('', 'run-1'))).toBeGreaterThan(RUN_STOP_MARKER_TTL_MS - 60_000);
      expect(JSON.parse((await client.get('sidekiq-migrate:run-1:stopped'))!)).toMatchObject({ runId: 'run-1', reason: 'ABORTED' });
    }
  });

  it('refuses every renewal with reply 2 (RunStoppedError), and never takes the lock again for a step of the run', async () => {
    const lock = await RunLock.acquire(redis.source(), '', { runId: 'run-1', operation: 'transfer' }, 60_000, 'source');
    await stopRunStep({ runId: 'run-1', source: 'source', dryRun: false }, connect());

    const reply = await renewScript.run(redis.source(), { keys: [runLockKey(''), runStopMarkerKey('', 'run-1')], args: ['run-1', 'renew', 60_000, JSON.stringify(lock.holder)] });

    expect(reply).toBe(2);
    await expect(lock.renew()).rejects.toBeInstanceOf(RunStoppedError);
    await expect(lock.renew()).rejects.toMatchObject({ runId: 'run-1', where: 'on source', message: expect.stringMatching(/^Run run-1 was stopped \(noticed on source\); ending here\./) });
    await expect(RunLock.acquire(redis.source(), '', { runId: 'run-1', operation: 'transfer' }, 60_000, 'source')).rejects.toThrow(
      /Run run-1 was stopped \(noticed on source\); ending here\. Nothing is lost: .* starting run run-1 again resumes it\./,
    );
    expect(await exists(redis.source(), runLockKey(''))).toBe(false);
  });

  it('ends a page task that is running when the run is stopped after the page it is on, with every page before it complete and counted', async () => {
    const seeded = await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer('run-1'), provider);
    const item = plan.work.batch.find((i) => i.kind === 'queue' && i.name === 'default')!;
    let stopping: Promise<unknown> | undefined;
    // After its first 10-job page, the task's next Redis call (the lock renewal) waits for the stop.
    const blocking = blockingProvider(provider, () => stopping);
    const told: unknown[] = [];

    const after = await pageStep({ settings: plan.settings, item }, blocking, {
      ...budget,
      onPage: () => void (stopping ??= stopRunStep(run(), connect())),
      onFailureAfterProgress: (error) => told.push(error),
    });

    // The renewal saw the stop: the task ends there and returns its one page, counted, not done
    // (the state machine's Catch would keep only the item it started with).
    expect(told).toHaveLength(1);
    expect(told[0]).toBeInstanceOf(RunStoppedError);
    expect((told[0] as Error).message).toMatch(/Run run-1 was stopped .* starting run run-1 again resumes it/);
    expect(after).toMatchObject({ done: false, counters: { claimed: 10, written: 10 } });
    expect(await stopping).toMatchObject({ marked: true, released: true });
    expect(blocking.held(), 'the task was held after its page until the stop landed').toBeGreaterThan(0);
    // The one page it did is complete: the 10 jobs at the list's head (a slice claims from there)
    // on the target, the rest untouched on the source, nothing in flight, none twice, every byte
    // and score kept.
    const [onSource, onTarget] = [await jobsIn(redis.source()), await jobsIn(redis.target())];
    expect(onTarget).toEqual(seeded.queued.slice(20).sort());
    expect(onSource).toEqual([...seeded.queued.slice(0, 20), ...seeded.scheduled].sort());
    expect(await redis.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);

    // The next page task the state machine starts with that item refuses at once and moves nothing.
    await expect(pageStep({ settings: plan.settings, item: after }, provider, budget)).rejects.toBeInstanceOf(RunStoppedError);
    expect(await jobsIn(redis.source())).toEqual(onSource);
    expect(await jobsIn(redis.target())).toEqual(onTarget);
  });

  it('lets a page task that starts after the stop move nothing', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer(), provider);
    await stopRunStep(run(), provider);
    const [source, target] = [await jobKeys(redis.source()), await jobKeys(redis.target())];

    await expect(pageStep({ settings: plan.settings, item: plan.work.batch[0]! }, provider, budget)).rejects.toBeInstanceOf(RunStoppedError);

    expect(await jobKeys(redis.source())).toEqual(source);
    expect(await jobKeys(redis.target())).toEqual(target);
    expect(await exists(redis.source(), runLockKey(''))).toBe(false);
  });

  it('refuses a continuation of a stopped run (an item that reached the iteration cap meanwhile)', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer(), provider);
    await stopRunStep(run(), provider);

    await expect(planStep({ continuation: { settings: plan.settings, item: plan.work.batch[0] } }, provider)).rejects.toBeInstanceOf(RunStoppedError);
  });

  it('is resumed by a new execution with the same run id: its plan clears the marker, and every job arrives exactly once', async () => {
    const seeded = await seed(redis.source());
    const provider = connect();
    const first = await planStep(transfer('run-1'), provider);
    const queue = first.work.batch.find((i) => i.kind === 'queue')!;
    let stopping: Promise<unknown> | undefined;
    const blocking = blockingProvider(provider, () => stopping);
    const stopped = await pageStep({ settings: first.settings, item: queue }, blocking, { ...budget, onPage: () => void (stopping ??= stopRunStep(run(), connect())) });
    expect(stopped).toMatchObject({ done: false, counters: { written: 10 } });
    await stopping;
    expect(blocking.held()).toBeGreaterThan(0);
    expect(await jobsIn(redis.target()), 'stopped after one page').toHaveLength(10);

    const again = await planStep(transfer(), provider);

    for (const client of [redis.source(), redis.target()]) {
      expect(await exists(client, runStopMarkerKey('', 'run-1'))).toBe(false);
      expect(JSON.parse((await client.get(runLockKey('')))!)).toMatchObject({ runId: 'run-1', plannedAt: expect.any(Number) });
    }
    for (const item of again.work.batch) await finish(again, item, provider);
    await releaseLockStep(again, provider);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(seeded.all);
    expect(await exists(redis.source(), runLockKey(''))).toBe(false);
  });

  it('stays stopped when the new execution cannot take every lock (another run holds the target)', async () => {
    await seed(redis.source());
    const provider = connect();
    await planStep(transfer(), provider);
    await stopRunStep(run(), provider);
    await RunLock.acquire(redis.target(), '', { runId: 'someone-else', operation: 'reroute' }, 60_000, 'target');

    await expect(planStep(transfer(), provider)).rejects.toBeInstanceOf(RunLockedError);

    expect(await exists(redis.source(), runStopMarkerKey('', 'run-1'))).toBe(true);
    expect(await exists(redis.target(), runStopMarkerKey('', 'run-1'))).toBe(true);
    expect(await exists(redis.source(), runLockKey(''))).toBe(false);
    expect(JSON.parse((await redis.target().get(runLockKey('')))!)).toMatchObject({ runId: 'someone-else' });
  });

  it('never blocks another run id', async () => {
    const seeded = await seed(redis.source());
    const provider = connect();
    await planStep(transfer('run-1'), provider);
    await stopRunStep(run('run-1'), provider);

    const other = await planStep(transfer('run-2'), provider);
    for (const item of other.work.batch) await finish(other, item, provider);

    expect(await exists(redis.source(), runStopMarkerKey('', 'run-1'))).toBe(true);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(seeded.all);
  });

  it('leaves a run that was started again after the execution ended to its new execution', async () => {
    await planStep(transfer('run-1', { sets: [], queues: false }), connect());
    const { plannedAt } = JSON.parse((await redis.source().get(runLockKey('')))!) as { plannedAt: number };
    // A page task of the new execution takes the lock again: when it was planned is kept.
    await RunLock.acquire(redis.source(), '', { runId: 'run-1', operation: 'transfer' }, 60_000, 'source');

    const late = await stopRunStep(run(), connect(), { endedAt: plannedAt - 1_000 });

    expect(late).toEqual({ marked: false, released: false, superseded: true });
    expect(JSON.parse((await redis.source().get(runLockKey('')))!)).toMatchObject({ runId: 'run-1', plannedAt });
    expect(await exists(redis.source(), runStopMarkerKey('', 'run-1'))).toBe(false);
    expect(await stopRunStep(run(), connect(), { endedAt: plannedAt + 1_000 })).toEqual({ marked: true, released: true, superseded: false });
  });

  it('only releases after a failed execution (no marker), and does nothing for a dry run', async () => {
    await planStep(transfer('run-1', { sets: [], queues: false }), connect());

    expect(await stopRunStep(run(), connect(), { mark: false })).toEqual({ marked: false, released: true, superseded: false });
    expect(await exists(redis.source(), runStopMarkerKey('', 'run-1'))).toBe(false);
    expect(await exists(redis.source(), runLockKey(''))).toBe(false);

    await planStep(transfer('run-1', { sets: [], queues: false }), connect());
    expect(await stopRunStep({ ...run(), dryRun: true }, connect())).toEqual({ marked: false, released: false, superseded: false });
    expect(await exists(redis.source(), runLockKey(''))).toBe(true);
    expect(await redis.source().keys('*stopped')).toEqual([]);
  });
});
