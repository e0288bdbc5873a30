import { afterEach, describe, expect, it, vi } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { MAX_ITERATIONS } from '../../core/workflow/workflow-input.js';
import { MAX_QUEUE_NAME_BYTES } from '../../core/routing/queue-name-bytes.js';
import { AWS_QUOTAS, QuotaErrors } from '../../infra/local/aws-quotas.js';
import { StateNames, type WorkflowFunctionName } from '../../infra/constructs/state-names.js';
import { runWorkflowLocally, type LocalEvent, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { jidOf, sidekiqPayload } from '../support/sidekiq-jobs.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';

// Each of Step Functions' and Lambda's quotas, as the local runner enforces them: where AWS
// fails an execution, the local execution fails the same way, before any further task runs.
const redis = privateSourceAndTarget();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
});

function handlers(): LocalHandlers {
  connections = new UrlConnections({ source: { url: redis.urls().source } });
  return localTaskHandlers(connections);
}

async function seedQueue(jobs: number): Promise<string[]> {
  const payloads = Array.from({ length: jobs }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  await redis.source().rpush('queue:old', ...payloads);
  await redis.source().sadd('queues', 'old');
  return payloads.map((p) => jidOf(p));
}

const reroute = (extra: Record<string, unknown> = {}) => ({ runId: 'q-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, sets: [], ...extra });

/** Records which handlers ran, so that a test can say what did not run after a failure. */
function recording(inner: LocalHandlers, calls: string[]): LocalHandlers {
  const out = {} as Record<WorkflowFunctionName, (input: unknown) => Promise<unknown>>;
  for (const [name, handler] of Object.entries(inner) as [WorkflowFunctionName, (input: unknown) => Promise<unknown>][]) {
    out[name] = (input) => {
      calls.push(name);
      return handler(input);
    };
  }
  return out;
}

describe('the local runner enforces AWS quotas', () => {
  it('fails the Map, not the execution, when a page task result inside a Map child passes 256 KiB: the Map Catch takes States.ExceedToleratedFailureThreshold and releases the lock, as on AWS', async () => {
    await seedQueue(3);
    const calls: string[] = [];
    const real = handlers();
    const bloated = recording({ ...real, rerouteQueueSlice: async (input) => ({ ...((await real.rerouteQueueSlice(input)) as object), padding: 'x'.repeat(AWS_QUOTAS.stateBytes) }) }, calls);
    const events: LocalEvent[] = [];

    const executions = await runWorkflowLocally(reroute(), bloated, { retryIntervalMs: 0, onEvent: (_, e) => events.push(e) });

    // On AWS the child execution fails with States.DataLimitExceeded (its own Catch on States.ALL
    // cannot take it); the Distributed Map, tolerating no failed item, fails with
    // States.ExceedToleratedFailureThreshold, which the Map's Catch takes: the lock is released.
    expect(executions).toHaveLength(1);
    expect(executions[0]!.error).toMatchObject({ name: QuotaErrors.mapRunFailed, message: expect.stringContaining(`${QuotaErrors.dataLimitExceeded}: The state/task 'Re-route a slice of the queue' result is`) });
    expect(calls).toEqual(['plan', 'rerouteQueueSlice', 'releaseLock']);
    expect(events.some((e) => e.type === 'StateEntered' && e.state?.name === StateNames.itemFailed)).toBe(false);
    expect(events.some((e) => e.type === 'StateEntered' && e.state?.name === StateNames.failed)).toBe(true);
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
  });

  it('still fails the execution itself with States.DataLimitExceeded when a task result outside the Map passes 256 KiB: no Catch runs', async () => {
    await seedQueue(3);
    const calls: string[] = [];
    const real = handlers();
    const bloated = recording({ ...real, plan: async (input) => ({ ...((await real.plan(input)) as object), padding: 'x'.repeat(AWS_QUOTAS.stateBytes) }) }, calls);

    const executions = await runWorkflowLocally(reroute(), bloated, { retryIntervalMs: 0 });

    expect(executions[0]!.error).toMatchObject({ name: QuotaErrors.dataLimitExceeded, message: expect.stringContaining("'Plan migration' result") });
    expect(calls).toEqual(['plan']);
  });

  it("hands the state machine a task's result as Lambda does, as JSON: a Date becomes its string, an undefined member is gone", async () => {
    await seedQueue(1);
    const real = handlers();
    const dated: LocalHandlers = { ...real, plan: async (input) => ({ ...((await real.plan(input)) as object), plannedAt: new Date(0), gone: undefined }) };
    const planned: unknown[] = [];

    const executions = await runWorkflowLocally(reroute(), dated, { retryIntervalMs: 0, onEvent: (_, e) => void (e.type === 'StateExited' && e.state?.name === StateNames.plan && planned.push((e.state as { output?: unknown }).output)) });

    expect(executions[0]!.error).toBeUndefined();
    const plan = (planned[0] as { plan: Record<string, unknown> }).plan;
    expect(plan['plannedAt']).toBe('1970-01-01T00:00:00.000Z');
    expect('gone' in plan).toBe(false);
  });

  it('fails the execution with States.DataLimitExceeded when a state input passes 256 KiB (the execution input)', async () => {
    const calls: string[] = [];
    const mapping = Object.fromEntries(Array.from({ length: 9_000 }, (_, i) => [`Some::Rather::Long::Worker::Name${i}`, 'default']));

    const executions = await runWorkflowLocally(reroute({ routing: { kind: 'mapping', mapping } }), recording(handlers(), calls), { retryIntervalMs: 0 });

    expect(executions[0]!.error).toMatchObject({ name: QuotaErrors.dataLimitExceeded, message: expect.stringContaining("'Plan migration' input") });
    expect(calls).toEqual([]);
  });

  it('settles the task it stops at a passed quota: none of its timers is left to keep a CLI process alive (one waited a minute)', async () => {
    const mapping = Object.fromEntries(Array.from({ length: 9_000 }, (_, i) => [`Some::Rather::Long::Worker::Name${i}`, 'default']));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const executions = await runWorkflowLocally(reroute({ routing: { kind: 'mapping', mapping } }), handlers(), { retryIntervalMs: 0 });

      expect(executions[0]!.error).toMatchObject({ name: QuotaErrors.dataLimitExceeded });
      await new Promise((resolve) => setImmediate(resolve));
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets a task run past 60 s, as AWS does: a Task state that names no timeout has none there (the emulator would fail it with States.Timeout)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let planning: () => void = () => {};
      const planned = new Promise<void>((resolve) => (planning = resolve));
      const slowPlan: LocalHandlers = {
        ...handlers(),
        plan: () => {
          const done = new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error('planned for 61 s'), { name: 'InvalidInputError' })), 61_000));
          planning();
          return done;
        },
      };

      const running = runWorkflowLocally(reroute(), slowPlan, { retryIntervalMs: 0 });
      await planned;
      await vi.advanceTimersByTimeAsync(61_000);
      const executions = await running;

      expect(executions[0]!.error).toEqual({ name: 'InvalidInputError', message: 'planned for 61 s' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts the history events Step Functions records: a Distributed Map is 6 in its parent (Entered, Started, its Map Run started and succeeded, Succeeded, Exited), as many as the batch arithmetic assumes', async () => {
    await seedQueue(3);

    const executions = await runWorkflowLocally(reroute(), handlers(), { retryIntervalMs: 0 });

    expect(executions.map((e) => e.error)).toEqual([undefined]);
    // ExecutionStarted 1, Plan migration 5, Any sets or queues left? 2, the Map 6, Add up… 5,
    // Any sets or queues left? 2, Summarize 5, ExecutionSucceeded 1 (the Map counted 4 before:
    // MapStateStarted and MapStateSucceeded were left out, 2 events a batch, 680 an execution).
    expect(executions[0]!.usage!.historyEvents).toBe(1 + 5 + 2 + 6 + 5 + 2 + 5 + 1);
    // The item's child execution: ExecutionStarted, Choose 2, the page task 5, Is this item done? 2, Item finished 2, ExecutionSucceeded.
    expect(executions[0]!.usage!.largestChildHistory).toBe(1 + 2 + 5 + 2 + 2 + 1);
  });

  it("fails the item's child execution, and so the Map, when the start of its continuation passes 256 KiB, as Step Functions fails the task's parameters: no execution is started", async () => {
    await seedQueue(5);
    const real = handlers();
    // The page's item grown to just below 256 KiB with the settings beside it: the state fits, the
    // continuation's input (the same, wrapped, and the execution it continues) does not.
    const grown: LocalHandlers = {
      ...real,
      rerouteQueueSlice: async (input) => {
        const { settings } = input as { settings: unknown };
        const item = { ...((await real.rerouteQueueSlice(input)) as object), pad: '' };
        const pad = AWS_QUOTAS.stateBytes - 20 - Buffer.byteLength(JSON.stringify({ settings, item }));
        return { ...item, pad: 'x'.repeat(pad) };
      },
    };

    const executions = await runWorkflowLocally(reroute({ pageSize: 1, pagesPerInvocation: 1, maxIterations: 1 }), grown, { retryIntervalMs: 0 });

    expect(executions).toHaveLength(1);
    expect(executions[0]!.error).toMatchObject({ name: QuotaErrors.mapRunFailed, message: expect.stringContaining(`${QuotaErrors.dataLimitExceeded}: The state/task '${StateNames.continueAsNew}' parameters is`) });
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
  });

  it('fails the Map when a child execution\'s history passes 25,000 events (an item that never reaches its loop cap): the Catch releases the lock', async () => {
    await seedQueue(1);
    const real = handlers();
    let pages = 0;
    const calls: string[] = [];
    // A page step that never finishes and never counts its loops: the cap cannot save it.
    const endless = recording({ ...real, rerouteQueueSlice: (input) => Promise.resolve({ ...(input as { item: object }).item, iteration: 0, done: false, pages: ++pages }) }, calls);

    const executions = await runWorkflowLocally(reroute(), endless, { retryIntervalMs: 0 });

    expect(executions[0]!.error).toMatchObject({ name: QuotaErrors.mapRunFailed, message: expect.stringContaining(`${QuotaErrors.historyLimitExceeded}: A Distributed Map child execution's history passed 25000 events`) });
    expect(executions[0]!.usage!.largestChildHistory).toBeGreaterThan(AWS_QUOTAS.historyEvents);
    // 9 events a loop (two Choices, a Task): the loop was stopped at its 2,778th page.
    expect(pages).toBeLessThanOrEqual(Math.ceil(AWS_QUOTAS.historyEvents / 9) + 1);
    expect(calls.at(-1)).toBe('releaseLock');
    expect(calls).not.toContain('summarize');
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
  });

  it("stops a function at its template timeout: the task fails with Sandbox.Timedout and the Catch takes it", async () => {
    await seedQueue(2);
    const real = handlers();
    let late: Promise<unknown> = Promise.resolve();
    // A handler that ignores its time (no middy): it goes on after the timeout, as a process would.
    const slow: LocalHandlers = { ...real, plan: (input) => (late = new Promise((resolve) => setTimeout(resolve, 2_000)).then(() => real.plan(input))) };

    const executions = await runWorkflowLocally(reroute(), slow, { retryIntervalMs: 0, functionTimeoutMs: { plan: 100 } });

    expect(executions[0]!.error).toMatchObject({ name: QuotaErrors.functionTimedOut, message: 'Task timed out after 0.10 seconds' });
    // Its late plan takes the run lock: ended here, not during the next test.
    await late.catch(() => {});
  });

  it("gives up a page task at middy's early timeout, as every deployed handler does: a RetryableError, retried, and the timed-out invocation does nothing more", async () => {
    const jids = await seedQueue(2500);
    const real = handlers();
    let calls = 0;
    const stalled: LocalHandlers = {
      ...real,
      // The first page stalls on a paused server (its writes wait in Redis) past the function's
      // timeout: paused until the state machine saw that attempt fail, not for a fixed time, so
      // that the pause takes that attempt only, whatever the machine's load. (It was 800 ms at a
      // 300 ms timeout: the pause took up to three of the page's seven attempts, and attempts
      // slowed by 280 ms, as a loaded machine can, ran out of the rest: the item failed.)
      rerouteQueueSlice: async (input, context) => {
        if (calls++ === 0) await redis.source().call('client', 'pause', '60000', 'WRITE');
        return real.rerouteQueueSlice(input, context);
      },
    };
    const retried: unknown[] = [];
    let unpaused: Promise<unknown> | undefined;
    const onEvent = (_: string, event: { type: string } & Record<string, unknown>) => {
      if (event.type !== 'StateFailed') return;
      retried.push(event['Error']);
      unpaused ??= redis.source().call('client', 'unpause');
    };

    let executions: Awaited<ReturnType<typeof runWorkflowLocally>>;
    try {
      // 1.5 s a task: time enough for a page of 1,000 jobs on a loaded machine, once the stalled attempt has timed out.
      executions = await runWorkflowLocally(reroute({ pageSize: 1000 }), stalled, { retryIntervalMs: 0, functionTimeoutMs: { rerouteQueueSlice: 1_500 }, onEvent });
    } finally {
      await (unpaused ?? redis.source().call('client', 'unpause'));
    }

    // On AWS the handler's middy gives up 5 ms before Lambda would stop it, as a RetryableError
    // (functions/support/task-error.ts), which the definition retries: never Sandbox.Timedout.
    expect(executions.map((e) => e.error)).toEqual([undefined]);
    const summary = executions[0]!.output as RunSummary;
    expect(summary).toMatchObject({ complete: true, failures: [], releasedLock: true });
    expect(retried.length).toBeGreaterThan(0);
    expect(new Set(retried)).toEqual(new Set(['RetryableError']));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Every job moved once: the page in flight at the timeout ended in Redis, the retry did the rest.
    expect(await redis.source().llen('queue:old')).toBe(0);
    expect((await redis.source().lrange('queue:new', 0, -1)).map((p) => jidOf(p)).sort()).toEqual([...jids].sort());
    // The timed-out invocations took the run lock no more after the execution released it.
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
  });

  it('runs one invocation at a time per warm container, starting more containers for concurrent items', async () => {
    for (const q of ['a', 'b', 'c', 'd']) {
      await redis.source().rpush(`queue:${q}`, ...Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: q, args: `[${i}]` })));
      await redis.source().sadd('queues', q);
    }
    const real = handlers();
    let overlapping = 0;
    const started = new Map<WorkflowFunctionName, number>();
    const newContainer = (name: WorkflowFunctionName) => {
      started.set(name, (started.get(name) ?? 0) + 1);
      let active = 0;
      return async (input: unknown) => {
        if (++active > 1) overlapping++;
        try {
          return await real[name](input);
        } finally {
          active--;
        }
      };
    };

    const executions = await runWorkflowLocally(reroute({ pageSize: 1, pagesPerInvocation: 1 }), real, { retryIntervalMs: 0, newContainer });

    expect((executions[0]!.output as RunSummary).complete).toBe(true);
    expect(overlapping).toBe(0);
    expect(started.get('rerouteQueueSlice')).toBeGreaterThan(1);
    expect(started.get('plan')).toBe(1);
    expect(await redis.source().llen('queue:new')).toBe(20);
  });

  it(`runs an item at maxIterations = ${MAX_ITERATIONS}, every page retried as often as the definition allows, below 25,000 events, and continues it`, async () => {
    const jids = await seedQueue(MAX_ITERATIONS + 3);
    const real = handlers();
    let attempts = 0;
    // Each page fails 6 times as retryable, 6 times as a Lambda service error, 8 times throttled, then runs.
    const flaky: LocalHandlers = {
      ...real,
      rerouteQueueSlice: (input) => {
        const n = attempts++ % 21;
        if (n < 20) return Promise.reject(Object.assign(new Error('flaky'), { name: n < 6 ? 'RetryableError' : n < 12 ? 'Lambda.ServiceException' : 'Lambda.TooManyRequestsException' }));
        return real.rerouteQueueSlice(input);
      },
    };

    const executions = await runWorkflowLocally(reroute({ pageSize: 1, pagesPerInvocation: 1, maxIterations: MAX_ITERATIONS }), flaky, { retryIntervalMs: 0 });

    expect(executions.map((e) => e.error)).toEqual([undefined, undefined]);
    const child = executions[0]!.usage!.largestChildHistory;
    console.log(`an item at maxIterations ${MAX_ITERATIONS} with 20 retries a page: ${child} history events`);
    expect(child).toBeGreaterThan(24_000);
    expect(child).toBeLessThan(AWS_QUOTAS.historyEvents);
    expect(await redis.source().llen('queue:new')).toBe(MAX_ITERATIONS + 3);
    expect((await redis.source().lrange('queue:new', 0, -1)).map((p) => jidOf(p)).sort()).toEqual(jids.sort());
    // (Before, it went on for its whole 60 s budget: all 2,500 moved after the summary counted them
    // as left, and its renewals took the released run lock again, blocking the next run 20 minutes.)
  });

  it('keeps a batch below 256 KiB when each of its ten items moves jobs to fifty destinations named with 512 bytes, the longest a run takes', async () => {
    // Each item's counters named its first 50 destinations, whatever their length: ten queues each
    // moving jobs to 51 queues named with 512 bytes made the Map's output 267,126 bytes, and the
    // execution failed with States.DataLimitExceeded after its pages had moved every job.
    const destination = (c: number) => `${String(c).padStart(3, '0')}${'x'.repeat(MAX_QUEUE_NAME_BYTES - 3)}`;
    const mapping = Object.fromEntries(Array.from({ length: 51 }, (_, c) => [`C${c}`, destination(c)]));
    const jids = new Map<string, string[]>();
    for (let q = 0; q < 10; q++) {
      const jobs = Array.from({ length: 51 }, (_, c) => sidekiqPayload({ className: `C${c}`, queue: `q${q}`, args: `[${q}]` }));
      await redis.source().rpush(`queue:q${q}`, ...jobs);
      await redis.source().sadd('queues', `q${q}`);
      jobs.forEach((job, c) => jids.set(destination(c), [...(jids.get(destination(c)) ?? []), jidOf(job)]));
    }

    const executions = await runWorkflowLocally(reroute({ routing: { kind: 'mapping', mapping } }), handlers(), { retryIntervalMs: 0 });

    expect(executions.map((e) => e.error)).toEqual([undefined]);
    expect(executions[0]!.usage!.largestStateBytes).toBeLessThan(AWS_QUOTAS.stateBytes);
    const summary = executions[0]!.output as RunSummary;
    expect(summary).toMatchObject({ complete: true, failures: [], totals: { moved: 510 } });
    const movedTo = (summary.totals as { movedTo: Record<string, number> }).movedTo;
    expect(Object.values(movedTo).reduce((a, b) => a + b, 0)).toBe(510);
    expect(movedTo['(other queues)']).toBeGreaterThan(0);
    for (let q = 0; q < 10; q++) expect(await redis.source().exists(`queue:q${q}`)).toBe(0);
    for (const [queue, expected] of jids) expect((await redis.source().lrange(`queue:${queue}`, 0, -1)).map((p) => jidOf(p)).sort()).toEqual(expected.sort());
  });

  it('keeps a batch below 256 KiB in a selective transfer of fifty long class names out of ten queues named with 512 bytes', async () => {
    // Each item's counters named every selected class it took, with its source key: fifty classes
    // of 404 characters out of ten queues named with 512 bytes made the Map's output 488,041
    // bytes, and the execution failed with States.DataLimitExceeded after moving every job.
    const className = (c: number) => `C${String(c).padStart(3, '0')}${'K'.repeat(400)}`;
    const queue = (q: number) => `q${q}${'n'.repeat(MAX_QUEUE_NAME_BYTES - 2)}`;
    const jobs: string[] = [];
    for (let q = 0; q < 10; q++) {
      const these = Array.from({ length: 51 }, (_, c) => sidekiqPayload({ className: className(c), queue: queue(q), args: `[${q}]` }));
      await redis.source().rpush(`queue:${queue(q)}`, ...these);
      await redis.source().sadd('queues', queue(q));
      jobs.push(...these.map((job) => `${queue(q)} ${jidOf(job)}`));
    }
    connections = new UrlConnections({ source: { url: redis.urls().source }, target: { url: redis.urls().target } });

    const input = { runId: 'q-2', mode: 'transfer', target: 'target', classes: Array.from({ length: 51 }, (_, c) => className(c)), sets: [] };
    const executions = await runWorkflowLocally(input, localTaskHandlers(connections), { retryIntervalMs: 0 });

    expect(executions.map((e) => e.error)).toEqual([undefined]);
    expect(executions[0]!.usage!.largestStateBytes).toBeLessThan(AWS_QUOTAS.stateBytes);
    const summary = executions[0]!.output as RunSummary;
    expect(summary).toMatchObject({ complete: true, failures: [], totals: { claimed: 510, written: 510 } });
    const byClass = (summary.totals as { byClass: Record<string, Record<string, number>> }).byClass;
    expect(Object.values(byClass).flatMap((perKey) => Object.values(perKey)).reduce((a, b) => a + b, 0)).toBe(510);
    const onTarget: string[] = [];
    for (let q = 0; q < 10; q++) onTarget.push(...(await redis.target().lrange(`queue:${queue(q)}`, 0, -1)).map((job) => `${queue(q)} ${jidOf(job)}`));
    expect(onTarget.sort()).toEqual(jobs.sort());
    for (let q = 0; q < 10; q++) expect(await redis.source().exists(`queue:${queue(q)}`)).toBe(0);
  });

  it('keeps the state below 256 KiB when schedule, retry and dead keep entries naming sixty queues of 512-byte names nobody fetches: the summary names ten of the sixteen the totals name, and says the rest were not checked', async () => {
    // The set pages count the entries they leave in place by the queue they name
    // (RerouteCounters.unmappedNaming), which each set item's counters carry through the Map's
    // batches: bounded as the destinations are (fifty names, 8 KiB of them), whatever the names.
    const queue = (q: number) => `${String(q).padStart(3, '0')}${'s'.repeat(MAX_QUEUE_NAME_BYTES - 3)}`;
    const sets = ['schedule', 'retry', 'dead'] as const;
    const left: string[] = [];
    for (let q = 0; q < 60; q++) {
      for (const set of sets) {
        const removed = sidekiqPayload({ className: 'Removed', queue: queue(q), args: `[${q}]` });
        await redis.source().zadd(set, String(1_900_000_000 + q), removed);
        left.push(`${set} ${jidOf(removed)}`);
      }
    }
    await heartbeat(redis.source(), new SidekiqKeys(''), 'web:1:aaaaaaaaaaaa', ['new'], { beatAt: Math.floor(Date.now() / 1000) });

    const executions = await runWorkflowLocally(reroute({ sets: [...sets] }), handlers(), { retryIntervalMs: 0 });

    expect(executions.map((e) => e.error)).toEqual([undefined]);
    console.log(`schedule, retry and dead entries naming 60 queues of 512-byte names nobody fetches: largest state ${executions[0]!.usage!.largestStateBytes} bytes`);
    expect(executions[0]!.usage!.largestStateBytes).toBeLessThan(AWS_QUOTAS.stateBytes);
    const summary = executions[0]!.output as RunSummary;
    expect(summary).toMatchObject({ totals: { unmapped: 180 }, leftUnheardInSets: { liveProcesses: 1 } });
    // Each set's pages (read by score: queue 0 first) name its first sixteen queues (8 KiB of
    // names), three entries each in the totals; the other 132 entries are counted, not named.
    const found = summary.leftUnheardInSets!;
    expect(found).toEqual({ liveProcesses: 1, total: 16, queues: Array.from({ length: 10 }, (_, q) => ({ queue: queue(q), jobs: 3 })), unchecked: { jobs: 132 } });
    const still: string[] = [];
    for (const set of sets) still.push(...(await redis.source().zrange(set, '0', '-1')).map((job) => `${set} ${jidOf(job)}`));
    expect(still.sort()).toEqual(left.sort());
  });

  it('keeps a batch below 256 KiB in a selective transfer of fifty long class names out of ten long queues and the three sets, whose other classes\' entries name sixty queues of 512-byte names nobody on the source fetches', async () => {
    // A selective set pass counts the other classes' entries it leaves by the queue they name
    // (TransferCounters.unselectedNaming), beside its byClass and writtenTo: bounded as the
    // destinations are (fifty names, 8 KiB of them), whatever the names; the summary names ten.
    const className = (c: number) => `C${String(c).padStart(3, '0')}${'K'.repeat(400)}`;
    const queue = (q: number) => `q${q}${'n'.repeat(MAX_QUEUE_NAME_BYTES - 2)}`;
    const named = (q: number) => `${String(q).padStart(3, '0')}${'s'.repeat(MAX_QUEUE_NAME_BYTES - 3)}`;
    const sets = ['schedule', 'retry', 'dead'] as const;
    const taken: string[] = [];
    const left: string[] = [];
    for (let q = 0; q < 10; q++) {
      const these = Array.from({ length: 51 }, (_, c) => sidekiqPayload({ className: className(c), queue: queue(q), args: `[${q}]` }));
      await redis.source().rpush(`queue:${queue(q)}`, ...these);
      await redis.source().sadd('queues', queue(q));
      taken.push(...these.map((job) => `queue:${queue(q)} ${jidOf(job)}`));
    }
    for (const set of sets) {
      for (let c = 0; c < 51; c++) {
        const selected = sidekiqPayload({ className: className(c), queue: queue(0), args: `[${c}]` });
        await redis.source().zadd(set, String(1_800_000_000 + c), selected);
        taken.push(`${set} ${jidOf(selected)}`);
      }
      for (let q = 0; q < 60; q++) {
        const other = sidekiqPayload({ className: 'Other', queue: named(q), args: `[${q}]` });
        await redis.source().zadd(set, String(1_900_000_000 + q), other);
        left.push(`${set} ${jidOf(other)}`);
      }
    }
    await heartbeat(redis.source(), new SidekiqKeys(''), 'web:1:aaaaaaaaaaaa', ['default'], { beatAt: Math.floor(Date.now() / 1000) });
    connections = new UrlConnections({ source: { url: redis.urls().source }, target: { url: redis.urls().target } });

    const input = { runId: 'q-3', mode: 'transfer', target: 'target', classes: Array.from({ length: 51 }, (_, c) => className(c)) };
    const executions = await runWorkflowLocally(input, localTaskHandlers(connections), { retryIntervalMs: 0 });

    expect(executions.map((e) => e.error)).toEqual([undefined]);
    console.log(`selective transfer, other classes' set entries naming 60 queues of 512-byte names: largest state ${executions[0]!.usage!.largestStateBytes} bytes`);
    expect(executions[0]!.usage!.largestStateBytes).toBeLessThan(AWS_QUOTAS.stateBytes);
    const summary = executions[0]!.output as RunSummary;
    expect(summary).toMatchObject({ complete: true, failures: [], totals: { claimed: 663, written: 663 } });
    // Each set's pages (by score: queue 0 first) name its first sixteen queues (8 KiB of names).
    expect(summary.leftUnheardInSets).toEqual({ liveProcesses: 1, total: 16, queues: Array.from({ length: 10 }, (_, q) => ({ queue: named(q), jobs: 3 })), unchecked: { jobs: 132 } });
    const onTarget: string[] = [];
    for (let q = 0; q < 10; q++) onTarget.push(...(await redis.target().lrange(`queue:${queue(q)}`, 0, -1)).map((job) => `queue:${queue(q)} ${jidOf(job)}`));
    for (const set of sets) onTarget.push(...(await redis.target().zrange(set, '0', '-1')).map((job) => `${set} ${jidOf(job)}`));
    expect(onTarget.sort()).toEqual(taken.sort());
    const still: string[] = [];
    for (const set of sets) still.push(...(await redis.source().zrange(set, '0', '-1')).map((job) => `${set} ${jidOf(job)}`));
    expect(still.sort()).toEqual(left.sort());
    for (let q = 0; q < 10; q++) expect(await redis.source().exists(`queue:${queue(q)}`)).toBe(0);
  });

  it('keeps the state below 256 KiB when sixty queues named with 512 bytes each keep a job nobody fetches: the summary names ten, counts fifty, and says the ten past its tally were not checked', async () => {
    // The tally names the queues jobs were left in place on (run-tally.ts leftIn) for the summary
    // to ask whether anybody fetches from them: bounded, whatever the number and length of names.
    const queue = (q: number) => `${String(q).padStart(3, '0')}${'o'.repeat(MAX_QUEUE_NAME_BYTES - 3)}`;
    const left: string[] = [];
    for (let q = 0; q < 60; q++) {
      const removed = sidekiqPayload({ className: 'Removed', queue: queue(q), args: `[${q}]` });
      await redis.source().rpush(`queue:${queue(q)}`, sidekiqPayload({ className: 'A', queue: queue(q), args: `[${q}]` }), removed);
      await redis.source().sadd('queues', queue(q));
      left.push(`${queue(q)} ${jidOf(removed)}`);
    }
    // A live process listening to the new queue only.
    await heartbeat(redis.source(), new SidekiqKeys(''), 'web:1:aaaaaaaaaaaa', ['new'], { beatAt: Math.floor(Date.now() / 1000) });

    const executions = await runWorkflowLocally(reroute(), handlers(), { retryIntervalMs: 0 });

    expect(executions.map((e) => e.error)).toEqual([undefined]);
    console.log(`60 queues of 512-byte names, each with a job left where nobody fetches: largest state ${executions[0]!.usage!.largestStateBytes} bytes`);
    expect(executions[0]!.usage!.largestStateBytes).toBeLessThan(AWS_QUOTAS.stateBytes);
    const summary = executions[0]!.output as RunSummary;
    expect(summary).toMatchObject({ totals: { moved: 60, unmapped: 60 }, leftUnheard: { liveProcesses: 1, total: 50, unchecked: { queues: 10, jobs: 10 } } });
    expect(summary.leftUnheard!.queues).toHaveLength(10);
    const still: string[] = [];
    for (let q = 0; q < 60; q++) still.push(...(await redis.source().lrange(`queue:${queue(q)}`, 0, -1)).map((job) => `${queue(q)} ${jidOf(job)}`));
    expect(still.sort()).toEqual(left.sort());
    expect(await redis.source().llen('queue:new')).toBe(60);
  });
});
