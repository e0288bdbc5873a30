import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runLockKey } from '../../core/redis/run-lock.js';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import { runExecutionsKey } from '../../core/workflow/run-executions.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { workListKey } from '../../core/workflow/work-list.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { SummarizeFunctionSteps, summarizeFunctionStep } from '../../functions/support/task-inputs.js';
import { renderSummary, summaryVerdict } from '../../cli/workflow/render-summary.js';
import { runWorkflowLocally, type LocalExecution, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { withWrappedClient } from '../support/wrapped-client.js';

/**
 * A later start of the run (`start --resume`) that plans between the add-up's look for a later
 * start (the top of addUpStep) and its read of the run's list: the old execution read the NEW
 * start's list, its page tasks were refused (superseded), and its summary listed those items as
 * FAILED with the superseded error — items that were never this execution's. Here the first
 * start's add-up holds its read of the list (the MULTI of LRANGE and LLEN on the run's list) until
 * the later start has planned, every time.
 */
const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

// A re-route on the source, and a transfer (move) of the same jobs to the target: its moves are `written`.
const inputs = {
  reroute: { runId: 'list-read-superseded', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 3 },
  transfer: { runId: 'list-read-superseded', mode: 'transfer', target: 'target', pageSize: 3 },
} as const;
type Mode = keyof typeof inputs;
const QUEUES = 30;

const movedIn = (mode: Mode) => (e: LocalExecution) => ((e.output as RunSummary | undefined)?.totals as { moved?: number; written?: number } | undefined)?.[mode === 'reroute' ? 'moved' : 'written'] ?? 0;

/** 2 jobs of class A on each of 30 queues q00..q29: more than one batch of items (BATCH_SIZE 10) for either start. */
async function seed(client: Redis): Promise<{ seeded: string[]; rerouted: string[] }> {
  const seeded: string[] = [];
  const rerouted: string[] = [];
  for (let q = 0; q < QUEUES; q++) {
    const queue = `q${String(q).padStart(2, '0')}`;
    for (let i = 0; i < 2; i++) {
      const payload = sidekiqPayload({ className: 'A', queue, args: `[${q},${i}]` });
      await client.lpush(`queue:${queue}`, payload);
      seeded.push(jobEntry(`queue:${queue}`, payload));
      rerouted.push(jobEntry('queue:new', withQueue(payload, queue, 'new')));
    }
  }
  return { seeded, rerouted };
}

/** `client`, whose MULTIs that LRANGE `key` wait for `gate` before they run (`onHeld` told first). */
function holdingListReads(client: Redis, key: string, gate: Promise<unknown>, onHeld: () => void): Redis {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'multi' || typeof value !== 'function') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return (...args: unknown[]) => {
        const multi = (value as (...a: unknown[]) => { exec: (...a: unknown[]) => Promise<unknown> }).apply(target, args);
        const exec = multi.exec.bind(multi);
        multi.exec = async (...execArgs: unknown[]) => {
          const queued = (multi as unknown as { _queue: { name: string; args: unknown[] }[] })._queue;
          if (queued.some((c) => c.name === 'lrange' && String(c.args[0]) === key)) {
            onHeld();
            await gate;
          }
          return exec(...execArgs);
        };
        return multi;
      };
    },
  });
}

describe("an add-up whose read of the run's list comes after a later start of the run planned", () => {
  for (const mode of ['reroute', 'transfer'] as const)
  it(`(${mode}) ends with a superseded summary that counts only its own moves, never the later start's items as failed; each job once`, async () => {
    const input = inputs[mode];
    const moved = movedIn(mode);
    const { seeded, rerouted } = await seed(redis.source());
    const done = mode === 'reroute' ? rerouted : seeded;
    let laterPlanned!: (plannedAt: number) => void;
    const later = new Promise<number>((resolve) => (laterPlanned = resolve));
    let heldReads = 0;
    let onHeldRead!: () => void;
    const readHeld = new Promise<void>((resolve) => (onHeldRead = resolve));
    const base = localTaskHandlers(connect());
    // Only the add-up (a step of the summarize function) reads the run's list (readWork); the first start's plan writes it.
    const addUpConnections = withWrappedClient(connect(), 'source', (client) =>
      holdingListReads(client, workListKey('', input.runId), later, () => {
        heldReads++;
        onHeldRead();
      }),
    );
    const first = runWorkflowLocally(input, { ...base, summarize: localTaskHandlers(addUpConnections).summarize }, { retryIntervalMs: 0 });
    await readHeld;
    const doneNow = new Set(done);
    const movedBeforeResume = (await jobsIn(mode === 'reroute' ? redis.source() : redis.target())).filter((e) => doneNow.has(e)).length;

    // The later start: its summary waits for the first start's end, so that it holds the run's lock all along.
    const resumedPlan: LocalHandlers['plan'] = async (event, context) => {
      const planned = await base.plan(event, context);
      laterPlanned((planned as { settings: { plannedAt: number } }).settings.plannedAt);
      return planned;
    };
    const resumedSummarize: LocalHandlers['summarize'] = async (event, context) => {
      if (summarizeFunctionStep(event) === SummarizeFunctionSteps.summarize) await first;
      return base.summarize(event, context);
    };
    const resumed = runWorkflowLocally(input, { ...base, plan: resumedPlan, summarize: resumedSummarize }, { retryIntervalMs: 0 });
    const [firstRun, resumedRun] = await Promise.all([first, resumed]);
    const laterPlannedAt = await later;

    // Every job exactly once, re-routed (or moved to the target as it was); the later start ended the run and left nothing of it.
    if (mode === 'reroute') {
      expect(await jobsIn(redis.source())).toEqual(rerouted.slice().sort());
      expect(seeded.some((s) => rerouted.includes(s))).toBe(false);
    } else {
      expect(await jobsIn(redis.target())).toEqual(seeded.slice().sort());
      expect(await jobsIn(redis.source())).toEqual([]);
    }
    expect(await redis.source().exists(runLockKey(''), workListKey('', input.runId), runExecutionsKey('', input.runId))).toBe(0);
    expect(heldReads).toBe(1);

    // The first start: one execution, its first batch of 10 items moved, then superseded at its
    // read of the list; the later start's items are not its (main: 10 FAILED with the superseded error).
    expect(firstRun.map((e) => [e.status, e.error])).toEqual([['SUCCEEDED', undefined]]);
    const summary = firstRun[0]!.output as RunSummary;
    // Its first batch: the three sets (empty here) and the first 7 queues, 2 jobs each.
    expect(movedBeforeResume).toBe(14);
    expect(moved(firstRun[0]!)).toBe(movedBeforeResume);
    // It names the later start's execution, read from the run's lock; a local one is followed by its own command, not `watch`.
    const laterArn = resumedRun[0]!.executionArn;
    expect(summary).toMatchObject({ complete: false, superseded: { laterPlannedAt, laterPlannedBy: laterArn }, counts: { finished: 10, failed: 0, continued: 0 }, failures: [], continuedIn: [] });
    expect(summary.endedRun).toBeUndefined();
    const words = renderSummary(summary, 'redis://source');
    expect(words).toContain(`Superseded by a later execution of run list-read-superseded (planned ${new Date(laterPlannedAt).toISOString()}, execution ${laterArn}): this execution moved nothing more and left the run's list, executions, stop marker and lock to it.`);
    expect(words).not.toContain('sidekiq-migrate watch');
    expect(words).not.toMatch(/FAILED|failed:/i);
    expect(summaryVerdict(summary, 'redis://source')).toEqual({ state: 'not-complete', line: 'Not complete here: a later execution of run list-read-superseded carries the run on. Follow it in the output of the command that started it: its summary says when the run is complete.' });
    const combined = combineSummaries(firstRun.map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));
    expect(combined).toMatchObject({ complete: false, superseded: { laterPlannedAt, laterPlannedBy: laterArn }, counts: { failed: 0 } });

    // The later start moved the rest, and its summary ended the run.
    expect(resumedRun.map((e) => e.status)).toEqual(resumedRun.map(() => 'SUCCEEDED'));
    expect(resumedRun.reduce((n, e) => n + moved(e), 0)).toBe(2 * QUEUES - movedBeforeResume);
    expect(resumedRun.map((e) => e.output as RunSummary).filter((s) => s.endedRun)).toHaveLength(1);
  });
});
