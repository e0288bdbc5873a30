// A page task's stale attempt let go after its item's ledger was retired and before the run's
// lock is released (audit-edges, edge (a) of the closing notes: "stale copy between ledger
// retirement and lock release"). As stale-claim-after-run-ended.test.ts, but the stale attempt is
// let go while the run still holds its locks: after the add-up retired the item's ledger, when the
// summary starts or when it sends finishRun (the source lock's release), the summary held there
// until the stale attempt ended. Held before its first claim, it claims what arrived after its item
// ended (the lock is still the run's: lockTaken, lockGone let it through); held before its first
// copy, its batch was finished and acknowledged by its retry. Either way, running on or dying at
// its copy: every job exactly once over both servers (the retired ledger keeps its entries until
// its 7-day TTL, so a late copy finds its batch written; an acknowledge deletes only its own batch),
// and the summary, whose look for in-flight keys comes after the release, names what is in flight.
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { parsePageInput, summarizeFunctionStep, SummarizeFunctionSteps } from '../../functions/support/task-inputs.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { interferingRedis, SimulatedCrash } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { everyJob, keysWithoutExpiry, latch, push } from '../support/stale-attempt-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { wrapped } from '../support/unanswered-attempt.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

const CLAIMS = new Set(['claimQueueJobs-14', 'claimSetEntries-16'].map((name) => new LuaScript(name, { encodeCalls: true }).sha));
const COPIES = new Set(['copyJobsToLists-n4', 'copyEntriesToSet-6'].map((name) => new LuaScript(name, { encodeCalls: true }).sha));
const FINISH = new LuaScript('finishRun-4', { encodeCalls: true }).sha;

const SEEDED = 20;
const LATE = 5;

const kinds = { transferQueue: 'queue', transferSet: 'set' } as const;
/** Where the summary is held while the stale attempt runs: its first call, or its finishRun (the lock's release on the source). */
const places = ['summary starts', 'summary releases the lock'] as const;
/** Where the stale attempt is held: before its first claim (it claims what arrived after its item ended), or before its first copy (a batch it claimed, which its retry finished). */
const holds = ['claim', 'copy'] as const;
const cases = (['transferQueue', 'transferSet'] as const).flatMap((task) =>
  holds.flatMap((hold) => places.flatMap((place) => (['runs on to its end', 'dies at its copy'] as const).map((then) => [task, hold, place, then] as const))),
);

describe("a page task's stale attempt claims its first slice after its item's ledger was retired, before the run's lock is released", () => {
  it.each(cases)('%s, held before its first %s, let go when the %s, then %s: every job once, and the summary tells where', async (task, hold, place, then) => {
    const kind = kinds[task];
    const seeded = await push(redis.source(), kind, 0, SEEDED);
    const provider = connect();
    const real = localTaskHandlers(provider);
    const held = latch();
    const letGo = latch();
    let staleEnded: Promise<unknown> | undefined;
    let late: string[] = [];
    let calls = 0;
    const page = async (input: unknown, context?: Parameters<LocalHandlers['plan']>[1]): Promise<unknown> => {
      if (calls++ !== 0) return real[task](input, context);
      const stale = wrapped(connect(), (client) =>
        interferingRedis(client, async (call) => {
          const copy = call.scripts.some((sha) => COPIES.has(sha));
          if (call.scripts.some((sha) => (hold === 'claim' ? CLAIMS : COPIES).has(sha)) && !held.opened()) {
            held.open();
            await letGo.wait();
            // Held before its first copy, it dies at its next one (that copy is its retry's to finish).
            if (hold === 'copy' && then === 'dies at its copy') return;
          }
          if (then === 'dies at its copy' && copy && (hold === 'claim' || letGo.opened())) throw new SimulatedCrash('the stale attempt stopped here');
        }),
      );
      staleEnded = pageStep(parsePageInput(input, { mode: 'transfer', kind }), stale, { deadline: Date.now() + 60_000 }).catch((error: unknown) => error);
      await Promise.race([held.wait(), staleEnded]);
      expect(held.opened()).toBe(true);
      throw Object.assign(new Error("the stale attempt: the invocation's answer never came back"), { name: 'Lambda.ServiceException' });
    };
    // The summary (not the add-up) on connections of its own, held at `place` while the stale attempt goes on.
    let summaryCalls = 0;
    const letStaleGo = async () => {
      if (letGo.opened()) return;
      late = await push(redis.source(), kind, SEEDED, LATE);
      letGo.open();
      await staleEnded;
    };
    const summarize = async (input: unknown, context?: Parameters<LocalHandlers['plan']>[1]): Promise<unknown> => {
      if (summarizeFunctionStep(input) === SummarizeFunctionSteps.addUp) return real.summarize(input, context);
      const held = wrapped(connect(), (client) =>
        interferingRedis(client, async (call) => {
          summaryCalls++;
          if (place === 'summary starts' || call.scripts.includes(FINISH)) await letStaleGo();
        }),
      );
      return localTaskHandlers(held).summarize(input, context);
    };
    const runId = `stale-before-release-${kind}-${hold}-${place.split(' ').at(-1)}-${then.split(' ')[0]}`;
    const executions = await runWorkflowLocally(
      { runId, mode: 'transfer', target: 'target', pageSize: 7, pagesPerInvocation: 2, ...(kind === 'set' ? { sets: ['schedule'], queues: false } : {}) },
      { ...real, [task]: page, summarize } as LocalHandlers,
      { retryIntervalMs: 0 },
    );
    expect(letGo.opened()).toBe(true);
    expect(summaryCalls).toBeGreaterThan(0);
    const outcome = await staleEnded;
    expect(executions.map((e) => e.error)).toEqual([undefined]);
    const summary = executions[0]!.output as RunSummary;
    const text = renderSummary(summary, 'redis://source', { width: 400 });
    const state = {
      source: await everyJob(redis.source()),
      target: await everyJob(redis.target()),
      withoutExpiry: { source: await keysWithoutExpiry(redis.source(), runId), target: await keysWithoutExpiry(redis.target(), runId) },
    };
    // Every job exactly once over both servers, in flight included: none twice, none lost.
    const where = (entry: string) => entry.replace(/^sidekiq-migrate:[^ ]*:inflight:(queue:old|schedule)/, '$1');
    expect([...state.source, ...state.target].map(where).sort()).toEqual([...seeded, ...late].sort());
    // What is in flight (on the source) is said, and only then is the run not "Complete".
    const inflight = state.source.filter((e) => e.includes(':inflight:')).length;
    // What stayed on the source and arrived before the summary looked (let go when it starts) is said too.
    const left = state.source.length - inflight;
    if (inflight > 0) expect(text).toContain(`Done, but jobs were left behind: ${inflight} still in flight on the source`);
    // Set entries too (cli-set-arrivals-before-summary.test.ts: the summary looks at the sets' size since their pass ended).
    else if (left > 0 && place === 'summary starts') expect(text).toContain(`Done, but jobs remain on the source (${left}, above)`);
    else expect(text).toContain('Complete: everything that could be moved was moved');
    // Nothing in flight on the target, and the run's keys without expiry there are at most its ledger (re-written after its retirement).
    expect(state.target.filter((e) => e.includes(':inflight:'))).toEqual([]);
    expect(state.withoutExpiry.target.filter((k) => !k.includes(':ledger:'))).toEqual([]);
    expect(String(outcome)).not.toContain('AssertionError');
  });
});
