// A run's records on the source — its list of sets and queues, its executions, its routing — were
// given 7 days when the run was planned and never again: "longer than any run". A rate-limited
// move of queues of millions (918,000 jobs an execution at 10/s, the documented figure) runs
// longer. Past the 7 days the list was gone under the run ("no longer on the source (evicted …
// or deleted): the sets and queues from position 11 on were not worked on"), its routing too, and
// its executions: a summary that found the hash gone counted itself last and released the lock
// while continuations still ran. Each page task now gives them their 7 days again (beside its
// look at its receipt, no round trip of its own): they outlive the run's last page by 7 days.
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runExecutionsKey } from '../../core/workflow/run-executions.js';
import { storedRoutingKey } from '../../core/workflow/stored-routing.js';
import { RUN_PLAN_TTL_SECONDS } from '../../core/workflow/store-run-plan.js';
import { BATCH_SIZE, workListKey } from '../../core/workflow/work-list.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);
const RUN = 'long-run';
const records = [workListKey('', RUN), runExecutionsKey('', RUN), storedRoutingKey('', RUN)];
/** How near the end of its 7 days a record is put before each page: longer than any page takes, however loaded the machine. */
const NEAR_END_MS = 600_000;
/** Whether `key` still expires within NEAR_END_MS: a page did not give it its time again. */
const pastNearEnd = async (key: string) => {
  const ms = await redis.source().pttl(key);
  return ms >= 0 && ms <= NEAR_END_MS;
};

describe("a run that lasts longer than its records' 7 days", () => {
  it('keeps its list, executions and routing while its pages run: every queue of the second batch moved, the run complete', async () => {
    // Eleven queues: the eleventh is in the second batch, read from the run's list after the first.
    const expected: string[] = [];
    for (let q = 0; q < BATCH_SIZE + 1; q++) {
      const jobs = Array.from({ length: 2 }, (_, i) => sidekiqPayload({ className: 'A', queue: `old${q}`, args: `[${q},${i}]` }));
      await redis.source().rpush(`queue:old${q}`, ...jobs);
      await redis.source().sadd('queues', `old${q}`);
      expected.push(...jobs.map((job) => jobEntry('queue:new', withQueue(job, `old${q}`, 'new'))));
    }
    const real = localTaskHandlers(connect());
    const ttls: number[] = [];
    // Time as a long run sees it, shrunk: before each page the records are NEAR_END_MS from the
    // end of the 7 days they were given (the plan long ago), and that time has passed when the page
    // ends: a record the page did not give its time again is deleted then, as Redis would expire
    // it. (It was a 300 ms expiry and a 400 ms sleep: a page that took over 300 ms to renew them,
    // on a loaded machine, lost the list under the run and the test failed, 2 of 5 at load 20.)
    // The workflow runs up to four slices at a time (the Map's MaxConcurrency); this shrunk time
    // holds for one page at a time, so the pages take turns: else one page's end deleted a record
    // another page had just put near its end, and the third page read no routing (CI, stop 57).
    let turn: Promise<unknown> = Promise.resolve();
    const onePageAtATime = <T>(page: () => Promise<T>): Promise<T> => {
      const mine = turn.then(page);
      turn = mine.catch(() => undefined);
      return mine;
    };
    const handlers: LocalHandlers = {
      ...real,
      rerouteQueueSlice: (input, context) =>
        onePageAtATime(async () => {
          for (const key of records) await redis.source().pexpire(key, NEAR_END_MS);
          const answer = await real.rerouteQueueSlice(input, context);
          ttls.push(await redis.source().ttl(storedRoutingKey('', RUN)));
          for (const key of records) if (await pastNearEnd(key)) await redis.source().del(key);
          return answer;
        }),
    };

    const executions = await runWorkflowLocally({ runId: RUN, mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, sets: [] }, handlers, { retryIntervalMs: 0 });

    expect(executions.map((e) => e.error)).toEqual([undefined]);
    expect(executions[0]!.output as RunSummary).toMatchObject({ complete: true, failures: [], releasedLock: true, totals: { moved: 2 * (BATCH_SIZE + 1) } });
    expect(await jobsIn(redis.source(), '', ['queue:new'])).toEqual(expected.sort());
    for (let q = 0; q < BATCH_SIZE + 1; q++) expect(await redis.source().exists(`queue:old${q}`)).toBe(0);
    // Each page gave the routing its 7 days again (the list and executions the last summary deleted).
    expect(ttls).toHaveLength(BATCH_SIZE + 1);
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(RUN_PLAN_TTL_SECONDS - 60);
    expect(await redis.source().exists(workListKey('', RUN), runExecutionsKey('', RUN), 'sidekiq-migrate:lock')).toBe(0);
  }, 60_000);
});
