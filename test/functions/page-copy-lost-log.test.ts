// The deployed page task (the Lambda handler) on a target that lost a slice's copy between the
// copy and the acknowledge (flushed, as a restart without persistence loses it): the slice is
// written again before the source acknowledges it, and the task's log says so, once, with the
// number of jobs and no job in it.
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../core/redis/lua-script.js';
import type { Connection } from '../../core/workflow/connections.js';
import type { PlanOutput } from '../../core/workflow/steps/plan-step.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import { aroundScriptPipelines } from '../support/around-script-pipelines.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { fakeContext, logRecords } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { viaJson } from './support/run-workflow.js';

const lambda = lambdaOnOwnServers();

describe('a page task whose target lost a slice\'s copy before the acknowledge', () => {
  it('writes the slice again, then acknowledges it: every job once; its log warns once, with the count', { timeout: 60_000 }, async () => {
    const { source, target, h } = lambda;
    const seeded = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
    await source.rpush('queue:default', ...seeded);
    await source.sadd('queues', 'default');
    const plan = viaJson((await h.plan({ runId: 'lost-copy', mode: 'transfer', target: 'target', sets: [], pageSize: 10, pagesPerInvocation: 1 }, fakeContext())) as PlanOutput);
    const item = plan.work.batch.find((i) => i.kind === 'queue' && i.name === 'default')!;
    // The task's target connection: right after its first copy answered, the target loses its data (and with it the run's lock and target id).
    const { sha } = new LuaScript('copyJobsToLists-n4', { encodeCalls: true });
    let flushed = 0;
    const get = h.connections.get.bind(h.connections);
    h.connections.get = async (name: string): Promise<Connection> => {
      const c = await get(name);
      if (name !== 'target') return c;
      const redis = aroundScriptPipelines(c.redis, sha, async (exec) => {
        const replies = await exec();
        if (flushed === 0 && replies.every(([error]) => error === null)) {
          flushed++;
          await target.flushall();
        }
        return replies;
      });
      return { ...c, redis };
    };
    const out = lambda.captureOutput();

    const outcome = await h.transferQueue(viaJson({ settings: plan.settings, item }), fakeContext()).then(
      (returned) => viaJson(returned as WorkItem),
      (error: unknown) => error,
    );

    out.stop();
    h.connections.get = get;
    expect(flushed).toBe(1);
    // The slice (the head of the queue: the newest) is on the target once, the rest on the source; nothing in flight.
    expect(await jobsIn(target)).toEqual(seeded.slice(0, 10).map((p) => jobEntry('queue:default', p)).sort());
    expect(await jobsIn(source)).toEqual(seeded.slice(10).map((p) => jobEntry('queue:default', p)).sort());
    expect(await source.keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
    // Its locks went with the target's data: the page's renewal fails the task after the slice,
    // which it returns with its counts, the 10 written again among them.
    expect(outcome).toMatchObject({ counters: { claimed: 10, written: 10, recopied: 10 } });
    const warnings = logRecords(out.records()).filter((r) => r['level'] === 'WARN' && String(r['message']).includes('lost the copy'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      message:
        "queue default: the target lost the copy of 10 job(s) after they were written there and before the source acknowledged them (restarted empty, flushed or failed over); they were still in flight on the source and were written again, none lost. The target lost data: the run's summary says so",
      recopied: 10,
    });
    await h.releaseLock({ settings: plan.settings }, fakeContext()).catch(() => undefined);
  });
});
