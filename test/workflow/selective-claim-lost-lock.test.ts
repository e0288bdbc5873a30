// A class-selective transfer (a shard move) whose run lost its locks between two slices: the run's
// locks expired (its task paused past their life) and another run took them on both servers. The
// whole-queue claim refuses to claim then (claimQueueJobs-14.lua looks at the lock); the selective
// claim did not look, so it took the next slice's jobs off the live queue into the run's in-flight
// list, and only the write to the target was refused: the jobs stayed in flight, out of reach of
// Sidekiq's fetchers and of the run that now held the source, until a later run resumed them — and
// a run to another target refused to start while they were there. Nothing lost, but jobs taken
// for nothing. The selective claims now look at the stop marker and the lock as the others do.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { runLockKey } from '../../core/redis/run-lock.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { aroundScriptPipelines } from '../support/around-script-pipelines.js';
import { jobEntry, jobsIn, keysUnder } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { withWrappedClient } from '../support/wrapped-client.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

/** Another run's lock record, as acquireRunLock-5.lua writes it, valid for an hour by the server's clock. */
async function anotherRunTakes(client: Redis): Promise<void> {
  const [seconds] = await client.time();
  const now = Number(seconds) * 1000;
  await client.set(runLockKey(''), JSON.stringify({ runId: 'other-run', operation: 'transfer', host: 'elsewhere', pid: 1, startedAt: now, expiresAt: now + 3_600_000, plannedAt: now }));
}

/**
 * `provider` whose source client lets another run take both locks just before the first selective
 * claim (`claimScript`) sent once `written` holds (a slice is on the target): as after this run's
 * locks expired between two slices.
 */
function locksTakenBeforeClaim(provider: ConnectionProvider, written: () => Promise<boolean>, claimScript: string): ConnectionProvider & { taken: () => boolean } {
  const claim = new LuaScript(claimScript).sha;
  let taken = false;
  const wrap = (client: Redis): Redis =>
    aroundScriptPipelines(client, claim, async (exec) => {
      if (!taken && (await written())) {
        taken = true;
        await anotherRunTakes(redis.source());
        await anotherRunTakes(redis.target());
      }
      return exec();
    });
  return { ...withWrappedClient(provider, 'source', wrap), taken: () => taken };
}

describe('a class-selective transfer whose run lost its locks to another run between two slices', () => {
  it('a queue: the next slice claims nothing; what it did not move stays on the queue, nothing in flight', async () => {
    const source = redis.source();
    // 20 jobs of the selected class among 20 of another, alternating.
    const jobs = Array.from({ length: 40 }, (_, i) => sidekiqPayload({ className: i % 2 === 0 ? 'Shard::Job' : 'Stays::Job', queue: 'q', args: `[${i}]` }));
    for (const p of jobs) await source.lpush('queue:q', p);
    await source.sadd('queues', 'q');
    const provider = locksTakenBeforeClaim(connect(), async () => (await redis.target().llen('queue:q')) > 0, 'claimSelectedQueueJobs-11');

    const executions = await runWorkflowLocally(
      { runId: 'shard-lost-lock', mode: 'transfer', target: 'target', classes: ['Shard::Job'], sets: [], pageSize: 10, pagesPerInvocation: 5 },
      localTaskHandlers(provider),
      { retryIntervalMs: 0 },
    );

    expect(provider.taken()).toBe(true);
    const summary = executions[0]!.output as RunSummary | undefined;
    // The first slice (the newest 10 jobs: 5 selected) moved; every other job is still queued, in its order.
    const moved = jobs.slice(30).filter((_, i) => i % 2 === 0);
    expect(await jobsIn(redis.target())).toEqual(moved.map((p) => jobEntry('queue:q', p)).sort());
    expect(await source.lrange('queue:q', 0, -1)).toEqual(jobs.filter((p) => !moved.includes(p)).reverse());
    expect((await keysUnder(source, 'sidekiq-migrate:shard-lost-lock:')).filter((k) => k.includes(':inflight:'))).toEqual([]);
    expect(summary?.complete ?? false).toBe(false);
    expect(summary?.failures).toEqual([{ kind: 'queue', name: 'q', error: expect.stringMatching(/^FatalError: redis:\/\/127\.0\.0\.1:\d+ is locked by run other-run /) }]);
  });

  it('a sorted set: the next slice claims nothing; every entry it did not move stays with its score, nothing in flight', async () => {
    const source = redis.source();
    const entries = Array.from({ length: 40 }, (_, i) => ({ payload: sidekiqPayload({ className: i % 2 === 0 ? 'Shard::Job' : 'Stays::Job', queue: 'q', args: `[${i}]` }), score: String(1795459303 + i) }));
    for (const e of entries) await source.zadd('schedule', e.score, e.payload);
    const provider = locksTakenBeforeClaim(connect(), async () => (await redis.target().zcard('schedule')) > 0, 'claimSelectedSetEntries-11');

    const executions = await runWorkflowLocally(
      { runId: 'shard-lost-lock-set', mode: 'transfer', target: 'target', classes: ['Shard::Job'], sets: ['schedule'], pageSize: 10, pagesPerInvocation: 5 },
      localTaskHandlers(provider),
      { retryIntervalMs: 0 },
    );

    expect(provider.taken()).toBe(true);
    const summary = executions[0]!.output as RunSummary | undefined;
    // The first slice (the 10 soonest: 5 selected) moved; every other entry is still in the set, with its score.
    const moved = entries.slice(0, 10).filter((_, i) => i % 2 === 0);
    expect(await jobsIn(redis.target())).toEqual(moved.map((e) => jobEntry('schedule', e.payload, e.score)).sort());
    expect(await jobsIn(source)).toEqual(entries.filter((e) => !moved.includes(e)).map((e) => jobEntry('schedule', e.payload, e.score)).sort());
    expect((await keysUnder(source, 'sidekiq-migrate:shard-lost-lock-set:')).filter((k) => k.includes(':inflight:'))).toEqual([]);
    expect(summary?.complete ?? false).toBe(false);
  });
});
