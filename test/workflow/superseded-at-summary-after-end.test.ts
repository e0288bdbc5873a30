import { describe, expect, it } from 'vitest';
import { ROOT_EXECUTION } from '../../core/workflow/run-executions.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { summaryVerdict } from '../../cli/workflow/render-summary.js';
import { SummarizeFunctionSteps, summarizeFunctionStep } from '../../functions/support/task-inputs.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { jobsIn } from '../support/exact-jobs.js';
import { isContinuation, runLaterStartToRunEnd, runRecords } from '../support/later-start-ends-run.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { seedOldForReroute } from '../support/reroute-seed.js';
import { connectionsPerTest } from '../support/test-connections.js';

/**
 * audit-review3: an execution a later start of the run (`start --resume`) superseded with no item
 * of it failed (its items handed on to continuations, or all done before the later start planned),
 * whose summary runs only once that later start has ended the run and released its lock (the
 * summary's Lambda throttled, retried): the lock no longer tells, and the run's executions are gone
 * (the later start's finish deleted them). Its summary took the run as its own to end (endedRun,
 * its finish record written over the later start's), and its continuations, held at their plan,
 * then read that record as their own start's: FAILED, "lost its run lock". The later start's finish
 * record tells the summary it was superseded (superseded-continuation-plan-after-end.test.ts, for
 * its plan and add-up).
 */
const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

const input = { runId: 'summary-after-end', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 3, pagesPerInvocation: 1, maxIterations: 4 };
const isRootSummary = (event: unknown) => summarizeFunctionStep(event) === SummarizeFunctionSteps.summarize && (event as { execution?: unknown }).execution === ROOT_EXECUTION;

describe('an execution superseded with no item failed, whose summary runs only once the later start has ended the run', () => {
  it('says it was superseded, ends nothing, writes nothing of the run; its continuations end superseded too; each job once', async () => {
    const { rerouted } = await seedOldForReroute(redis.source(), (i) => `[${i}]`, { namedInQueues: false });
    let laterEnded!: () => void;
    const ended = new Promise<void>((resolve) => (laterEnded = resolve));
    let heldPlans = 0;
    let summaryHeld = false;
    let rootPlannedAt: number | undefined;
    const base = localTaskHandlers(connect());
    const plan: LocalHandlers['plan'] = async (event, context) => {
      if (isContinuation(event)) {
        heldPlans++;
        await ended;
        return base.plan(event, context);
      }
      const planned = await base.plan(event, context);
      rootPlannedAt ??= (planned as { settings: { plannedAt: number } }).settings.plannedAt;
      return planned;
    };
    let releaseSummary!: () => void;
    const summaryGo = new Promise<void>((resolve) => (releaseSummary = resolve));
    const summarize: LocalHandlers['summarize'] = async (event, context) => {
      if (isRootSummary(event)) {
        summaryHeld = true;
        await summaryGo;
      }
      return base.summarize(event, context);
    };
    let rootArn: string | undefined;
    let rootEnded!: () => void;
    const rootEnd = new Promise<void>((resolve) => (rootEnded = resolve));
    const first = runWorkflowLocally(input, { ...base, plan, summarize }, {
      retryIntervalMs: 0,
      onEvent: (arn, event) => {
        rootArn ??= arn;
        if (arn === rootArn && (event.type === 'ExecutionSucceeded' || event.type === 'ExecutionFailed')) rootEnded();
      },
    });
    while (!(summaryHeld && heldPlans >= 3)) await new Promise((resolve) => setTimeout(resolve, 5));

    const { laterPlannedAt, laterPlannedBy, leftByTheLaterStart } = await runLaterStartToRunEnd(redis.source(), input, base);

    // The root's summary first (the run ended under it), then its continuations' plans.
    releaseSummary();
    await rootEnd;
    laterEnded();
    const [root, ...continuations] = await first;

    expect(await jobsIn(redis.source())).toEqual(rerouted.slice().sort());
    expect(root!.status).toBe('SUCCEEDED');
    const rootSummary = root!.output as RunSummary;
    expect(rootSummary).toMatchObject({ complete: false, superseded: { laterPlannedAt, laterPlannedBy } });
    expect(rootSummary.endedRun).toBeUndefined();
    expect(rootSummary.releasedLock).toBe(false);
    expect(summaryVerdict(rootSummary, 'redis://source').line).toBe('Not complete here: a later execution of run summary-after-end carries the run on. Follow it in the output of the command that started it: its summary says when the run is complete.');
    expect(continuations).toHaveLength(3);
    expect(continuations.map((c) => [c.status, c.error?.message])).toEqual(continuations.map(() => ['SUCCEEDED', undefined]));
    for (const c of continuations) expect(c.output as RunSummary, c.executionArn).toMatchObject({ complete: false, superseded: { laterPlannedAt, laterPlannedBy } });
    // Nothing of the run written after the later start ended it: its finish record its own. (Only
    // the root's ended queues, under its own start's fields, written before it ends among the run's
    // executions as every execution's are, expiring with them: ended-queues.ts.)
    const { [`sidekiq-migrate:${input.runId}:ended-queues`]: endedQueues, ...records } = await runRecords(redis.source());
    expect(records).toEqual(leftByTheLaterStart);
    if (endedQueues !== undefined) {
      const fields = Object.keys(await redis.source().hgetall(`sidekiq-migrate:${input.runId}:ended-queues`));
      expect(fields.filter((f) => !f.replace(/^set\n/, '').startsWith(`${rootPlannedAt}\n`))).toEqual([]);
    }
  });
});
