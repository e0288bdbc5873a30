// A first plan that fails before anything moved cleans up after itself: it forgets what it recorded
// the run was started with (started-with, the stored routing and classes) and ends the run (its
// list of items, its executions, its lock), so that the run id may be started again, even with
// other routing. Those were two calls: cut between them (the second's connection lost, the process
// killed), the run was left with its list of items but neither its started-with record nor its
// routing, which every later plan of the run read as a run started with no routing (an older
// version's run, known by its list): the run was refused for good, with the same routing as it was
// started with, "started with other routing than this execution's". (Found by
// reroute-random-faults.test.ts, seed 45.)
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import type { Connection, ConnectionProvider } from '../../core/workflow/connections.js';
import { aroundScriptPipelines } from '../support/around-script-pipelines.js';
import { interferingRedis, SimulatedCrash } from '../support/interfering-redis.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);
const lost = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

describe("a failed first plan's clean-up cut between its two calls", () => {
  it('leaves a run that the same command starts again and finishes: every job moved once', async () => {
    const source = redis.source();
    const jobs = Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    for (const job of jobs) await source.lpush('queue:old', job);
    await source.sadd('queues', 'old');
    const input = { runId: 'cut-cleanup', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 10, sets: [] };

    // The plan's store of the run's list and routing runs and its reply is lost: the plan fails and
    // cleans up. The process dies right after the clean-up's first call (forgetting what the run
    // was started with) ran, before its second (ending the run) is sent.
    const store = new LuaScript('storeRunPlan-7').sha;
    const forget = new LuaScript('forgetRunConflicts-n2').sha;
    const noScript = (replies: [Error | null, unknown][]) => replies.some(([e]) => e !== null && String(e.message).startsWith('NOSCRIPT'));
    let stored = false;
    let dead = false;
    const base = connect();
    const dying: ConnectionProvider = {
      get: async (name: string): Promise<Connection> => {
        const c = await base.get(name);
        const storeLost = aroundScriptPipelines(c.redis, store, async (exec) => {
          const replies = await exec();
          if (noScript(replies) || stored) return replies;
          stored = true;
          throw lost();
        });
        const forgetThenDie = aroundScriptPipelines(storeLost, forget, async (exec) => {
          const replies = await exec();
          if (!noScript(replies) && stored) dead = true;
          return replies;
        });
        return {
          ...c,
          redis: interferingRedis(forgetThenDie, () => {
            if (dead) throw new SimulatedCrash('the process died');
          }),
        };
      },
    };
    const failed = await runWorkflowLocally(input, localTaskHandlers(dying), { retryIntervalMs: 0 });
    expect(dead).toBe(true);
    expect(failed.map((e) => e.error?.message ?? 'no error')).toEqual([expect.stringMatching(/the process died/)]);
    await expect(jobsIn(source)).resolves.toEqual(jobs.map((j) => jobEntry('queue:old', j)).sort());

    // The same command again: the run finishes.
    const again = await runWorkflowLocally(input, localTaskHandlers(connect()), { retryIntervalMs: 0 });
    expect(again.map((e) => e.error?.message ?? 'no error')).toEqual(['no error']);
    expect((again[0]!.output as RunSummary).complete).toBe(true);
    expect(await jobsIn(source)).toEqual(jobs.map((j) => jobEntry('queue:new', withQueue(j, 'old', 'new'))).sort());
  });
});
