import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RunLock } from '../../core/redis/run-lock.js';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { StateNames } from '../../infra/constructs/state-names.js';
import { runWorkflowLocally, type LocalEvent } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn, keyValueSnapshot } from '../support/exact-jobs.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { seedOldForReroute } from '../support/reroute-seed.js';

const redis = privateSourceAndTarget();
const { connect, closedAfterTest } = connectionsPerTest(redis);

/**
 * 40 queued jobs on `old`, 30 scheduled and 20 retrying entries naming `old`, one unmapped, one
 * unparsable: 92. Returns them as seeded, and as a re-route to `new` of class A leaves them (only
 * the queue value of A's jobs changed, `queue:old`'s jobs on `queue:new`), as `jobEntry` prints them.
 */
async function seed(client: Redis): Promise<{ seeded: string[]; rerouted: string[] }> {
  const { seeded, rerouted } = await seedOldForReroute(client, (i) => `[${i},1.0]`, { namedInQueues: false });
  const gone = sidekiqPayload({ className: 'Gone', queue: 'old' });
  await client.lpush('queue:old', gone);
  await client.zadd('retry', '1', 'not json');
  for (const entry of [jobEntry('queue:old', gone), jobEntry('retry', 'not json', '1')]) {
    seeded.push(entry);
    rerouted.push(entry);
  }
  return { seeded: seeded.sort(), rerouted: rerouted.sort() };
}

const reroute = (extra: Record<string, unknown> = {}) => ({
  runId: 'wf-1',
  mode: 'reroute',
  routing: { kind: 'mapping', mapping: { A: 'new' } },
  pageSize: 10,
  ...extra,
});

async function run(input: Record<string, unknown>, onEvent?: (arn: string, e: LocalEvent) => void) {
  const executions = await runWorkflowLocally(input, localTaskHandlers(connect()), { onEvent, retryIntervalMs: 0 });
  const chain = executions.filter((e) => e.output).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary }));
  return { executions, summary: chain.length > 0 ? combineSummaries(chain) : undefined };
}

describe('the state machine, run locally against real Redis', () => {
  it('re-routes sets and queues, and releases the run lock', async () => {
    const { rerouted } = await seed(redis.source());

    const summary = (await run(reroute())).summary!;

    expect(summary).toMatchObject({ complete: true, failures: [], totals: { moved: 90, unmapped: 1, unparsable: 1 } });
    expect(summary.queues['old']).toMatchObject({ moved: 40, unmapped: 1 });
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
    expect(await jobsIn(redis.source())).toEqual(rerouted);
  });

  it('transfers to the target, every job exactly once', async () => {
    const { seeded } = await seed(redis.source());

    const summary = (await run({ runId: 'wf-2', mode: 'transfer', target: 'target', pageSize: 7 })).summary!;

    expect(summary).toMatchObject({ complete: true, totals: { claimed: 92, written: 92, duplicates: 0 } });
    expect(await jobsIn(redis.target())).toEqual(seeded);
    expect(await jobsIn(redis.source())).toEqual([]);
  });

  it('a dry run reports and writes nothing, and takes no lock', async () => {
    await seed(redis.source());
    const before = await keyValueSnapshot(redis.source(), '');

    const summary = (await run(reroute({ dryRun: true }))).summary!;

    expect(summary).toMatchObject({ dryRun: true, complete: true, totals: { moved: 90 } });
    expect(await keyValueSnapshot(redis.source(), '')).toEqual(before);
  });

  it('survives a Redis outage in the middle: the page is retried, the run completes, nothing is lost', async () => {
    const { rerouted } = await seed(redis.source());
    const { source } = redis.urls();
    // Commands time out after 300 ms; retries wait 1 s; the server stays frozen until the state
    // machine has retried the page (no timer decides whether the outage was long enough).
    const connections = closedAfterTest(new UrlConnections({ source: { url: source, connect: { commandTimeoutMs: 300 } } }));
    let pages = 0;
    let retries = 0;
    let thaw: (() => void) | undefined;
    const frozen: Promise<void>[] = [];
    const handlers = localTaskHandlers(connections);
    // The second page task freezes the server (SIGSTOP) just before it runs: deterministic, where
    // reacting to the asynchronous event stream could come after a fast run had ended.
    const freezingHandlers = {
      ...handlers,
      rerouteQueueSlice: (input: unknown) => {
        if (++pages === 2) {
          process.kill(redis.pids().source, 'SIGSTOP');
          frozen.push(new Promise((resolve) => (thaw = () => resolve(void process.kill(redis.pids().source, 'SIGCONT')))));
        }
        return handlers.rerouteQueueSlice(input);
      },
    };
    const onEvent = (_arn: string, e: LocalEvent) => {
      if (e.type === 'StateRetried') {
        retries++;
        thaw?.();
        thaw = undefined;
      }
    };

    const executions = await runWorkflowLocally(reroute({ pagesPerInvocation: 1 }), freezingHandlers, { onEvent, retryIntervalMs: 1_000 });
    await Promise.all(frozen);

    const summary = executions[0]!.output as RunSummary;
    expect(retries).toBeGreaterThan(0);
    expect(summary.complete).toBe(true);
    // The page whose reply timed out still ran once Redis came back; its moves are done but not
    // counted (a failed page's counters are lost, never its jobs): count where the jobs are.
    expect((summary.totals as RerouteCounters).moved).toBeLessThanOrEqual(90);
    expect(await jobsIn(redis.source())).toEqual(rerouted);
  });

  it('continues long items in new executions, and the chain adds up', async () => {
    const { rerouted } = await seed(redis.source());

    const { executions, summary: combined } = await run(reroute({ pageSize: 3, pagesPerInvocation: 1, maxIterations: 4 }));
    const summary = combined!;

    expect(executions.length).toBeGreaterThan(2);
    expect(executions.slice(1).every((e) => e.continues)).toBe(true);
    expect(executions.every((e) => !e.error)).toBe(true);
    expect(summary.failures).toEqual([]);
    expect(summary).toMatchObject({ complete: true, continuedIn: [], totals: { moved: 90, unmapped: 1, unparsable: 1 } });
    expect(await jobsIn(redis.source())).toEqual(rerouted);
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
  });

  it('keeps the run lock while a continuation still runs: only the last execution to summarize releases it', async () => {
    await seed(redis.source());
    for (let i = 0; i < 41; i++) await redis.source().lpush('queue:older', sidekiqPayload({ className: 'A', queue: 'older', args: `[${i}]` }));
    await redis.source().sadd('queues', 'older');
    const handlers = localTaskHandlers(connect());
    // Both queues continue in new executions. The continuation of `older` waits until an
    // execution that has nothing left continuing (the end of `old`'s chain) has summarized, then
    // looks at the lock: that summary must not have released it.
    let oneChainEnded!: () => void;
    const chainEnded = new Promise<void>((resolve) => (oneChainEnded = resolve));
    let lockMeanwhile: string | null | undefined;
    let waited = false;
    const held: typeof handlers = {
      ...handlers,
      rerouteQueueSlice: async (input) => {
        const { item } = input as { item: { name: string; continues?: string } };
        if (item.name === 'older' && item.continues && !waited) {
          waited = true;
          await chainEnded;
          lockMeanwhile = await redis.source().get('sidekiq-migrate:lock');
        }
        return handlers.rerouteQueueSlice(input);
      },
    };
    const onEvent = (_arn: string, e: LocalEvent) => {
      const output = (e.state as { output?: RunSummary } | undefined)?.output;
      if (e.type === 'StateExited' && e.state?.name === StateNames.summarize && output?.continuedIn.length === 0) oneChainEnded();
    };

    const executions = await runWorkflowLocally(reroute({ sets: [], pageSize: 5, pagesPerInvocation: 1, maxIterations: 3 }), held, { onEvent, retryIntervalMs: 0 });

    expect(waited).toBe(true);
    expect(executions.every((e) => !e.error)).toBe(true);
    expect(JSON.parse(lockMeanwhile!)).toMatchObject({ runId: 'wf-1' });
    const summaries = executions.map((e) => e.output as RunSummary);
    expect(summaries.filter((s) => s.releasedLock)).toHaveLength(1);
    expect(summaries.at(-1)!.releasedLock).toBe(true);
    expect(await redis.source().exists('sidekiq-migrate:lock', 'sidekiq-migrate:wf-1:executions', 'sidekiq-migrate:wf-1:items')).toBe(0);
    expect(await redis.source().llen('queue:new')).toBe(40 + 41);
  }, 120_000);

  it('refuses to start while another run holds the lock, naming it, and moves nothing', async () => {
    await seed(redis.source());
    await RunLock.acquire(redis.source(), '', { runId: 'someone-else', operation: 'transfer' }, 60_000, 'source');
    const before = await keyValueSnapshot(redis.source());

    const { executions } = await run(reroute());

    expect(executions).toHaveLength(1);
    expect(executions[0]!.error?.message).toMatch(/locked by run someone-else \(transfer/);
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
  });

  it('takes three state transitions per loop iteration', async () => {
    await seed(redis.source());
    const entered = new Map<string, number>();

    await run(reroute({ sets: [], pageSize: 5, pagesPerInvocation: 1 }), (_arn, e) => {
      if (e.type === 'StateEntered' && e.state) entered.set(e.state.name, (entered.get(e.state.name) ?? 0) + 1);
    });

    const iterations = entered.get(StateNames.rerouteQueue)!;
    expect(iterations).toBe(9); // 41 jobs in slices of 5
    expect(entered.get(StateNames.chooseStep)).toBe(iterations);
    expect(entered.get(StateNames.itemDone)).toBe(iterations);
  });
});
