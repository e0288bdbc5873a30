import { describe, expect, it } from 'vitest';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { summaryVerdict } from '../../cli/workflow/render-summary.js';
import { runWorkflowLocally, type LocalExecution, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { jobsIn } from '../support/exact-jobs.js';
import { isContinuation, runLaterStartToRunEnd, runRecords } from '../support/later-start-ends-run.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { seedOldForReroute } from '../support/reroute-seed.js';
import { connectionsPerTest } from '../support/test-connections.js';

/**
 * A continuation of a superseded execution whose plan, or first page, runs only once the later
 * start of the run (`start --resume`) has ended the run and released its lock (its Lambda
 * throttled, retried, or started late): the lock is gone, and no longer tells that a later start
 * superseded it. As in superseded-continuation-plan.test.ts, where the later start still holds the
 * lock, it must end with a superseded summary that counts the item it carried and ends nothing
 * of the run's: the later start's finish record says it was superseded.
 */
const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

type Mode = 'reroute' | 'transfer';
// A re-route (A → new, on the source) or a transfer (to the target): every item continues in a new execution after 4 pages of 3.
const inputOf = (mode: Mode) => ({ runId: 'cont-plan-after-end', ...(mode === 'reroute' ? { mode, routing: { kind: 'mapping', mapping: { A: 'new' } } } : { mode, target: 'target' }), pageSize: 3, pagesPerInvocation: 1, maxIterations: 4 });

/** What an execution's summary says it moved: re-routed, or written to the target. */
const moved = (e: LocalExecution) => {
  const totals = (e.output as RunSummary | undefined)?.totals as { moved?: number; written?: number } | undefined;
  return totals?.moved ?? totals?.written ?? 0;
};

/**
 * The first start, each of its continuations held `where` (its plan, or its first page task once
 * its plan has run) until the later start (`start --resume`, the same input) has ended the run;
 * then those continuations, to their end.
 */
async function supersededAfterTheRunEnded(where: 'plan' | 'page', mode: Mode) {
  const input = inputOf(mode);
  const { seeded, rerouted } = await seedOldForReroute(redis.source(), (i) => `[${i}]`, { namedInQueues: false });
  let laterEnded!: () => void;
  const ended = new Promise<void>((resolve) => (laterEnded = resolve));
  let held = 0;
  const hold = async () => {
    held++;
    await ended;
  };
  const base = localTaskHandlers(connect());
  let rootDone = false;
  const plan: LocalHandlers['plan'] = async (event, context) => {
    if (where === 'plan' && isContinuation(event)) await hold();
    return base.plan(event, context);
  };
  // Only the continuations' pages run once the root has ended; each held once.
  const heldPages = new Set<string>();
  const page =
    (task: 'rerouteSetPage' | 'rerouteQueueSlice' | 'transferSet' | 'transferQueue'): LocalHandlers['rerouteSetPage'] =>
    async (event, context) => {
      const name = (event as { item: { name: string } }).item.name;
      if (where === 'page' && rootDone && !heldPages.has(name)) {
        heldPages.add(name);
        await hold();
      }
      return base[task](event, context);
    };
  let rootArn: string | undefined;
  let rootEnded!: () => void;
  const rootEnd = new Promise<void>((resolve) => (rootEnded = resolve));
  const first = runWorkflowLocally(input, { ...base, plan, rerouteSetPage: page('rerouteSetPage'), rerouteQueueSlice: page('rerouteQueueSlice'), transferSet: page('transferSet'), transferQueue: page('transferQueue') }, {
    retryIntervalMs: 0,
    onEvent: (arn, event) => {
      rootArn ??= arn;
      if (arn === rootArn && event.type === 'ExecutionSucceeded') {
        rootDone = true;
        rootEnded();
      }
    },
  });
  await rootEnd;
  while (held < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  const reroutedNow = new Set(rerouted);
  const movedBeforeResume = mode === 'reroute' ? (await jobsIn(redis.source())).filter((e) => reroutedNow.has(e)).length : (await jobsIn(redis.target())).length;

  // The later start ends the run: its lock released, its list and executions gone.
  const { resumedRun, laterPlannedAt, laterPlannedBy, leftByTheLaterStart } = await runLaterStartToRunEnd(redis.source(), input, base);
  laterEnded();
  const firstRun = await first;
  return { seeded, rerouted, firstRun, resumedRun, movedBeforeResume, laterPlannedAt, laterPlannedBy, leftByTheLaterStart };
}

describe("a continuation of a superseded execution that runs on only once the later start of the run has ended the run (its lock released)", () => {
  for (const [where, mode] of [['plan', 'reroute'], ['page', 'reroute'], ['plan', 'transfer'], ['page', 'transfer']] as const) {
    it(`(a ${mode}, held at its ${where}) ends with a superseded summary that counts the item it carried; each job once, the totals add up to the 90 moved, nothing of the run written`, async () => {
      const { seeded, rerouted, firstRun, resumedRun, movedBeforeResume, laterPlannedAt, laterPlannedBy, leftByTheLaterStart } = await supersededAfterTheRunEnded(where, mode);
      const [root, ...continuations] = firstRun;

      if (mode === 'reroute') expect(await jobsIn(redis.source())).toEqual(rerouted.slice().sort());
      else {
        expect(await jobsIn(redis.source())).toEqual([]);
        expect(await jobsIn(redis.target())).toEqual(seeded.slice().sort());
      }
      expect(root!.status).toBe('SUCCEEDED');
      expect(continuations).toHaveLength(3);
      // Each continuation SUCCEEDED with a superseded summary. Main: held at its plan, FAILED ("lost
      // its run lock ... run it again to resume"), the item's earlier moves in no summary; held at its
      // page, each took the run as its own to end (endedRun, its finish record written over the later
      // start's) and said "run the same command again to resume" of a run the later start completed.
      expect(continuations.map((c) => [c.status, c.error?.message])).toEqual(continuations.map(() => ['SUCCEEDED', undefined]));
      for (const c of continuations) {
        const summary = c.output as RunSummary;
        expect(summary, c.executionArn).toMatchObject({ complete: false, superseded: { laterPlannedAt, laterPlannedBy }, counts: { finished: 0, failed: 1, continued: 0 }, continuedIn: [] });
        expect(summary.endedRun).toBeUndefined();
        expect(summary.releasedLock).toBe(false);
        if (where === 'plan') expect(summary.failures[0]!.error).toMatch(/^FatalError: Run cont-plan-after-end: this execution was superseded by a later execution of the run \(planned [^,]*, noticed on source redis:\/\/[^,]*, which has ended the run since\)/);
        else expect(summary.failures[0]!.error).toMatch(/^FatalError: Run cont-plan-after-end lost its run lock/);
      }
      expect(movedBeforeResume).toBeGreaterThan(0);
      expect(continuations.reduce((n, c) => n + moved(c), 0)).toBe(movedBeforeResume);
      expect(resumedRun.reduce((n, e) => n + moved(e), 0)).toBe(90 - movedBeforeResume);
      // No job counted by both starts: the later one resumed nothing the first had claimed.
      if (mode === 'transfer') for (const e of [...firstRun, ...resumedRun]) expect((e.output as RunSummary).totals).toMatchObject({ resumed: 0, duplicates: 0 });
      const combined = combineSummaries([root!, ...continuations].map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));
      expect(moved({ executionArn: '', status: 'SUCCEEDED', output: combined })).toBe(movedBeforeResume);
      expect(summaryVerdict(combined, 'redis://source').line).toBe('Not complete here: a later execution of run cont-plan-after-end carries the run on. Follow it in the output of the command that started it: its summary says when the run is complete.');
      // The superseded executions wrote nothing of the run after the later start ended it (its finish record its own).
      expect(await runRecords(redis.source())).toEqual(leftByTheLaterStart);
    });
  }
});
