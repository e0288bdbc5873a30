// A page task's stale attempt that claims a new slice after its run ended. On AWS a page task's
// Lambda may keep running after Step Functions gave up waiting for it (Lambda.ServiceException);
// the retry does the page and the run goes on to its end: its summary says "Complete" and
// releases the run's locks. The stale attempt, slow to start its first slice (here held just
// before its first claim), then claims: its pass's first slice counts what the queue (or the set)
// holds now, i.e. jobs that arrived after the run ended. Before the fix the claim did not look for
// a lock that is gone (lib/claim-lock.lua lockTaken lets it through), so those jobs were taken off
// the old Redis by a run that had ended: moved to the new Redis when the attempt ran on (its
// ledger there left without a TTL), or, when the attempt died after the claim (its Lambda timed
// out), left in an in-flight key without a TTL that no live run finishes, out of every fetcher's
// reach, while the summary had said "Complete". Now the claim refuses when the lock is not the
// run's (gone, or another run's past its expiry: -5, lockGone), before any write, and the attempt
// ends with RunLockLostError: nothing moved, nothing in flight, no key of the run without a TTL.
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { RunLockLostError } from '../../core/redis/run-lock.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { parsePageInput } from '../../functions/support/task-inputs.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { jobsIn } from '../support/exact-jobs.js';
import { interferingRedis, SimulatedCrash } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { everyJob, keysWithoutExpiry, latch, push } from '../support/stale-attempt-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { wrapped } from '../support/unanswered-attempt.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

const CLAIMS = new Set(['claimQueueJobs-14', 'claimSetEntries-16'].map((name) => new LuaScript(name, { encodeCalls: true }).sha));
const COPIES = new Set(['copyJobsToLists-n4', 'copyEntriesToSet-6'].map((name) => new LuaScript(name, { encodeCalls: true }).sha));

const SEEDED = 20;
const LATE = 5;

const kinds = { transferQueue: 'queue', transferSet: 'set' } as const;
const cases = (['transferQueue', 'transferSet'] as const).flatMap((task) => (['runs on to its end', 'dies at its copy'] as const).map((then) => [task, then] as const));

describe("a page task's stale attempt claims its first slice only after the run ended (its summary said Complete, its locks released)", () => {
  it.each(cases)('%s, the stale attempt %s: its claim is refused (the lock is gone), what arrived after the run stays where it is, nothing in flight, no key of the run without a TTL', async (task, then) => {
    const kind = kinds[task];
    const seeded = await push(redis.source(), kind, 0, SEEDED);
    const provider = connect();
    const real = localTaskHandlers(provider);
    const held = latch();
    const letGo = latch();
    let staleEnded: Promise<unknown> | undefined;
    let calls = 0;
    const page = async (input: unknown, context?: Parameters<LocalHandlers['plan']>[1]): Promise<unknown> => {
      if (calls++ !== 0) return real[task](input, context);
      // The stale attempt (the item's first page task), on connections of its own: held before its
      // first claim until the run ended; 'dies at its copy': its process stops there.
      const stale = wrapped(connect(), (client) =>
        interferingRedis(client, async (call) => {
          if (call.scripts.some((sha) => CLAIMS.has(sha)) && !held.opened()) {
            held.open();
            await letGo.wait();
          }
          if (then === 'dies at its copy' && call.scripts.some((sha) => COPIES.has(sha))) throw new SimulatedCrash('the stale attempt stopped here');
        }),
      );
      staleEnded = pageStep(parsePageInput(input, { mode: 'transfer', kind }), stale, { deadline: Date.now() + 60_000 }).catch((error: unknown) => error);
      await Promise.race([held.wait(), staleEnded]);
      expect(held.opened()).toBe(true);
      throw Object.assign(new Error("the stale attempt: the invocation's answer never came back"), { name: 'Lambda.ServiceException' });
    };
    const runId = `stale-claim-${kind}-${then.split(' ')[0]}`;
    const executions = await runWorkflowLocally(
      { runId, mode: 'transfer', target: 'target', pageSize: 7, pagesPerInvocation: 2, ...(kind === 'set' ? { sets: ['schedule'], queues: false } : {}) },
      { ...real, [task]: page } as LocalHandlers,
      { retryIntervalMs: 0 },
    );
    expect(executions.map((e) => e.error)).toEqual([undefined]);
    const summary = executions[0]!.output as RunSummary;
    expect(summary).toMatchObject({ complete: true, releasedLock: true });
    expect(renderSummary(summary, 'redis://source', { width: 400 })).toContain('Complete');
    expect(await jobsIn(redis.target())).toEqual(seeded);

    // After the run's end, the old Redis still gets jobs (a producer not switched yet); then the stale attempt goes on.
    const late = await push(redis.source(), kind, SEEDED, LATE);
    letGo.open();
    const outcome = await staleEnded;

    // The jobs that arrived after the run ended stay on the old Redis, where its fetchers find them;
    // the new Redis holds exactly what the run moved; nothing in flight, no key of the run without a TTL.
    expect({
      source: await everyJob(redis.source()),
      target: await everyJob(redis.target()),
      withoutExpiry: { source: await keysWithoutExpiry(redis.source(), runId), target: await keysWithoutExpiry(redis.target(), runId) },
    }).toEqual({ source: late, target: seeded, withoutExpiry: { source: [], target: [] } });
    expect(outcome).toBeInstanceOf(RunLockLostError);
    expect((outcome as Error).message).toMatch(new RegExp(`^Run ${runId} lost its run lock on source`));
  });
});
