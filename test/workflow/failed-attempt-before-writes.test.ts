// A page task's attempt that failed before it sent anything that writes (its first read of the
// queue met a connection refused: Redis restarting), retried by the state machine, which then
// moved everything. The retry found the failed attempt's record (page-receipt.ts) and counted it
// as an attempt that may have moved jobs uncounted: the summary said "Counts may be short" and its
// verdict "(counts may be short …)", although that attempt cannot have moved a job. An attempt
// that fails before sending any write is now taken back; one that sent a write still counts.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import type { TransferCounters } from '../../core/transfer/transfer-counters.js';
import type { Connection, ConnectionProvider } from '../../core/workflow/connections.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { aroundScriptPipelines } from '../support/around-script-pipelines.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { interferingRedis, type RedisCall } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

/** `provider` with the source client wrapped: `before` runs ahead of each of its calls. */
function onSource(provider: ConnectionProvider, before: (call: RedisCall) => void): ConnectionProvider {
  return {
    ...provider,
    get: async (name: string): Promise<Connection> => {
      const c = await provider.get(name);
      return name === 'source' ? { ...c, redis: interferingRedis(c.redis, before) } : c;
    },
  };
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });

/** The first transfer-queue invocation runs with `firstProvider` (its failure is retried); the others as usual. */
function firstWith(provider: ConnectionProvider, firstProvider: ConnectionProvider): LocalHandlers & { first: () => boolean } {
  const real = localTaskHandlers(provider);
  const failing = localTaskHandlers(firstProvider);
  let calls = 0;
  return { ...real, transferQueue: (input, context) => (calls++ === 0 ? failing.transferQueue(input, context) : real.transferQueue(input, context)), first: () => calls > 1 };
}

async function seed(client: Redis): Promise<string[]> {
  const payloads = Array.from({ length: 20 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
  for (const p of payloads) await client.lpush('queue:q', p);
  await client.sadd('queues', 'q');
  return payloads.map((p) => jobEntry('queue:q', p)).sort();
}

describe('a page task whose first attempt failed before it wrote anything', () => {
  it('its retry moves everything, and the counts are not said to be short: "Complete"', async () => {
    const seeded = await seed(redis.source());
    const provider = connect();
    // The attempt's first read of the queue (its length, which starts the pass, and the size probe:
    // one pipeline with no script, page-bytes.ts sizeAndBytesPerJob) is refused.
    let failed = 0;
    const handlers = firstWith(
      provider,
      onSource(provider, (call) => {
        if (call.command === 'pipeline' && call.scripts.length === 0 && failed++ === 0) throw refused();
      }),
    );

    const executions = await runWorkflowLocally({ runId: 'failed-before-writes', mode: 'transfer', target: 'target', pageSize: 7 }, handlers, { retryIntervalMs: 0 });

    expect(failed).toBe(1);
    expect(handlers.first()).toBe(true);
    expect(executions.map((e) => e.error)).toEqual([undefined]);
    const summary = executions[0]!.output as RunSummary;
    expect(await jobsIn(redis.target())).toEqual(seeded);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(summary.totals).toMatchObject({ claimed: 20, written: 20 });
    expect((summary.totals as TransferCounters).uncountedAttempts).toBeUndefined();
    const words = renderSummary(summary, 'redis://source', { width: 400 });
    expect(words).not.toContain('Counts may be short');
    expect(words).toContain('Complete: everything that could be moved was moved.');
  });

  it('an attempt that failed after sending its first write (its reply lost) still counts: "counts may be short"', async () => {
    const seeded = await seed(redis.source());
    const provider = connect();
    const claim = new LuaScript('claimQueueJobs-14').sha;
    // The attempt's claim reaches Redis and runs; its connection resets before the reply.
    let failed = 0;
    const lossy = {
      ...provider,
      get: async (name: string): Promise<Connection> => {
        const c = await provider.get(name);
        if (name !== 'source') return c;
        return {
          ...c,
          redis: aroundScriptPipelines(c.redis, claim, async (exec) => {
            const reply = await exec();
            if (failed === 0 && reply.every(([e]) => e === null)) {
              failed++;
              throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
            }
            return reply;
          }),
        };
      },
    };
    const handlers = firstWith(provider, lossy);

    const executions = await runWorkflowLocally({ runId: 'failed-after-claim', mode: 'transfer', target: 'target', pageSize: 7 }, handlers, { retryIntervalMs: 0 });

    expect(failed).toBe(1);
    expect(executions.map((e) => e.error)).toEqual([undefined]);
    const summary = executions[0]!.output as RunSummary;
    expect(await jobsIn(redis.target())).toEqual(seeded);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect((summary.totals as TransferCounters).uncountedAttempts).toBe(1);
    expect(renderSummary(summary, 'redis://source', { width: 400 })).toContain('Complete: everything that could be moved was moved (counts may be short: see "Needs a look" above).');
  });
});
