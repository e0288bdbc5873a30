import { continuationExecutionName } from '../../core/workflow/continuation-name.js';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { FatalError } from '../../core/errors/sidekiq-migrate-error.js';
import { RunStoppedError } from '../../core/errors/run-stopped-error.js';
import { InputError } from '../../core/errors/input-error.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { RunLock, RunLockedError, RunLockLostError, runLockKey, runStopMarkerKey } from '../../core/redis/run-lock.js';
import { emptyCounters } from '../../core/reroute/reroute-counters.js';
import { emptyTransferCounters, type TransferCounters } from '../../core/transfer/transfer-counters.js';
import { movesKey } from '../../core/reroute/move-record.js';
import { inflightKey, ledgerKey } from '../../core/transfer/transfer-keys.js';
import { runExecutionsKey } from '../../core/workflow/run-executions.js';
import { emptyTally } from '../../core/workflow/run-tally.js';
import { addUpStep } from '../../core/workflow/steps/add-up-step.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep, RUN_LOCK_TTL_MS, type PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { releaseAfterFailureStep, stopRunStep } from '../../core/workflow/steps/stop-run-step.js';
import { releaseLockStep, summarizeStep } from '../../core/workflow/steps/summarize-step.js';
import { serializeRouting, storedDigest, storedRoutingKey } from '../../core/workflow/stored-routing.js';
import { classRoutingPlan } from '../../core/routing/routing-plan.js';
import { loadSelection, storedSelectionKey } from '../../core/workflow/stored-selection.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import { BATCHES_PER_EXECUTION, workListKey } from '../../core/workflow/work-list.js';
import { jobEntry, jobsIn, withQueue, keyValueSnapshot } from '../support/exact-jobs.js';
import { interferingRedis, SimulatedCrash, type RedisCall } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// The workflow's steps called one by one, as the state machine calls them, against real Redis:
// what each leaves in Redis (locks, the run's list and executions, jobs) and what it returns.
const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

const budget = { deadline: Date.now() + 600_000 };
const reroute = (extra: Record<string, unknown> = {}) => ({ runId: 'run-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, sets: ['schedule'], pageSize: 5, ...extra });
const transfer = (extra: Record<string, unknown> = {}) => ({ runId: 'run-1', mode: 'transfer', target: 'target', sets: ['schedule'], pageSize: 5, ...extra });

/** 12 jobs of class A on queue:old, 3 scheduled; as seeded and as a re-route to `new` leaves them. */
async function seed(client: Redis): Promise<{ seeded: string[]; rerouted: string[] }> {
  const seeded: string[] = [];
  const rerouted: string[] = [];
  for (let i = 0; i < 12; i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` });
    await client.lpush('queue:old', payload);
    seeded.push(jobEntry('queue:old', payload));
    rerouted.push(jobEntry('queue:new', withQueue(payload, 'old', 'new')));
  }
  for (let i = 0; i < 3; i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'old', args: `[${100 + i}]` });
    await client.zadd('schedule', String(2e9 + i), payload);
    seeded.push(jobEntry('schedule', payload, String(2e9 + i)));
    rerouted.push(jobEntry('schedule', withQueue(payload, 'old', 'new'), String(2e9 + i)));
  }
  await client.sadd('queues', 'old');
  return { seeded: seeded.sort(), rerouted: rerouted.sort() };
}

/** Puts the run's lock past its expiry (as a holder paused longer than its life leaves it); returns its record. */
async function expireLock(client: Redis): Promise<string> {
  const record = JSON.stringify({ ...(await lockOf(client)), expiresAt: 1 });
  await client.set(runLockKey(''), record);
  return record;
}

const lockOf = async (client: Redis) => JSON.parse((await client.get(runLockKey(''))) ?? 'null') as Record<string, unknown> | null;
const executionsOf = async (client: Redis, runId = 'run-1') => client.hgetall(runExecutionsKey('', runId));

const connectionName = async (provider: ConnectionProvider, name: string) => (await provider.get(name)).name;

/** Every page of an item, as the state machine loops on it. */
async function finish(plan: PlanOutput, item: WorkItem, provider: UrlConnections): Promise<WorkItem> {
  let current = item;
  while (!current.done) current = await pageStep({ settings: plan.settings, item: current }, provider, budget);
  return current;
}

describe('the plan step', () => {
  it('plans a re-route: settings, the first batch, the lock, the stored routing, list and executions', async () => {
    await seed(redis.source());
    await redis.source().rpush('other:queue:x', 'a', 'b'); // another prefix with jobs: reported
    await redis.source().sadd('empty:processes', 'p'); // another prefix without jobs: not reported

    const plan = await planStep(reroute({ pagesPerInvocation: 7, maxIterations: 9, unmapped: 'quarantine', placement: 'append' }), connect());

    expect(plan.settings).toEqual({
      runId: 'run-1',
      mode: 'reroute',
      source: 'source',
      dryRun: false,
      pageSize: 5,
      unmapped: 'quarantine',
      placement: 'append',
      pagesPerInvocation: 7,
      maxIterations: 9,
      sets: ['schedule'],
      queues: true,
      routed: true,
      // The routing it stored, told apart from another plan's of the same run id.
      routingDigest: storedDigest((await redis.source().get(storedRoutingKey('', 'run-1')))!),
      // When its lock was taken: the execution's generation, named by every later step of it.
      plannedAt: expect.any(Number),
      // Its started-with record carries its start: its page tasks renew it (keepRunRecords).
      renewsStartedWith: true,
    });
    expect(plan).toMatchObject({ itemCount: 2, plannedJobs: 15, execution: 'root', listContinuedIn: null, resumed: emptyTransferCounters(), memoryPolicies: { source: 'noeviction' } });
    expect(plan.otherPrefixes).toEqual([{ prefix: 'other:', keys: 1, jobs: 2 }]);
    expect(plan.work).toMatchObject({ next: null, more: true, batches: 0 });
    // Exactly a re-route's tally: nothing of a transfer's counters in it.
    expect(plan.work.tally).toEqual(emptyTally('reroute'));
    expect(plan.work.batch.map((i) => [i.kind, i.name, i.done, i.iteration])).toEqual([
      ['set', 'schedule', false, 0],
      ['queue', 'old', false, 0],
    ]);
    const source = redis.source();
    const lock = (await lockOf(source))!;
    expect(lock).toMatchObject({ runId: 'run-1', operation: 'reroute', plannedAt: plan.settings.plannedAt });
    expect(Number(lock['expiresAt']) - Date.now()).toBeGreaterThan(RUN_LOCK_TTL_MS - 60_000);
    expect(await source.exists(storedRoutingKey('', 'run-1'), workListKey('', 'run-1'))).toBe(2);
    expect(await executionsOf(source)).toEqual({ root: '1' });
    expect(await redis.target().dbsize()).toBe(0);
  });

  it('plans a dry run without writing anything: the routing travels in the settings', async () => {
    await seed(redis.source());
    const before = await keyValueSnapshot(redis.source(), '');

    const plan = await planStep(reroute({ dryRun: true }), connect());

    expect(plan.settings).toMatchObject({ dryRun: true, routed: true, inlineRouting: expect.anything(), planId: expect.any(String) });
    expect(plan.itemCount).toBe(2);
    expect(await keyValueSnapshot(redis.source(), '')).toEqual(before);
  });

  it('says when the source holds no Sidekiq data at all, and otherwise says nothing of it', async () => {
    const empty = await planStep(reroute({ sets: [] }), connect());
    expect(empty.settings.nothingThere).toBe(true);
    // Nothing to work on (no set asked for, no queue there): the state machine's loop ends at once.
    expect(empty.work).toMatchObject({ batch: [], more: false });
    expect(empty.itemCount).toBe(0);
    await releaseLockStep(empty, connect());
    await seed(redis.source());
    expect((await planStep(reroute({ runId: 'run-2' }), connect())).settings).not.toHaveProperty('nothingThere');
  });

  it('refuses a transfer into the same Redis, one that may evict any key, and a wrong prefix, touching nothing', async () => {
    await seed(redis.source());
    const before = await keyValueSnapshot(redis.source(), '');
    await expect(planStep(transfer(), connect(true))).rejects.toThrow(/^source .* and target .* are the same Redis/);

    for (const [client, side] of [[redis.source(), 'source'], [redis.target(), 'target']] as const) {
      await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
      try {
        const refusal = planStep(transfer(), connect());
        await expect(refusal).rejects.toBeInstanceOf(InputError);
        await expect(refusal).rejects.toThrow(new RegExp(`^${side} redis://127\\.0\\.0\\.1:\\d+ has maxmemory-policy allkeys-lru`));
        // A dry run writes nothing: it may look, and reports the policy.
        const dry = await planStep(transfer({ dryRun: true }), connect());
        expect(dry.memoryPolicies).toEqual({ source: side === 'source' ? 'allkeys-lru' : 'noeviction', target: side === 'target' ? 'allkeys-lru' : 'noeviction' });
      } finally {
        await client.config('SET', 'maxmemory-policy', 'noeviction');
      }
    }
    expect(await keyValueSnapshot(redis.source(), '')).toEqual(before);
    expect(await redis.target().dbsize()).toBe(0);
  });

  it('refuses a prefix with no Sidekiq data when there is some under another, touching nothing', async () => {
    await redis.source().rpush('wrong:queue:old', sidekiqPayload({ className: 'A', queue: 'old' }));
    const before = await keyValueSnapshot(redis.source(), '');
    await expect(planStep(reroute(), connect())).rejects.toThrow(/^No Sidekiq data without a prefix on source .*: use --namespace wrong:\./);
    expect(await keyValueSnapshot(redis.source(), '')).toEqual(before);
  });

  it('takes the lock on both ends of a transfer, and refuses while another run holds either', async () => {
    await seed(redis.source());
    await RunLock.acquire(redis.target(), '', { runId: 'other', operation: 'reroute' }, 60_000, 'target');

    const refused = planStep(transfer(), connect());
    await expect(refused).rejects.toBeInstanceOf(RunLockedError);
    await expect(refused).rejects.toThrow(/^target redis:\/\/127\.0\.0\.1:\d+ is locked by run other /);
    // The source's lock, taken first, is given back, with the run's list and executions.
    expect(await redis.source().exists(runLockKey(''), workListKey('', 'run-1'), runExecutionsKey('', 'run-1'))).toBe(0);

    await RunLock.releaseIfHeld(redis.target(), '', 'other');
    await RunLock.acquire(redis.source(), '', { runId: 'other', operation: 'reroute' }, 60_000, 'source');
    await expect(planStep(transfer(), connect())).rejects.toThrow(/^source redis:\/\/127\.0\.0\.1:\d+ is locked by run other /);
    await RunLock.releaseIfHeld(redis.source(), '', 'other');
    const plan = await planStep(transfer(), connect());
    expect(plan.settings).toMatchObject({ mode: 'transfer', target: 'target', routed: false });
    expect(plan.memoryPolicies).toEqual({ source: 'noeviction', target: 'noeviction' });
    for (const client of [redis.source(), redis.target()]) expect(await lockOf(client)).toMatchObject({ runId: 'run-1', operation: 'transfer' });
  });

  it('cleans up after a plan that fails once it holds the lock, and leaves a stopped run stopped', async () => {
    await seed(redis.source());
    await redis.source().set(runStopMarkerKey('', 'run-1'), '{}');
    // A rollback of a run that recorded nothing fails after the lock was taken.
    const failing = planStep(reroute({ routing: { kind: 'rollback', of: 'never-ran' } }), connect());

    await expect(failing).rejects.toThrow(/never-ran/);
    expect(await redis.source().exists(runLockKey(''), workListKey('', 'run-1'), runExecutionsKey('', 'run-1'))).toBe(0);
    expect(await redis.source().exists(runStopMarkerKey('', 'run-1'))).toBe(1);

    await planStep(reroute(), connect());
    expect(await redis.source().exists(runStopMarkerKey('', 'run-1'))).toBe(0);
  });

  it('plans a transfer of some classes: stored for the run, or carried in the settings of a dry run', async () => {
    await seed(redis.source());

    const dry = await planStep(transfer({ classes: ['A', 'B'], dryRun: true }), connect());
    expect(dry.settings).toMatchObject({ inlineClasses: ['A', 'B'] });
    expect(dry.settings).not.toHaveProperty('selected');
    expect(await redis.source().exists(storedSelectionKey('', 'run-1'))).toBe(0);

    const plan = await planStep(transfer({ classes: ['A', 'B'] }), connect());
    expect(plan.settings).toMatchObject({ selected: true });
    expect(plan.settings).not.toHaveProperty('inlineClasses');
    expect(await loadSelection(redis.source(), '', 'run-1')).toEqual(['A', 'B']);
  });

  it('a dry run of the run id that fails leaves the real run its list and executions', async () => {
    await seed(redis.source());
    await planStep(reroute(), connect());
    const runKeys = [workListKey('', 'run-1'), runExecutionsKey('', 'run-1'), runLockKey('')];
    const dumps = () => Promise.all(runKeys.map((key) => redis.source().dumpBuffer(key)));
    const before = await dumps();

    // Refused as run-1 was started with other routing (a rollback is compared by the run it rolls back).
    await expect(planStep(reroute({ dryRun: true, routing: { kind: 'rollback', of: 'never-ran' } }), connect())).rejects.toThrow(/^Run run-1 \(reroute\) was started with other routing/);

    expect(before.every((dump) => dump !== null)).toBe(true);
    expect(await dumps()).toEqual(before);
  });

  it('validates its input first, naming each problem', async () => {
    for (const input of [null, 'run', 7]) await expect(planStep(input, connect())).rejects.toThrow(/^Invalid options|input/);
    await expect(planStep({ runId: 'r', mode: 'sideways' }, connect())).rejects.toThrow(/^input\.mode: /);
    await expect(planStep(reroute({ routing: { kind: 'mapping', mapping: { A: 5 } } }), connect())).rejects.toThrow(/^input\.routing\.mapping\.A: /);
    await expect(planStep({ continuation: { settings: {} } }, connect())).rejects.toThrow(/^input\.continuation: a continuation carries either an item or a list position/);
    await expect(planStep({ continuation: { settings: {}, list: { next: -1 } } }, connect())).rejects.toThrow(/^input\.continuation\.list\.next: /);
  });

  it('cleans up after a plan that fails at its very end: the lock released on both ends, the list and executions deleted', async () => {
    const { seeded } = await seed(redis.source());
    // The first call on the source after its lock was resumed (the search for other prefixes) fails.
    const renewSha = new LuaScript('renewRunLock-4').sha;
    let resumed = false;
    let failed = false;
    const provider = connect();
    const failing: ConnectionProvider = {
      get: async (name) => {
        const c = await provider.get(name);
        if (name !== 'source') return c;
        const fail = (call: RedisCall) => {
          if (resumed && !failed) {
            failed = true;
            throw new SimulatedCrash('the last call');
          }
          if (call.scripts.includes(renewSha)) resumed = true;
        };
        return { ...c, redis: interferingRedis(c.redis, fail) };
      },
    };

    await expect(planStep(transfer(), failing)).rejects.toThrow(/^Looking for Sidekiq keys under other prefixes: the last call$/);

    expect(failed).toBe(true);
    expect(await redis.source().exists(runLockKey(''), workListKey('', 'run-1'), runExecutionsKey('', 'run-1'))).toBe(0);
    expect(await redis.target().exists(runLockKey(''))).toBe(0);
    expect(await jobsIn(redis.source())).toEqual(seeded);
  });

  it('finishes the jobs an interrupted transfer left in flight (a dry run only counts them), and counts them', async () => {
    const { seeded } = await seed(redis.source());
    const provider = connect();
    const first = await planStep(transfer({ sets: [] }), provider);
    // The page takes its locks, reads the target's id (one GET: the plan step named it), claims 5
    // jobs on the source, then dies before its copy reaches the target.
    let targetCalls = 0;
    const crashing: ConnectionProvider = {
      get: async (name) => {
        const c = await provider.get(name);
        const crash = () => {
          if (++targetCalls > 2) throw new SimulatedCrash('died');
        };
        return name === 'target' ? { ...c, redis: interferingRedis(c.redis, crash) } : c;
      },
    };
    const page = pageStep({ settings: first.settings, item: first.work.batch[0]! }, crashing, budget);
    await expect(page).rejects.toThrow(/died/);
    const inflight = inflightKey('', 'run-1', 'queue:old');
    expect(await redis.source().llen(inflight)).toBe(5);

    const beforeDry = [await jobsIn(redis.source()), await jobsIn(redis.target())];
    const dry = await planStep(transfer({ sets: [], dryRun: true }), provider);
    expect(dry.resumed).toEqual({ ...emptyTransferCounters(), resumed: 5 });
    expect(dry.work.tally.totals).toMatchObject({ resumed: 5, written: 0 });
    expect([await jobsIn(redis.source()), await jobsIn(redis.target())]).toEqual(beforeDry);
    expect(await redis.source().llen(inflight)).toBe(5);

    const again = await planStep(transfer({ sets: [] }), provider);
    expect(again.resumed).toMatchObject({ claimed: 0, written: 5 });
    expect(again.work.tally.totals).toMatchObject({ written: 5 });
    expect(await redis.source().exists(inflight)).toBe(0);
    expect(await jobsIn(redis.target())).toHaveLength(5);
    const queued = [...(await jobsIn(redis.source())), ...(await jobsIn(redis.target()))].filter((e) => e.startsWith('queue:'));
    expect(queued.map((e) => e.split('\t')[1]).sort()).toEqual(seeded.filter((e) => e.startsWith('queue:')).map((e) => e.split('\t')[1]).sort());
  });

  it('continues one item in a new execution: the lock taken again, the execution added, its loop count back to zero', async () => {
    await seed(redis.source());
    const plan = await planStep(transfer(), connect());
    const item = { ...plan.work.batch[1]!, iteration: 9, cursor: null, continues: 'root' };

    const next = await planStep({ continuation: { settings: plan.settings, item, from: 'arn:exec-1' } }, connect());

    expect(next).toMatchObject({ settings: plan.settings, itemCount: 1, execution: 'item:queue:old:root', listContinuedIn: null, resumed: emptyTransferCounters() });
    expect(next.work).toEqual({ batch: [{ ...item, iteration: 0, continues: 'arn:exec-1' }], next: null, more: true, batches: 0, tally: emptyTally('transfer') });
    expect(await executionsOf(redis.source())).toEqual({ root: '1', 'item:queue:old:root': '1' });
    for (const client of [redis.source(), redis.target()]) expect(await lockOf(client)).toMatchObject({ runId: 'run-1', operation: 'transfer' });
    // Without `from`, the item keeps the execution it continues.
    const again = await planStep({ continuation: { settings: plan.settings, item } }, connect());
    expect(again.work.batch[0]!.continues).toBe('root');
  });

  it('a continued execution renews the lock on both ends, and is refused where it is gone (the run lost it) or another run holds it, adding no execution', async () => {
    await seed(redis.source());
    const plan = await planStep(transfer(), connect());
    const item = { ...plan.work.batch[1]!, iteration: 9, cursor: null, continues: 'root' };
    // Past its expiry, nobody took it: renewed.
    for (const client of [redis.source(), redis.target()]) await expireLock(client);

    await planStep({ continuation: { settings: plan.settings, item } }, connect());
    for (const client of [redis.source(), redis.target()]) expect(await lockOf(client)).toMatchObject({ runId: 'run-1', operation: 'transfer', plannedAt: plan.settings.plannedAt });
    expect(Number((await lockOf(redis.target()))!['expiresAt'])).toBeGreaterThan(Date.now());

    const next = { ...item, name: 'other-item' };
    await RunLock.releaseIfHeld(redis.target(), '', 'run-1');
    await expect(planStep({ continuation: { settings: plan.settings, item: next } }, connect())).rejects.toThrow(/^Run run-1 lost its run lock on target redis:\/\/127\.0\.0\.1:\d+: the lock is gone /);
    expect(await lockOf(redis.target())).toBeNull();
    await RunLock.acquire(redis.target(), '', { runId: 'other', operation: 'reroute' }, 60_000, 'target');
    await expect(planStep({ continuation: { settings: plan.settings, item: next } }, connect())).rejects.toThrow(/^target redis:\/\/127\.0\.0\.1:\d+ is locked by run other /);
    expect(await executionsOf(redis.source())).toEqual({ root: '1', 'item:queue:old:root': '1' });
  });

  it('continues the rest of the list from a position', async () => {
    await seed(redis.source());
    const plan = await planStep(reroute(), connect());

    const rest = await planStep({ continuation: { settings: plan.settings, list: { next: 1 } } }, connect());

    expect(rest).toMatchObject({ itemCount: 1, execution: 'list:1', listContinuedIn: null });
    expect(rest.work).toMatchObject({ next: null, more: true, batches: 0, tally: emptyTally('reroute') });
    expect(rest.work.batch.map((i) => i.name)).toEqual(['old']);
    expect(await executionsOf(redis.source())).toEqual({ root: '1', 'list:1': '1' });
    const past = await planStep({ continuation: { settings: plan.settings, list: { next: 2 } } }, connect());
    expect(past.work).toMatchObject({ batch: [], more: false });
    expect(past.itemCount).toBe(0);
  });

  it('continues a dry run without taking a lock or adding an execution', async () => {
    await seed(redis.source());
    const plan = await planStep(reroute({ dryRun: true }), connect());
    const before = await keyValueSnapshot(redis.source(), '');

    const rest = await planStep({ continuation: { settings: plan.settings, list: { next: 0 } } }, connect());

    expect(rest.work.batch.map((i) => i.name)).toEqual(['schedule', 'old']);
    expect(await keyValueSnapshot(redis.source(), '')).toEqual(before);
  });
});

describe('the page step', () => {
  it('moves pages of an item, adding its counters to what it had, and returns the next cursor', async () => {
    const { rerouted } = await seed(redis.source());
    const provider = connect();
    const plan = await planStep(reroute({ pagesPerInvocation: 1 }), provider);
    const queue = plan.work.batch[1]!;

    const first = await pageStep({ settings: plan.settings, item: queue }, provider, budget);
    expect(first).toMatchObject({ kind: 'queue', name: 'old', done: false, iteration: 1, counters: { moved: 5, scanned: 5 } });
    expect(await redis.source().llen('queue:new')).toBe(5);
    const two = await pageStep({ settings: plan.settings, item: first }, provider, { ...budget, maxPages: 2 });
    expect(two).toMatchObject({ done: true, iteration: 2, counters: { moved: 12 } });

    const set = await finish(plan, plan.work.batch[0]!, provider);
    expect(set).toMatchObject({ kind: 'set', name: 'schedule', done: true, counters: { moved: 3 } });
    expect(await jobsIn(redis.source())).toEqual(rerouted);
    // The lock was renewed by the run, never lost.
    expect(await lockOf(redis.source())).toMatchObject({ runId: 'run-1' });
  });

  it("pages a run planned again (start --resume) by the routing that plan stored, though this container read the earlier plan's", async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(reroute({ pagesPerInvocation: 1 }), provider);
    const first = await pageStep({ settings: plan.settings, item: plan.work.batch[1]! }, provider, budget);
    expect(first.counters).toMatchObject({ moved: 5 });
    expect(await redis.source().llen('queue:new')).toBe(5);

    // Another container plans the run again with A → other. Written by hand: a plan step in this
    // process would update this process's cache too, which a warm Lambda container never shares.
    const text = JSON.stringify(serializeRouting(classRoutingPlan(new Map([['A', 'other']]))));
    await redis.source().set(storedRoutingKey('', 'run-1'), text);
    const replanned = { ...plan.settings, routingDigest: storedDigest(text) };
    await pageStep({ settings: replanned, item: first }, provider, budget);
    expect(await redis.source().llen('queue:other')).toBe(5);
    expect(await redis.source().llen('queue:new')).toBe(5);

    // A page whose plan stored another routing than the one now there is refused, moving nothing.
    const other = { ...plan.settings, routingDigest: 'not-the-stored1' };
    await expect(pageStep({ settings: other, item: first }, provider, budget)).rejects.toThrow(/is not the one this execution planned: another plan of the same run id replaced it/);
    expect(await redis.source().llen('queue:old')).toBe(2);
  });

  it("carries a dry-run rollback's routing as a reference to the record it read, and refuses a page once that record changed", async () => {
    await seed(redis.source());
    const provider = connect();
    const run = await planStep(reroute({ pagesPerInvocation: 1 }), provider);
    for (const item of run.work.batch) await pageStep({ settings: run.settings, item }, provider, budget);
    const movedByRun = await redis.source().lrange('queue:new', 0, -1);
    // run-1 ended (its summary releases its lock): a dry-run rollback of a run still holding it is refused.
    await redis.source().del(runLockKey(''));
    const dry = await planStep(reroute({ runId: 'back-1', dryRun: true, routing: { kind: 'rollback', of: 'run-1' } }), provider);
    expect(dry.settings).toMatchObject({ routed: true, recordedRollback: { of: 'run-1', digest: expect.any(String) } });
    expect(dry.settings.inlineRouting).toBeUndefined();
    const queueItem = dry.work.batch.find((i) => i.kind === 'queue' && i.name === 'new')!;

    // The rolled-back run records another move after the dry run's plan (it was resumed): a page
    // would count by other routing than the plan's.
    await redis.source().sadd(movesKey('', 'run-1'), JSON.stringify(['B', 'x', 'y']));
    await expect(pageStep({ settings: dry.settings, item: queueItem }, provider, budget)).rejects.toThrow(/The moves run run-1 recorded \(sidekiq-migrate:run-1:moves\) are not the ones this dry run planned by/);

    // Planned again, it counts what it would move back (a page of 5) by the routing read from the record.
    const again = await planStep(reroute({ runId: 'back-1', dryRun: true, routing: { kind: 'rollback', of: 'run-1' } }), provider);
    expect((await pageStep({ settings: again.settings, item: queueItem }, provider, budget)).counters).toMatchObject({ moved: 5, movedTo: { old: 5 } });
    expect(await redis.source().lrange('queue:new', 0, -1)).toEqual(movedByRun);
  });

  it('records every move under the run id (for a rollback), not in a dry run', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(reroute({ pagesPerInvocation: 1 }), provider);
    await pageStep({ settings: plan.settings, item: plan.work.batch[0]! }, provider, budget);
    await pageStep({ settings: plan.settings, item: plan.work.batch[1]! }, provider, budget);
    expect(await redis.source().exists(movesKey('', 'run-1'))).toBe(1);
  });

  it("slices a rate-limited transfer to what the rate allows in the invocation's time, and stops before a wait that would outlast it", async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer({ rateLimit: 2, pageSize: 5, sets: [] }), provider);

    // 2 jobs a second for 1.9 s: slices of at most 3 (not the page size, 5), and after the first,
    // the next would wait past the deadline. (Not 2 s: a step that starts within the same
    // millisecond would have the whole 2 s, room for 4.)
    const page = await pageStep({ settings: plan.settings, item: plan.work.batch[0]! }, provider, { deadline: Date.now() + 1_900 });

    const { claimed, written } = page.counters as { claimed: number; written: number };
    expect(page.done).toBe(false);
    expect(claimed).toBeGreaterThanOrEqual(1);
    expect(claimed).toBeLessThanOrEqual(3);
    expect(written).toBe(claimed);
    expect(await jobsIn(redis.target())).toHaveLength(claimed);
  });

  it('announces an item that reaches its loop cap unfinished as a new execution of the run', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(reroute({ pagesPerInvocation: 1, maxIterations: 2 }), provider);
    const queue = plan.work.batch[1]!;

    const once = await pageStep({ settings: plan.settings, item: queue }, provider, budget);
    expect(await executionsOf(redis.source())).toEqual({ root: '1' });
    const twice = await pageStep({ settings: plan.settings, item: once }, provider, budget);

    expect(twice).toMatchObject({ iteration: 2, done: false });
    expect(await executionsOf(redis.source())).toEqual({ root: '1', 'item:queue:old:root': '1' });
    // An item that is done at its cap continues nowhere.
    const done = await pageStep({ settings: plan.settings, item: { ...twice, iteration: 5 } }, provider, { ...budget, maxPages: 10 });
    expect(done.done).toBe(true);
    expect(Object.keys(await executionsOf(redis.source()))).toHaveLength(2);
  });

  it('moves nothing in a dry run and announces no continuation', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(reroute({ dryRun: true, pagesPerInvocation: 1, maxIterations: 1 }), provider);
    const before = await keyValueSnapshot(redis.source(), '');

    const page = await pageStep({ settings: plan.settings, item: plan.work.batch[1]! }, provider, budget);

    expect(page).toMatchObject({ done: false, iteration: 1, counters: { moved: 5 } });
    expect(await keyValueSnapshot(redis.source(), '')).toEqual(before);
  });

  it('stops with a fatal error when another run took the lock meanwhile, after a complete page', async () => {
    const { seeded } = await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer(), provider);
    let stolen: Promise<unknown> | undefined;
    // After the first page, the next call on the target (the renewal) waits until another run took its lock.
    const stealing: ConnectionProvider = {
      get: async (name) => {
        const c = await provider.get(name);
        return name === 'target' ? { ...c, redis: interferingRedis(c.redis, async () => void (await stolen)) } : c;
      },
    };
    const steal = () =>
      (stolen ??= RunLock.releaseIfHeld(redis.target(), '', 'run-1').then(() => RunLock.acquire(redis.target(), '', { runId: 'thief', operation: 'reroute' }, 60_000, 'target')));

    const told: unknown[] = [];

    const after = await pageStep({ settings: plan.settings, item: plan.work.batch[1]! }, stealing, { ...budget, onPage: () => void steal(), onFailureAfterProgress: (error) => told.push(error) });

    // The task ends at the lost lock and returns its one page, counted; the next task is refused.
    expect(told).toHaveLength(1);
    expect(told[0]).toBeInstanceOf(FatalError);
    expect((told[0] as Error).message).toBe('Run run-1 lost its run lock during queue old (another run took it, or it expired and is gone); stopping (nothing is lost: the next run resumes).');
    expect(after).toMatchObject({ done: false, counters: { written: 5 } });
    await expect(pageStep({ settings: plan.settings, item: after }, provider, budget)).rejects.toBeInstanceOf(RunLockedError);
    expect(stolen).toBeDefined();
    expect(await lockOf(redis.target())).toMatchObject({ runId: 'thief' });
    // The one page is complete: 5 jobs on the target, the rest on the source, each once, bytes kept.
    const [source, target] = [await jobsIn(redis.source()), await jobsIn(redis.target())];
    expect(target).toHaveLength(5);
    expect([...source, ...target].map((e) => e.split('\t')[1]).sort()).toEqual(seeded.map((e) => e.split('\t')[1]).sort());
  });

  it('transfers a page of a set and of a queue, with the transfer counters', async () => {
    const { seeded } = await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer({ pagesPerInvocation: 1 }), provider);

    const set = await pageStep({ settings: plan.settings, item: plan.work.batch[0]! }, provider, budget);
    const queue = await pageStep({ settings: plan.settings, item: plan.work.batch[1]! }, provider, budget);

    expect(set).toMatchObject({ iteration: 1, counters: { claimed: 3, written: 3 } });
    expect(queue).toMatchObject({ iteration: 1, done: false, counters: { claimed: 5, written: 5 } });
    const rest = await finish(plan, queue, provider);
    expect(rest).toMatchObject({ done: true, counters: { claimed: 12, written: 12, duplicates: 0 } });
    expect(await jobsIn(redis.target())).toEqual(seeded);
    expect(await jobsIn(redis.source())).toEqual([]);
  });

  it('a transfer task moves pagesPerInvocation pages of jobs, however many slices of at most 1,000 jobs (MAX_JOBS_PER_CLAIM) a page takes', async () => {
    const jobs = Array.from({ length: 2600 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'big', args: `[${i}]` }));
    await redis.source().lpush('queue:big', ...jobs);
    await redis.source().sadd('queues', 'big');
    const before = await redis.source().lrange('queue:big', 0, -1);
    const provider = connect();
    const plan = await planStep(transfer({ pagesPerInvocation: 1, pageSize: 3000, sets: [] }), provider);
    const seenSlices: number[] = [];

    const item = await pageStep({ settings: plan.settings, item: plan.work.batch.find((i) => i.name === 'big')! }, provider, {
      ...budget,
      onPage: (page) => void seenSlices.push((page.counters as TransferCounters).claimed),
    });

    // One page of 3,000 jobs asked: its 2,600 jobs in three claims, all in this one task.
    expect(seenSlices).toEqual([1000, 1000, 600]);
    expect(item).toMatchObject({ iteration: 1, done: true, counters: { claimed: 2600, written: 2600, duplicates: 0 } });
    expect(await redis.target().lrange('queue:big', 0, -1)).toEqual(before);
    expect(await redis.source().exists('queue:big')).toBe(0);
  });

  it('a transfer of some classes moves only their jobs, page by page, from the selection the plan stored', async () => {
    const picked: string[] = [];
    const staying: string[] = [];
    for (let i = 0; i < 8; i++) {
      const payload = sidekiqPayload({ className: i % 2 === 0 ? 'B' : 'A', queue: 'old', args: `[${i}]` });
      await redis.source().lpush('queue:old', payload);
      (i % 2 === 0 ? picked : staying).push(jobEntry('queue:old', payload));
    }
    await redis.source().sadd('queues', 'old');
    const provider = connect();
    const plan = await planStep(transfer({ classes: ['B'], sets: [], pageSize: 3 }), provider);

    for (const item of plan.work.batch) await finish(plan, item, provider);

    expect(await jobsIn(redis.target())).toEqual(picked.sort());
    expect(await jobsIn(redis.source())).toEqual(staying.sort());
    expect(await redis.source().keys('sidekiq-migrate:run-1:inflight:*')).toEqual([]);
  });

  it('a re-route task moves pagesPerInvocation pages of its page size, large or small', async () => {
    const jobs = Array.from({ length: 700 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await redis.source().lpush('queue:old', ...jobs);
    await redis.source().sadd('queues', 'old');
    const provider = connect();
    const plan = await planStep(reroute({ pagesPerInvocation: 1, pageSize: 600, sets: [] }), provider);
    let pages = 0;

    const item = await pageStep({ settings: plan.settings, item: plan.work.batch.find((i) => i.name === 'old')! }, provider, { ...budget, onPage: () => void pages++ });

    // One page of 600 in this task (a transfer's claims of at most 1,000 jobs do not multiply a re-route's pages).
    expect(pages).toBe(1);
    expect(item).toMatchObject({ iteration: 1, done: false, counters: { scanned: 600, moved: 600 } });
    expect(await redis.source().llen('queue:new')).toBe(600);
    expect(await redis.source().llen('queue:old')).toBe(100);
  });

  it('a stale page task (its lock expired, another run took it and released it) moves nothing and does not take the lock again', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(reroute(), provider);
    // The task was paused past the lock's life: another run took the lock, worked, and released it.
    await expireLock(redis.source());
    await RunLock.acquire(redis.source(), '', { runId: 'other', operation: 'transfer' }, 60_000, 'source');
    await RunLock.releaseIfHeld(redis.source(), '', 'other');
    const before = await jobsIn(redis.source());
    const keys = await redis.source().keys('*');

    const stale = pageStep({ settings: plan.settings, item: plan.work.batch[1]! }, provider, budget);

    await expect(stale).rejects.toBeInstanceOf(RunLockLostError);
    await expect(stale).rejects.toMatchObject({ retryable: false });
    await expect(stale).rejects.toThrow(
      /^Run run-1 lost its run lock on redis:\/\/127\.0\.0\.1:\d+: the lock is gone \(it expired, and another run may have taken and released it meanwhile\); this step moves nothing more and does not take the lock again \(nothing is lost: run it again to resume\)\.$/,
    );
    expect(await jobsIn(redis.source())).toEqual(before);
    expect((await redis.source().keys('*')).sort()).toEqual(keys.sort());
    expect(await lockOf(redis.source())).toBeNull();
  });

  it('a stale page task whose lock another run took and left past its expiry moves nothing, naming that run', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer(), provider);
    await expireLock(redis.target());
    await RunLock.acquire(redis.target(), '', { runId: 'other', operation: 'transfer', host: 'h', pid: 7, startedAt: 'then' }, 60_000, 'target');
    const other = await expireLock(redis.target()); // that run died too
    const [source, target] = [await jobsIn(redis.source()), await jobsIn(redis.target())];
    const keys = [(await redis.source().keys('*')).sort(), (await redis.target().keys('*')).sort()];

    await expect(pageStep({ settings: plan.settings, item: plan.work.batch[1]! }, provider, budget)).rejects.toThrow(
      /^Run run-1 lost its run lock on redis:\/\/127\.0\.0\.1:\d+: it expired and run other \(transfer, h pid 7, started then\) took it; this step moves nothing more/,
    );
    // Nothing moved, no key written on either end (the source's lock may be renewed before the target's is found lost).
    expect([await jobsIn(redis.source()), await jobsIn(redis.target())]).toEqual([source, target]);
    expect([(await redis.source().keys('*')).sort(), (await redis.target().keys('*')).sort()]).toEqual(keys);
    expect(await redis.target().get(runLockKey(''))).toBe(other);
  });

  it('stops after the page during which another run took the lock and released it, and does not take it again', async () => {
    const { seeded } = await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer(), provider);
    let lost: Promise<unknown> | undefined;
    // After the first page, the renewal on the target waits until the lock expired, another run took it and released it.
    const losing: ConnectionProvider = {
      get: async (name) => {
        const c = await provider.get(name);
        return name === 'target' ? { ...c, redis: interferingRedis(c.redis, async () => void (await lost)) } : c;
      },
    };
    const lose = () =>
      (lost ??= expireLock(redis.target())
        .then(() => RunLock.acquire(redis.target(), '', { runId: 'other', operation: 'reroute' }, 60_000, 'target'))
        .then(() => RunLock.releaseIfHeld(redis.target(), '', 'other')));
    const told: unknown[] = [];

    const after = await pageStep({ settings: plan.settings, item: plan.work.batch[1]! }, losing, { ...budget, onPage: () => void lose(), onFailureAfterProgress: (error) => told.push(error) });

    expect(told).toHaveLength(1);
    expect(told[0]).toBeInstanceOf(FatalError);
    expect((told[0] as Error).message).toBe('Run run-1 lost its run lock during queue old (another run took it, or it expired and is gone); stopping (nothing is lost: the next run resumes).');
    expect(after).toMatchObject({ done: false, counters: { written: 5 } });
    expect(await lockOf(redis.target())).toBeNull();
    await expect(pageStep({ settings: plan.settings, item: after }, provider, budget)).rejects.toBeInstanceOf(RunLockLostError);
    const [source, target] = [await jobsIn(redis.source()), await jobsIn(redis.target())];
    expect(target).toHaveLength(5);
    expect([...source, ...target].map((e) => e.split('\t')[1]).sort()).toEqual(seeded.map((e) => e.split('\t')[1]).sort());
  });

  it('a page task whose lock expired while nobody took it goes on, and renews the lock', async () => {
    const { rerouted } = await seed(redis.source());
    const provider = connect();
    const plan = await planStep(reroute(), provider);
    await expireLock(redis.source());

    for (const item of plan.work.batch) await finish(plan, item, provider);

    expect(await jobsIn(redis.source())).toEqual(rerouted);
    const lock = await lockOf(redis.source());
    expect(lock).toMatchObject({ runId: 'run-1', plannedAt: plan.settings.plannedAt });
    expect(Number(lock!['expiresAt'])).toBeGreaterThan(Date.now() + RUN_LOCK_TTL_MS - 60_000);
  });

  it('refuses to page while another run holds the lock, moving nothing', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(reroute(), provider);
    await RunLock.releaseIfHeld(redis.source(), '', 'run-1');
    await RunLock.acquire(redis.source(), '', { runId: 'other', operation: 'transfer' }, 60_000, 'source');
    const before = await jobsIn(redis.source());

    await expect(pageStep({ settings: plan.settings, item: plan.work.batch[1]! }, provider, budget)).rejects.toBeInstanceOf(RunLockedError);
    expect(await jobsIn(redis.source())).toEqual(before);
    expect(await lockOf(redis.source())).toMatchObject({ runId: 'other' });
  });
});

describe('adding up a batch', () => {
  it('folds the results, reads the next batch, and ends when the list does', async () => {
    await seed(redis.source());
    const provider = connect();
    for (let i = 0; i < 12; i++) await redis.source().rpush(`queue:q${String(i).padStart(2, '0')}`, sidekiqPayload({ className: 'A', queue: `q${i}` }));
    const plan = await planStep(reroute({ sets: [] }), provider);
    expect(plan.work).toMatchObject({ next: 10, more: true });
    const results = plan.work.batch.map((i) => ({ kind: i.kind, name: i.name, counters: { ...emptyCounters(), moved: 1 }, done: true }));

    const next = await addUpStep({ settings: plan.settings, work: plan.work, results }, provider);

    expect(next).toMatchObject({ next: null, more: true, batches: 1 });
    // Sets first, then the queues in name order: old, q00 … q08 in the first batch.
    expect(next.batch.map((i) => i.name)).toEqual(['q09', 'q10', 'q11']);
    expect(next.tally.totals).toMatchObject({ moved: 10 });
    expect(next.tally.counts).toMatchObject({ finished: 10 });

    const last = await addUpStep({ settings: plan.settings, work: next, results: [] }, provider);
    expect(last).toEqual({ batch: [], next: null, more: false, batches: 2, tally: next.tally });
    // A position past the end of the list (a continued list that ended): nothing more.
    expect(await addUpStep({ settings: plan.settings, work: { ...next, next: 13 }, results: [] }, provider)).toMatchObject({ batch: [], more: false });
  });

  it('hands the rest of the list to a new execution after the last batch an execution runs', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(reroute(), provider);
    const work = { ...plan.work, next: 1, batches: BATCHES_PER_EXECUTION - 1 };

    const handed = await addUpStep({ settings: plan.settings, work, results: [] }, provider);

    // Named here: the state machine starts it under this name, the same on a retried start.
    expect(handed).toEqual({ batch: [], next: 1, more: false, batches: BATCHES_PER_EXECUTION, continueAt: 1, continueAs: continuationExecutionName(plan.settings, 'list', 'list:1'), tally: plan.work.tally });
    expect(await executionsOf(redis.source())).toEqual({ root: '1', 'list:1': '1' });
    const before = BATCHES_PER_EXECUTION - 2;
    expect(await addUpStep({ settings: plan.settings, work: { ...work, batches: before }, results: [] }, provider)).toMatchObject({ batches: before + 1, more: true, next: null });

    const dry = await planStep(reroute({ runId: 'dry', dryRun: true }), provider);
    await addUpStep({ settings: dry.settings, work: { ...dry.work, next: 1, batches: BATCHES_PER_EXECUTION }, results: [] }, provider);
    expect(await executionsOf(redis.source(), 'dry')).toEqual({});
  });

  it("retires a transfer's ledgers of the items that ended, not of those that continue", async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer(), provider);
    for (const item of plan.work.batch) await finish(plan, item, provider);
    const ledgers = [ledgerKey('', 'run-1', 'schedule'), ledgerKey('', 'run-1', 'queue:old')];
    // A pass retires its own ledger at its end, before its count goes (retire-ledger.ts
    // retireBeforePassEnd); taken back here, as a pass killed before that step leaves them, to see
    // what the add-up does on its own.
    for (const key of ledgers) expect(await redis.target().ttl(key), String(key)).toBeGreaterThan(0);
    for (const key of ledgers) await redis.target().persist(key);
    const results = [
      { kind: 'set' as const, name: 'schedule', done: true, counters: emptyTransferCounters() },
      { kind: 'queue' as const, name: 'old', continuedIn: 'arn:next', counters: emptyTransferCounters() },
    ];

    // A dry run of the same run id writes nothing, not even a TTL.
    await addUpStep({ settings: { ...plan.settings, dryRun: true }, work: plan.work, results }, provider);
    for (const key of ledgers) expect(await redis.target().ttl(key), String(key)).toBe(-1);

    await addUpStep({ settings: plan.settings, work: plan.work, results }, provider);

    expect(await redis.target().ttl(ledgers[0]!)).toBeGreaterThan(0);
    expect(await redis.target().ttl(ledgers[1]!)).toBe(-1);
    await addUpStep({ settings: plan.settings, work: plan.work, results: [{ ...results[1]!, continuedIn: undefined }] }, provider);
    expect(await redis.target().ttl(ledgers[1]!)).toBeGreaterThan(0);
  });
});

describe('summarizing an execution', () => {
  it('the last execution of the run deletes its list and releases the lock; an earlier one keeps both', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer(), provider);
    await planStep({ continuation: { settings: plan.settings, list: { next: 1 } } }, provider);
    const tally = emptyTally('transfer');

    const root = await summarizeStep({ settings: plan.settings, execution: 'root', tally, resumed: plan.resumed }, provider);
    expect(root).toMatchObject({ runId: 'run-1', mode: 'transfer', dryRun: false, releasedLock: false, complete: true, resumed: plan.resumed });
    expect(await redis.source().exists(workListKey('', 'run-1'))).toBe(1);
    expect(await lockOf(redis.target())).toMatchObject({ runId: 'run-1' });

    const last = await summarizeStep({ settings: plan.settings, execution: 'list:1', tally }, provider);
    expect(last.releasedLock).toBe(true);
    expect(last).not.toHaveProperty('resumed');
    expect(await redis.source().exists(workListKey('', 'run-1'), runLockKey(''), runExecutionsKey('', 'run-1'))).toBe(0);
    expect(await redis.target().exists(runLockKey(''))).toBe(0);
  });

  it('a transfer whose target lost its data after its last page (restarted empty, flushed) is not complete: the summary says the target lost what the run wrote there', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer(), provider);
    const targetId = (await redis.target().get('sidekiq-migrate:target-id'))!;
    expect(plan.settings.targetId).toBe(targetId);
    await redis.target().flushall();

    const summary = await summarizeStep({ settings: plan.settings, execution: 'root', tally: emptyTally('transfer') }, provider);

    expect(summary.complete).toBe(false);
    const where = connectionName(provider, 'target');
    expect(summary.failures).toEqual([
      {
        kind: 'execution',
        name: 'run-1',
        error:
          `TargetLostDataError: The target ${await where} lost its data during run run-1: the target id ${targetId} its plan found there is gone (it restarted without persistence, was flushed, or failed over to a replica that had not received it). ` +
          'The jobs this run had written there and acknowledged on the source are gone from it: restore it from a backup if there is one. This step wrote nothing there. ' +
          'To move the rest to it as it is now, run the same command again: it names the jobs still in flight for the lost data, and how to write them there.',
      },
    ]);
    // The page that comes after it says so too, before it takes a lock or writes anything.
    const item = { kind: 'set' as const, name: 'schedule', cursor: null, iteration: 0, counters: emptyTransferCounters() } as unknown as WorkItem;
    await expect(pageStep({ settings: plan.settings, item }, provider, budget)).rejects.toThrow(
      `The target ${await where} lost its data (its target id ${targetId} is gone: restarted empty, flushed or failed over); any job this run had written there and acknowledged before the loss went with it. This step wrote nothing.`,
    );
    expect(await redis.target().keys('*')).toEqual([]);
  });

  it('counts jobs that reached source queues it listed no item for (all in the totals) and names the 20 largest, so that its output stays small', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer(), provider);
    // After the plan, 25 queues Sidekiq knows get jobs back (a fetcher's shutdown requeue): q0 1 job … q24 25.
    for (let i = 0; i < 25; i++) {
      await redis.source().sadd('queues', `q${i}`);
      await redis.source().rpush(`queue:q${i}`, ...Array.from({ length: i + 1 }, (_, j) => `{"class":"A","queue":"q${i}","args":[${j}]}`));
    }

    const summary = await summarizeStep({ settings: plan.settings, execution: 'root', tally: emptyTally('transfer') }, provider);

    expect((summary.totals as TransferCounters).leftOnSource).toBe((25 * 26) / 2);
    const named = Object.keys(summary.queues).filter((q) => q.startsWith('q'));
    expect(named.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `q${i + 5}`).sort());
    expect(summary.queues['q24']).toMatchObject({ leftOnSource: 25 });
  });

  it('a dry run of the same run id ends no execution and deletes no list of the real run', async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer(), provider);

    const summary = await summarizeStep({ settings: { ...plan.settings, dryRun: true }, execution: 'root', tally: emptyTally('transfer') }, provider);

    expect(summary.releasedLock).toBe(false);
    expect(await redis.source().exists(workListKey('', 'run-1'), runLockKey(''))).toBe(2);
    expect(await executionsOf(redis.source())).toEqual({ root: '1' });
  });

  it('lists items by kind, counts a continued list, and names the quarantine lists left on a transfer source', async () => {
    await seed(redis.source());
    for (let i = 0; i < 22; i++) await redis.source().rpush(`sidekiq-migrate:quarantine:q${i}`, 'x');
    const provider = connect();
    const plan = await planStep(transfer({ dryRun: true }), provider);
    const tally = {
      ...emptyTally('transfer'),
      listed: [
        { kind: 'set' as const, name: 'schedule', counters: { ...emptyTransferCounters(), claimed: 3 } },
        { kind: 'queue' as const, name: 'old', counters: { ...emptyTransferCounters(), claimed: 12 } },
      ],
      counts: { finished: 2, failed: 0, continued: 0 },
      continuedIn: [{ kind: 'queue' as const, name: 'big', execution: 'arn:big' }],
      failures: [{ kind: 'set' as const, name: 'retry', error: 'boom' }],
      unlisted: 4,
      totals: { ...emptyTransferCounters(), claimed: 15 },
    };

    const summary = await summarizeStep({ settings: plan.settings, execution: 'root', tally, listContinuedIn: { executionArn: 'arn:rest' } }, provider);

    expect(summary).toMatchObject({
      dryRun: true,
      releasedLock: false,
      sets: { schedule: { claimed: 3 } },
      queues: { old: { claimed: 12 } },
      counts: { finished: 2, failed: 0, continued: 1 },
      continuedIn: [
        { kind: 'queue', name: 'big', execution: 'arn:big' },
        { kind: 'list', name: 'the rest of the sets and queues', execution: 'arn:rest' },
      ],
      failures: [{ kind: 'set', name: 'retry', error: 'boom' }],
      unlisted: 4,
      totals: { claimed: 15 },
      complete: false,
      leftOnSourceLists: 22,
    });
    expect(summary.leftOnSource).toHaveLength(20);
    expect(tally.counts.continued).toBe(0); // the input is not changed
    expect(tally.continuedIn).toHaveLength(1);
    const reroutePlan = await planStep(reroute({ dryRun: true }), provider);
    const rerouted = await summarizeStep({ settings: reroutePlan.settings, execution: 'root', tally: emptyTally('reroute'), resumed: emptyTransferCounters() }, provider);
    // A re-route names them too (the jobs in them all, which earlier runs may have put there).
    expect(rerouted).toMatchObject({ leftOnSourceLists: 22, quarantinedInLists: 22 });
    expect(rerouted.leftOnSource).toHaveLength(20);
    expect(rerouted).not.toHaveProperty('resumed');
    expect(rerouted.complete).toBe(true);
  });

  it('says nothing was there, and a failure makes it incomplete', async () => {
    const provider = connect();
    const plan = await planStep(reroute({ dryRun: true }), provider);
    const tally = { ...emptyTally('reroute'), counts: { finished: 0, failed: 1, continued: 0 } };
    const summary = await summarizeStep({ settings: plan.settings, execution: 'root', tally }, provider);
    expect(summary).toMatchObject({ nothingThere: true, complete: false });
  });

  it("releases the run's lock on both ends, only where it holds it, and not for a dry run", async () => {
    await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer(), provider);
    expect(await releaseLockStep({ settings: { ...plan.settings, dryRun: true } }, provider)).toEqual({ released: false });
    expect(await redis.target().exists(runLockKey(''))).toBe(1);
    await RunLock.releaseIfHeld(redis.source(), '', 'run-1');

    expect(await releaseLockStep(plan, provider)).toEqual({ released: true });
    expect(await redis.target().exists(runLockKey(''))).toBe(0);
    expect(await releaseLockStep(plan, provider)).toEqual({ released: false });
  });
});

describe('the failure path', () => {
  it("stops the run: a page Lambda of the failed execution still running moves nothing more and does not take the lock again", async () => {
    const { seeded } = await seed(redis.source());
    const provider = connect();
    const plan = await planStep(transfer({ pagesPerInvocation: 1 }), provider);

    expect(await releaseAfterFailureStep(plan, provider)).toEqual({ released: true });

    await expect(pageStep({ settings: plan.settings, item: plan.work.batch[1]! }, provider, budget)).rejects.toThrow(RunStoppedError);
    expect(await redis.source().exists(runLockKey(''))).toBe(0);
    expect(await redis.target().exists(runLockKey(''))).toBe(0);
    expect(await jobsIn(redis.source())).toEqual(seeded);
    // Run again under the same id, it resumes: its plan clears the marker.
    const again = await planStep(transfer(), provider);
    expect((await finish(again, again.work.batch[1]!, provider)).counters).toMatchObject({ written: 12 });
  });
});

describe('stopping a run on two ends', () => {
  it('marks it where nothing newer holds the lock, even when a newer execution holds the other end', async () => {
    await seed(redis.source());
    const provider = connect();
    await planStep(transfer(), provider);
    const { plannedAt } = (await lockOf(redis.source())) as { plannedAt: number };
    // The source is held by the run's newer execution; the target's lock is gone.
    await RunLock.releaseIfHeld(redis.target(), '', 'run-1');

    const result = await stopRunStep({ runId: 'run-1', source: 'source', target: 'target', dryRun: false }, provider, { endedAt: plannedAt - 1_000 });

    expect(result).toEqual({ marked: true, released: false, superseded: true });
    expect(await redis.source().exists(runStopMarkerKey('', 'run-1'))).toBe(0);
    expect(await redis.target().exists(runStopMarkerKey('', 'run-1'))).toBe(1);
    expect(await lockOf(redis.source())).toMatchObject({ runId: 'run-1', plannedAt });
  });
});
