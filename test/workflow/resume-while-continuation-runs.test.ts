import { describe, expect, it } from 'vitest';
import { runLockKey } from '../../core/redis/run-lock.js';
import { runExecutionsKey } from '../../core/workflow/run-executions.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { workListKey } from '../../core/workflow/work-list.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowLocally, type LocalExecution, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { seedOldForReroute } from '../support/reroute-seed.js';
import { connectionsPerTest } from '../support/test-connections.js';

/**
 * `start --resume RUN` while an execution the run continued in still runs, its parent ended: what
 * the deployed CLI let through before it looked at continuations (start-resume-continuations.test.ts
 * now refuses it), and what the run lock makes of it when two starts race (check and start are two
 * calls). Locally, the resumed execution is a second run of the state machine with the same input:
 * its plan takes the run's lock as a later start. The first run's continuations are held at their
 * first page task until the resumed plan starts, then go on beside it.
 */
const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

// 40 queued, 30 scheduled, 20 retrying jobs; 3 a page, one page an invocation, 4 loops an
// execution: every item continues in a new execution after 12 jobs, the root ending first.
const input = { runId: 'cont-resume', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 3, pagesPerInvocation: 1, maxIterations: 4 };

type PageHandler = LocalHandlers['rerouteQueueSlice'];
const PAGE_TASKS = ['rerouteQueueSlice', 'rerouteSetPage'] as const;

/** Handlers whose page tasks wait for `gate` first when `hold(item)` says so. */
function holding(handlers: LocalHandlers, hold: (item: { continues?: string; iteration: number }) => boolean, gate: Promise<void>, onHeld: () => void): LocalHandlers {
  const wrap = (page: PageHandler): PageHandler => async (i, context) => {
    if (hold((i as { item: { continues?: string; iteration: number } }).item)) {
      onHeld();
      await gate;
    }
    return page(i, context);
  };
  return { ...handlers, ...Object.fromEntries(PAGE_TASKS.map((t) => [t, wrap(handlers[t])])) };
}

const moved = (e: LocalExecution) => ((e.output as RunSummary | undefined)?.totals as { moved?: number } | undefined)?.moved ?? 0;

/** The first start, its continuations held at their first page task; then the resumed start, which lets them go `when` its plan starts or once it has planned. */
async function resumeWhileContinuationsRun(when: 'planStarts' | 'planned') {
  const { seeded, rerouted } = await seedOldForReroute(redis.source(), (i) => `[${i}]`, { namedInQueues: false });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  let rootArn: string | undefined;
  let rootEnded!: () => void;
  const rootEnd = new Promise<void>((resolve) => (rootEnded = resolve));

  const first = runWorkflowLocally(input, holding(localTaskHandlers(connect()), (item) => item.continues !== undefined && item.iteration === 0, gate, () => held++), {
    retryIntervalMs: 0,
    onEvent: (arn, event) => {
      rootArn ??= arn;
      if (arn === rootArn && event.type === 'ExecutionSucceeded') rootEnded();
    },
  });
  await rootEnd;
  // The root ended (SUCCEEDED, not complete: its three items continued elsewhere); they still run.
  while (held < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  const executionsAtResume = await redis.source().hlen(runExecutionsKey('', 'cont-resume'));
  const reroutedAtResume = new Set(rerouted);
  const movedBeforeResume = (await jobsIn(redis.source())).filter((e) => reroutedAtResume.has(e)).length;

  // `start --resume`: a new execution of the run, with the same input.
  const base = localTaskHandlers(connect());
  const plan: LocalHandlers['plan'] = async (i, context) => {
    if (when === 'planStarts') release();
    const planned = await base.plan(i, context);
    release();
    return planned;
  };
  const resumed = runWorkflowLocally(input, { ...base, plan }, { retryIntervalMs: 0 });
  const [firstRun, resumedRun] = await Promise.all([first, resumed]);
  const [root, ...continuations] = firstRun;
  expect(root!.executionArn).toBe(rootArn);
  const seen = { continuations: continuations.length, superseded: continuations.filter((e) => (e.output as RunSummary | undefined)?.superseded).length, continuationsMoved: continuations.reduce((n, e) => n + moved(e), 0), resumedMoved: resumedRun.reduce((n, e) => n + moved(e), 0), rootMoved: moved(root!) };
  console.log(`resume (${when}) while the first start's continuations ran: ${JSON.stringify(seen)}, ${movedBeforeResume} moved before the resume`);
  return { seeded, rerouted, root: root!, continuations, resumedRun, seen, executionsAtResume, movedBeforeResume };
}

/** Every job exactly once, re-routed; the executions' totals add up to the 90 moved; the resumed run ended the run and released its lock. */
async function expectRunWhole({ seeded, rerouted, continuations, resumedRun, seen }: Awaited<ReturnType<typeof resumeWhileContinuationsRun>>) {
  // Each continuation ends with a summary, wherever it found the supersession (its plan too:
  // superseded-continuation-plan.test.ts), never FAILED with its item's moves in no summary.
  expect(continuations.map((c) => [c.status, c.error])).toEqual(continuations.map(() => ['SUCCEEDED', undefined]));
  const expected = rerouted.slice().sort();
  expect(await jobsIn(redis.source())).toEqual(expected);
  expect(seeded.some((s) => expected.includes(s))).toBe(false);
  expect(seen.rootMoved + seen.continuationsMoved + seen.resumedMoved).toBe(90);
  const resumedSummaries = resumedRun.map((e) => e.output as RunSummary);
  expect(resumedRun.map((e) => e.status)).toEqual(resumedRun.map(() => 'SUCCEEDED'));
  expect(resumedSummaries.every((s) => s.superseded === undefined)).toBe(true);
  expect(resumedSummaries.filter((s) => s.endedRun)).toHaveLength(1);
  expect(await redis.source().exists(runLockKey(''), workListKey('', 'cont-resume'), runExecutionsKey('', 'cont-resume'))).toBe(0);
}

describe('start --resume while a continuation of the run still runs, its parent ended', () => {
  it('continuations that go on once the resumed plan took the lock move nothing more: they say "Superseded", never Complete; the resumed run moves the rest, each job once', async () => {
    const run = await resumeWhileContinuationsRun('planned');

    expect(run.root.status).toBe('SUCCEEDED');
    expect((run.root.output as RunSummary).continuedIn).toHaveLength(3);
    expect(run.executionsAtResume).toBe(3);
    // The three held continuations are refused at their first page task, and continue no further.
    expect(run.continuations).toHaveLength(3);
    for (const c of run.continuations) expect(c.output, c.executionArn).toMatchObject({ complete: false, superseded: { laterPlannedAt: expect.any(Number) } });
    // Their totals are what the root moved before it handed the items on (each item is counted where
    // it ends); the resumed run moved all the rest.
    expect(run.movedBeforeResume).toBeGreaterThan(0);
    expect(run.seen.continuationsMoved).toBe(run.movedBeforeResume);
    expect(run.seen.resumedMoved).toBe(90 - run.movedBeforeResume);
    await expectRunWhole(run);
  });

  it('continuations let go as the resumed plan starts race it: whatever each moved, each job once, totals add up, the resumed run ends the run', async () => {
    const run = await resumeWhileContinuationsRun('planStarts');

    expect(run.executionsAtResume).toBe(3);
    // One of the first start's continuations ends the run only if it got there before the resumed
    // plan took the lock (then none of them was superseded); after that, only the resumed run does.
    const endedByFirst = run.continuations.filter((c) => (c.output as RunSummary).endedRun).length;
    expect(endedByFirst === 0 || run.seen.superseded === 0).toBe(true);
    await expectRunWhole(run);
  });
});
