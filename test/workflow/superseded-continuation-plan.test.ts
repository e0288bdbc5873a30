import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../core/redis/lua-script.js';
import { runLockKey } from '../../core/redis/run-lock.js';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import { runExecutionsKey } from '../../core/workflow/run-executions.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { workListKey } from '../../core/workflow/work-list.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary, summaryVerdict } from '../../cli/workflow/render-summary.js';
import { runWorkflowLocally, type LocalExecution, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { aroundScriptPipelines } from '../support/around-script-pipelines.js';
import { jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { seedOldForReroute } from '../support/reroute-seed.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { withWrappedClient } from '../support/wrapped-client.js';

/**
 * A continuation whose own plan finds its execution superseded by a later start of the run
 * (`start --resume` planned after the execution that announced it added it to the run's
 * executions): what resume-while-continuation-runs' race case met by timing (4 of 4 runs with
 * connectRedis' ACL DRYRUN probes sent at once, issue #18). The continuation's plan threw the
 * 'superseded' FatalError, and the execution FAILED ("Could not plan the migration"): the item it
 * carried, with what the executions before it had moved, ended in no summary (the run's totals
 * added up to 58 of the 90 moved). Here the first start's continuations are held in their plan
 * until the later start has planned — before their lock is held, or between the lock and their
 * entry among the run's executions — so that each finds the supersession there, every time. Both
 * modes: a re-route on the source, and a transfer (move) to the target, which was covered only
 * step by step (superseded-execution.test.ts).
 */
const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

// 40 queued, 30 scheduled, 20 retrying jobs; 3 a page, one page an invocation, 4 loops an
// execution: every item continues in a new execution after 4 pages, the root ending first.
// A transfer (move) of the same jobs to the target, the same pages: its moves are `written`.
const inputs = {
  reroute: { runId: 'cont-plan-superseded', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 3, pagesPerInvocation: 1, maxIterations: 4 },
  transfer: { runId: 'cont-plan-superseded', mode: 'transfer', target: 'target', sets: ['schedule', 'retry'], pageSize: 3, pagesPerInvocation: 1, maxIterations: 4 },
} as const;
type Mode = keyof typeof inputs;

const movedIn = (mode: Mode) => (e: LocalExecution) => ((e.output as RunSummary | undefined)?.totals as { moved?: number; written?: number } | undefined)?.[mode === 'reroute' ? 'moved' : 'written'] ?? 0;
/** Where a job is once moved: re-routed on the source, or as it was on the target. */
const doneJobs = (mode: Mode, seeded: string[], rerouted: string[]) => (mode === 'reroute' ? rerouted : seeded);
const isContinuation = (event: unknown) => typeof (event as { executionInput?: unknown }).executionInput === 'object' && 'continuation' in (event as { executionInput: object }).executionInput;

/**
 * The first start, each of its continuations' plans held `where` until the later start (`start
 * --resume`, the same input) has planned; then that later start, to its end.
 */
async function supersededAtContinuationPlan(where: 'beforeLock' | 'beforeAdd', mode: Mode) {
  const input = inputs[mode];
  const { seeded, rerouted } = await seedOldForReroute(redis.source(), (i) => `[${i}]`, { namedInQueues: false });
  let laterPlanned!: (plannedAt: number) => void;
  const later = new Promise<number>((resolve) => (laterPlanned = resolve));
  let held = 0;
  const hold = async () => {
    held++;
    await later;
  };
  const base = localTaskHandlers(connect());
  // Only a continuation's plan adds its execution to the run's executions (addRunExecution-4.lua) in a plan task.
  const addSha = new LuaScript('addRunExecution-4').sha;
  const planConnections = where === 'beforeAdd' ? withWrappedClient(connect(), 'source', (client) => aroundScriptPipelines(client, addSha, async (exec) => (await hold(), exec()))) : connect();
  const planTask = localTaskHandlers(planConnections).plan;
  const plan: LocalHandlers['plan'] = async (event, context) => {
    if (where === 'beforeLock' && isContinuation(event)) await hold();
    return planTask(event, context);
  };
  let rootArn: string | undefined;
  let rootEnded!: () => void;
  const rootEnd = new Promise<void>((resolve) => (rootEnded = resolve));
  const first = runWorkflowLocally(input, { ...base, plan }, {
    retryIntervalMs: 0,
    onEvent: (arn, event) => {
      rootArn ??= arn;
      if (arn === rootArn && event.type === 'ExecutionSucceeded') rootEnded();
    },
  });
  await rootEnd;
  while (held < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  const done = new Set(doneJobs(mode, seeded, rerouted));
  const movedBeforeResume = (await jobsIn(mode === 'reroute' ? redis.source() : redis.target())).filter((e) => done.has(e)).length;

  const resumedPlan: LocalHandlers['plan'] = async (event, context) => {
    const planned = await base.plan(event, context);
    laterPlanned((planned as { settings: { plannedAt: number } }).settings.plannedAt);
    return planned;
  };
  const resumed = runWorkflowLocally(input, { ...base, plan: resumedPlan }, { retryIntervalMs: 0 });
  const [firstRun, resumedRun] = await Promise.all([first, resumed]);
  return { seeded, rerouted, firstRun, resumedRun, movedBeforeResume, laterPlannedAt: await later };
}

describe("a continuation's plan that finds its execution superseded by a later start of the run", () => {
  for (const [mode, where] of [['reroute', 'beforeLock'], ['reroute', 'beforeAdd'], ['transfer', 'beforeLock'], ['transfer', 'beforeAdd']] as const) {
    it(`(${mode}, ${where === 'beforeLock' ? 'at its lock' : 'between its lock and its entry among the executions'}) ends with a superseded summary that counts the item it carried; each job once, the run's totals add up to the 90 moved`, async () => {
      const input = inputs[mode];
      const moved = movedIn(mode);
      const { seeded, rerouted, firstRun, resumedRun, movedBeforeResume, laterPlannedAt } = await supersededAtContinuationPlan(where, mode);
      const [root, ...continuations] = firstRun;

      // Every job exactly once, re-routed on the source (reroute) or moved to the target as it was
      // (transfer); the later start ended the run and left nothing of it.
      if (mode === 'reroute') {
        const expected = rerouted.slice().sort();
        expect(await jobsIn(redis.source())).toEqual(expected);
        expect(seeded.some((s) => expected.includes(s))).toBe(false);
      } else {
        expect(await jobsIn(redis.target())).toEqual(seeded.slice().sort());
        expect(await jobsIn(redis.source())).toEqual([]);
      }
      expect(await redis.source().exists(runLockKey(''), workListKey('', input.runId), runExecutionsKey('', input.runId))).toBe(0);

      // The root handed its three items on, and counted none of them (each is counted where it ends).
      expect(root!.status).toBe('SUCCEEDED');
      expect((root!.output as RunSummary).continuedIn).toHaveLength(3);
      expect(moved(root!)).toBe(0);
      // Each continuation SUCCEEDED with a superseded summary pointing at the later start, its item
      // ended there with what the root had moved of it, and said why (main: FAILED, "Could not plan").
      expect(continuations.map((c) => [c.status, c.error])).toEqual(continuations.map(() => ['SUCCEEDED', undefined]));
      expect(continuations).toHaveLength(3);
      // The verdict line names what to do: follow the later start (a local one: in the output of the command that started it).
      const supersededLine = 'Not complete here: a later execution of run cont-plan-superseded carries the run on. Follow it in the output of the command that started it: its summary says when the run is complete.';
      for (const c of continuations) {
        const summary = c.output as RunSummary;
        // The later start's execution named (read from the run's lock as the summary ran: the later start still held it).
        expect(summary, c.executionArn).toMatchObject({ complete: false, superseded: { laterPlannedAt, laterPlannedBy: resumedRun[0]!.executionArn }, counts: { finished: 0, failed: 1, continued: 0 }, continuedIn: [] });
        expect(summary.endedRun).toBeUndefined();
        expect(summary.failures).toHaveLength(1);
        expect(summary.failures[0]!.error).toMatch(/^FatalError: Run cont-plan-superseded: this execution was superseded by a later execution of the run \(planned [^)]*, noticed on source redis:\/\/[^)]*\); it moves nothing more/);
        expect(moved(c)).toBeGreaterThan(0);
        // Its words: superseded, never Complete.
        const words = renderSummary(summary, 'redis://source');
        expect(words).toContain(`Superseded by a later execution of run cont-plan-superseded (planned ${new Date(laterPlannedAt).toISOString()}, execution ${resumedRun[0]!.executionArn})`);
        expect(summaryVerdict(summary, 'redis://source')).toEqual({ state: 'not-complete', line: supersededLine });
      }
      // What the first start moved is in its continuations' totals; the later start moved the rest.
      expect(movedBeforeResume).toBeGreaterThan(0);
      expect(continuations.reduce((n, c) => n + moved(c), 0)).toBe(movedBeforeResume);
      expect(resumedRun.map((e) => e.status)).toEqual(resumedRun.map(() => 'SUCCEEDED'));
      expect(resumedRun.reduce((n, e) => n + moved(e), 0)).toBe(90 - movedBeforeResume);
      expect((resumedRun.map((e) => e.output as RunSummary)).filter((s) => s.endedRun)).toHaveLength(1);

      // The first start's own summary (its chain, as its CLI combines it): every job it moved, and
      // superseded, not "run the same command again".
      const combined = combineSummaries(firstRun.map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));
      expect((combined.totals as { moved?: number; written?: number })[mode === 'reroute' ? 'moved' : 'written']).toBe(movedBeforeResume);
      expect(combined).toMatchObject({ complete: false, superseded: { laterPlannedAt } });
      expect(summaryVerdict(combined, 'redis://source').line).toBe(supersededLine);
    });
  }
});
