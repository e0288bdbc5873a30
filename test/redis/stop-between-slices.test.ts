import { describe, expect, it } from 'vitest';
import { RunStoppedError } from '../../core/errors/run-stopped-error.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { MAX_JOBS_PER_CLAIM } from '../../core/transfer/transfer-options.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { stopRunStep } from '../../core/workflow/steps/stop-run-step.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { interferingRedis } from '../support/interfering-redis.js';

// A page task renews the run's locks once a page of several slices (page-step.ts); a stop that
// lands between two slices of one page is seen by the next slice's claim (claimQueueJobs-14.lua's
// stop marker, -2), which must end the task as a stop: RunStoppedError, whose words tell the user
// that starting the run again resumes it, with only the slices before it moved and nothing in
// flight. Found by hand-made mutation testing (audit-mutants): without the marker check the claim
// still refused (the stop released the lock: -5, lock gone), but the task ended as a lost lock
// ("a stale step"), and every test passed.
const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);
const COPY = new LuaScript('copyJobsToLists-n4', { encodeCalls: true }).sha;
const JOBS = MAX_JOBS_PER_CLAIM * 2 + 500;

describe('a stop between two slices of one page', () => {
  it('ends the task as stopped at the next claim: the first slice on the target, the rest untouched on the source, nothing in flight', async () => {
    const queued: string[] = [];
    const pipeline = redis.source().pipeline();
    for (let i = 0; i < JOBS; i++) {
      const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` });
      pipeline.lpush('queue:default', payload);
      queued.push(jobEntry('queue:default', payload));
    }
    await pipeline.exec();
    const provider = connect();
    // One page of three slices: one lock renewal for all three.
    const plan = await planStep({ runId: 'run-1', mode: 'transfer', target: 'target', sets: [], pageSize: JOBS }, provider);
    const item = plan.work.batch.find((i) => i.kind === 'queue' && i.name === 'default')!;
    // The stop lands just before the first slice's copy to the target: its acknowledge, and the
    // next slice's claim (sent behind it, claim-ahead.ts, or after it), come after the stop.
    let stopped: Promise<unknown> | undefined;
    const stopping: ConnectionProvider = {
      get: async (name) => {
        const connection = await provider.get(name);
        if (name !== 'target') return connection;
        const watched = interferingRedis(connection.redis, async ({ scripts }) => {
          if (stopped === undefined && scripts.includes(COPY)) {
            stopped = stopRunStep({ runId: 'run-1', source: 'source', target: 'target', dryRun: false }, connect());
            await stopped;
          }
        });
        return { ...connection, redis: watched };
      },
    };
    const told: unknown[] = [];

    const outcome = await pageStep({ settings: plan.settings, item }, stopping, { deadline: Date.now() + 600_000, onFailureAfterProgress: (error) => told.push(error) }).catch((error: unknown) => error);

    expect(await stopped).toMatchObject({ marked: true, released: true });
    const error = told[0] ?? outcome;
    expect(error).toBeInstanceOf(RunStoppedError);
    expect((error as Error).message).toMatch(/Run run-1 was stopped .* starting run run-1 again resumes it/);
    // The first slice moved, once; the rest untouched on the source.
    const [onSource, onTarget] = [await jobsIn(redis.source()), await jobsIn(redis.target())];
    expect([onSource.length, onTarget.length]).toEqual([JOBS - MAX_JOBS_PER_CLAIM, MAX_JOBS_PER_CLAIM]);
    expect([...onSource, ...onTarget].sort()).toEqual([...queued].sort());
    expect(await redis.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
  });
});
