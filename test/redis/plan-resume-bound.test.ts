import { afterEach, describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { PlanResumeTooLongError } from '../../core/errors/plan-resume-too-long-error.js';
import { runLockKey } from '../../core/redis/run-lock.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { parsePlanEvent } from '../../functions/support/task-inputs.js';
import { toTaskError } from '../../functions/support/task-error.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A transfer's plan finishes what interrupted runs left in flight (resumeInflight) inside the plan
// task, which has its function's timeout: thousands of in-flight keys (runs interrupted across many
// queues), each a few round trips and replica waits, outlasted it ("Task timed out", retried from
// scratch, saying nothing). Given PlanOptions.resumeUntil, the resume starts no further key once
// it has passed (the first whatever the time) and stops the plan with PlanResumeTooLongError,
// retryable: each try of the plan goes on from there. The bound is given to the step (no timed
// test): already spent, each try finishes one key.
const redis = privateSourceAndTarget();
const opened: UrlConnections[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});
const clock = () => 1_000;
const spent = { resumeUntil: () => 1_000, clock };

function connect(): UrlConnections {
  const provider = new UrlConnections({ source: { url: redis.urls().source }, target: { url: redis.urls().target } });
  opened.push(provider);
  return provider;
}

const job = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: `${queue}-${i}`.padEnd(24, '0') });

/** Run `old`, interrupted with 3 jobs in flight from each of `queues` queues (claimed at positions 0–2, nothing written yet): every job. */
async function interruptedRun(queues: number): Promise<string[]> {
  const jobs: string[] = [];
  const p = redis.source().pipeline();
  for (let q = 0; q < queues; q++) {
    const queue = `q${String(q).padStart(2, '0')}`;
    const held = [0, 1, 2].map((i) => job(queue, i));
    jobs.push(...held.map((j) => jobEntry(`queue:${queue}`, j)));
    p.sadd('queues', queue).rpush(`sidekiq-migrate:old:inflight:queue:${queue}`, ...held).set(`sidekiq-migrate:old:batch:queue:${queue}`, `B${q}+0`);
  }
  await p.exec();
  return jobs.sort();
}

const inflightKeys = async () => (await redis.source().keys('sidekiq-migrate:old:inflight:*')).sort();
const input = { runId: 'run-1', mode: 'transfer', source: 'source', target: 'target', sets: [] };

describe("the plan's resume of what interrupted transfers left in flight, out of time", { timeout: 60_000 }, () => {
  it('stops between two keys with PlanResumeTooLongError, saying what it finished and what is left; each try goes on from there', async () => {
    const jobs = await interruptedRun(5);

    const failure = planStep(input, connect(), {}, spent);

    await expect(failure).rejects.toBeInstanceOf(PlanResumeTooLongError);
    await expect(failure).rejects.toThrow(
      new RegExp(
        String.raw`^The plan's time ran out while it finished what interrupted transfers left in flight on the source redis://127\.0\.0\.1:\d+: in 0 s \(its share of the plan task's time\) ` +
          String.raw`it finished 1 of the 5 in-flight keys \(3 job\(s\), each written to the target once and acknowledged\); ` +
          String.raw`the other 4 \(12 job\(s\)\) are still in flight on the source, untouched, and this run has not started on anything else\. ` +
          String.raw`The plan is tried again and each try goes on from there; if its tries run out, start the run again with the same run id \(it goes on from there\), or raise the workflow functions' timeout \(functions\.timeoutSeconds in the deployment config, at most 900 s\)\.$`,
      ),
    );
    // The first key whole on the target, the other four untouched; the run's lock released for the next try.
    expect(await jobsIn(redis.target())).toEqual(jobs.slice(0, 3));
    expect(await inflightKeys()).toEqual(['q01', 'q02', 'q03', 'q04'].map((q) => `sidekiq-migrate:old:inflight:queue:${q}`));
    expect(await redis.source().lrange('sidekiq-migrate:old:inflight:queue:q04', 0, -1)).toEqual([0, 1, 2].map((i) => job('q04', i)));
    expect(await redis.source().exists(runLockKey(''))).toBe(0);

    // Each further try finishes one more; the fifth plans the run.
    for (let left = 3; left >= 1; left--) await expect(planStep(input, connect(), {}, spent)).rejects.toThrow(`the other ${left} (${left * 3} job(s))`);
    const plan = await planStep(input, connect(), {}, spent);
    expect(plan.resumed.resumed).toBe(3);
    expect(await inflightKeys()).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(jobs);
  });

  it('locally as on AWS, the state machine retries the plan until the resume is done, every job once; past its retries the execution fails in those words', async () => {
    const jobs = await interruptedRun(4);
    const real = localTaskHandlers(connect());
    const provider = connect();
    let plans = 0;
    // The local plan task, its resume's time already spent (the handler's errors named as the Lambda's).
    const plan = async (event: unknown) => {
      plans++;
      const { input: given, execution } = parsePlanEvent(event);
      return planStep(given, provider, execution, spent).catch((error: unknown) => Promise.reject(toTaskError(error, 'plan')));
    };

    const executions = await runWorkflowLocally(input, { ...real, plan }, { retryIntervalMs: 0 });

    expect(executions.map((e) => e.status)).toEqual(['SUCCEEDED']);
    expect(plans).toBe(4);
    expect(executions[0]!.output).toMatchObject({ complete: true });
    expect(await inflightKeys()).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(jobs);

    // Eight keys: the plan's 7 tries (6 retries) finish 7 of them, and the execution fails saying so.
    await redis.target().flushdb();
    await redis.source().flushdb();
    const more = await interruptedRun(8);
    const failed = await runWorkflowLocally({ ...input, runId: 'run-2' }, { ...real, plan }, { retryIntervalMs: 0 });
    expect(failed.map((e) => e.status)).toEqual(['FAILED']);
    expect(failed[0]!.error).toMatchObject({ name: 'RetryableError' });
    expect(JSON.stringify(failed[0]!.error)).toContain('it finished 1 of the 2 in-flight keys (3 job(s)');
    expect(await inflightKeys()).toEqual(['sidekiq-migrate:old:inflight:queue:q07']);
    expect(await jobsIn(redis.target())).toEqual(more.slice(0, 21));
  });
});
