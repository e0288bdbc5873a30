import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { runLockKey } from '../../core/redis/run-lock.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep, type PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { stopRunStep } from '../../core/workflow/steps/stop-run-step.js';
import { summarizeStep } from '../../core/workflow/steps/summarize-step.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import { parsePageInput, parseSummarizeInput } from '../../functions/support/task-inputs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { jobsIn } from '../support/exact-jobs.js';
import { seedSupersededRun, supersededRunState, SUPERSEDED_BUDGET, SUPERSEDED_TRANSFER } from '../support/superseded-run.js';

/**
 * Edge (b) of the closing notes (audit-edges): the claims (and copies, renewals, the summary's
 * finish) accept a step that names no generation (lib/claim-lock.lua lockTaken compares nothing
 * for ''; acquireRunLock-5 'hold' takes the holder's plannedAt as its own; finishRun-4 releases).
 * Every execution this version plans names one (plan-step.ts), so a superseded execution of this
 * version is refused (superseded-execution.test.ts). One planned by a version before 9f99334
 * names none, and its plan wrote none into the lock: redriven after a `start --resume` of this
 * version, its tasks (their input parsed as a Lambda's, functions/support/task-inputs.ts) must be
 * refused as any superseded execution's.
 */
const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

/** The lock's record on `client` as a plan before 9f99334 wrote it: no plannedAt, no plannedBy. */
async function asOlderLock(client: Redis): Promise<void> {
  const { plannedAt: _at, plannedBy: _by, ...older } = JSON.parse((await client.get(runLockKey('')))!) as Record<string, unknown>;
  await client.set(runLockKey(''), JSON.stringify(older));
}

/** A plan of run-1 as a version before 9f99334 made it: its settings and its locks name no generation. */
async function olderPlan(provider: ConnectionProvider): Promise<PlanOutput> {
  const planned = await planStep(SUPERSEDED_TRANSFER, provider);
  await asOlderLock(redis.source());
  await asOlderLock(redis.target());
  const { plannedAt: _at, plannedBy: _by, ...settings } = planned.settings;
  return { ...planned, settings };
}

/** A page task as the Lambda runs it: its input parsed first. */
const page = (plan: PlanOutput, item: WorkItem, provider: ConnectionProvider) =>
  pageStep(parsePageInput(JSON.parse(JSON.stringify({ settings: plan.settings, item })), { mode: 'transfer', kind: item.kind }), provider, SUPERSEDED_BUDGET);

describe('an execution planned by an older version (no generation in its settings or its lock)', () => {
  it('redriven after a start --resume of this version: its page tasks move nothing, its summary ends nothing of the later start and does not say Complete; the later start completes, each job once', async () => {
    const seeded = await seedSupersededRun(redis.source());
    const provider = connect();
    const old = await olderPlan(provider);
    const queue = old.work.batch.find((i) => i.kind === 'queue')!;
    const schedule = old.work.batch.find((i) => i.kind === 'set')!;
    const afterOld = await pageStep({ settings: old.settings, item: queue }, provider, { ...SUPERSEDED_BUDGET, maxPages: 1 });
    expect(afterOld).toMatchObject({ done: false, counters: { written: 10 } });
    await stopRunStep({ runId: 'run-1', source: 'source', target: 'target', dryRun: false }, provider, { reason: 'ABORTED' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const later = await planStep(SUPERSEDED_TRANSFER, provider);
    const before = await supersededRunState(redis.source(), redis.target());

    // The older execution, redriven: a page task of the set it had not started, then of its queue.
    const superseded = /Run run-1: this execution was superseded by a later execution of the run/;
    await expect(page(old, schedule, provider)).rejects.toThrow(superseded);
    await expect(page(old, afterOld, provider)).rejects.toThrow(superseded);
    expect(await supersededRunState(redis.source(), redis.target())).toEqual(before);
    // Its summary.
    const summaryOld = await summarizeStep(parseSummarizeInput(JSON.parse(JSON.stringify({ settings: old.settings, execution: old.execution, tally: old.work.tally }))), provider);
    expect(summaryOld).toMatchObject({ releasedLock: false, complete: false });
    expect(renderSummary(summaryOld, 'source')).not.toMatch(/Complete:/);
    expect(await supersededRunState(redis.source(), redis.target())).toEqual(before);

    // The later start goes on as if the older one had never come back.
    for (const item of later.work.batch) {
      let current = item;
      while (!current.done) current = await page(later, current, provider);
    }
    const summaryLater = await summarizeStep({ settings: later.settings, execution: later.execution, tally: later.work.tally }, provider);
    expect(summaryLater).toMatchObject({ releasedLock: true, complete: true });
    expect({ source: await jobsIn(redis.source()), target: await jobsIn(redis.target()) }).toEqual({ source: [], target: seeded });
  });

  it('alone, it still runs to its end: every job moved once, Complete, its locks released', async () => {
    const seeded = await seedSupersededRun(redis.source());
    const provider = connect();
    const old = await olderPlan(provider);
    for (const item of old.work.batch) {
      let current = item;
      while (!current.done) current = await page(old, current, provider);
    }
    const summary = await summarizeStep(parseSummarizeInput(JSON.parse(JSON.stringify({ settings: old.settings, execution: old.execution, tally: old.work.tally }))), provider);
    expect(summary).toMatchObject({ releasedLock: true, complete: true });
    expect({ source: await jobsIn(redis.source()), target: await jobsIn(redis.target()) }).toEqual({ source: [], target: seeded });
    expect([await redis.source().exists(runLockKey('')), await redis.target().exists(runLockKey(''))]).toEqual([0, 0]);
  });
});
