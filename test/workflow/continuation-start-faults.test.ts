import { describe, expect, it } from 'vitest';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { StateNames } from '../../infra/constructs/state-names.js';
import { runWorkflowLocally, type LocalInvocationContext, type StartExecutionCall, type StartExecutionFault } from '../../infra/local/run-workflow-locally.js';
import { jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { seedOldForReroute } from '../support/reroute-seed.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

// 40 queued, 30 scheduled, 20 retrying jobs; 3 a page, one page an invocation, 4 loops an
// execution: every item continues in new executions (the queue in three: 12 jobs an execution).
const input = { runId: 'cont-start', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 3, pagesPerInvocation: 1, maxIterations: 4 };

async function run(fault: (call: StartExecutionCall) => StartExecutionFault | undefined) {
  const calls: StartExecutionCall[] = [];
  const executions = await runWorkflowLocally(input, localTaskHandlers(connect()), {
    retryIntervalMs: 0,
    startExecutionFault: (call) => {
      calls.push(call);
      return fault(call);
    },
  });
  const chain = executions.filter((e) => e.output).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary }));
  return { executions, calls, summary: chain.length > 0 ? combineSummaries(chain) : undefined };
}

/** Each seeded job found exactly once, either where it was or re-routed (never both, never twice, never gone). */
function expectEachJobOnce(found: readonly string[], seeded: readonly string[], rerouted: readonly string[]): { moved: number; left: number } {
  const count = new Map<string, number>();
  for (const entry of found) count.set(entry, (count.get(entry) ?? 0) + 1);
  let moved = 0;
  let left = 0;
  seeded.forEach((before, i) => {
    const after = rerouted[i]!;
    const times = (count.get(before) ?? 0) + (count.get(after) ?? 0);
    expect(times, `job ${i} (${before.slice(0, 20)}…)`).toBe(1);
    if (count.get(after)) moved++;
    else left++;
    count.delete(before);
    count.delete(after);
  });
  expect([...count.keys()], 'jobs that were never seeded').toEqual([]);
  return { moved, left };
}

describe('starting a continuation execution, when StartExecution fails', () => {
  it('a first attempt whose answer is lost (the execution did start) is retried under the same name: exactly one continuation each, every job moved once, Complete', async () => {
    const { seeded, rerouted } = await seedOldForReroute(redis.source(), (i) => `[${i}]`, { namedInQueues: false });

    // Every continuation's first StartExecution starts it, then fails as a lost answer would.
    const { executions, calls, summary } = await run((call) =>
      call.state === StateNames.continueAsNew && call.attempt === 1 ? { when: 'after', error: { name: 'StepFunctions.AWSStepFunctionsException', message: 'Service unavailable (injected: answer lost)' } } : undefined,
    );

    expect(executions.map((e) => e.error)).toEqual(executions.map(() => undefined));
    const continuations = executions.filter((e) => e.continues);
    // The retries were made: every continuation asked for twice, under one name, started once.
    const names = [...new Set(calls.map((c) => c.name))];
    expect(names.every((n) => typeof n === 'string' && n.length <= 80 && /^[A-Za-z0-9_-]+$/.test(n))).toBe(true);
    expect(calls.filter((c) => c.attempt === 2)).toHaveLength(names.length);
    expect(continuations).toHaveLength(names.length);
    expect(new Set(continuations.map((e) => e.executionArn.split(':').pop())).size).toBe(names.length);
    // The queue (40 jobs, 12 an execution) continues 3 times, the sets too: each item at least once.
    expect(continuations.length).toBeGreaterThanOrEqual(3);
    expect(summary).toMatchObject({ complete: true, failures: [], totals: { moved: 90 } });
    expect(expectEachJobOnce(await jobsIn(redis.source()), seeded, rerouted)).toEqual({ moved: 90, left: 0 });
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
  });

  // Step Functions answers a StartExecution with the name and input of an OPEN execution with that
  // execution; once it has ended, the same name is refused (ExecutionAlreadyExists). A first answer
  // lost and a retry that comes after the continuation it did start has ended: that continuation
  // carried the item, the run's result is what it did (never a start failure that never was).
  it('a first attempt whose answer is lost, retried only after the continuation it started has ended (ExecutionAlreadyExists): the item continued there, every job moved once, Complete', async () => {
    const { seeded, rerouted } = await seedOldForReroute(redis.source(), (i) => `[${i}]`, { namedInQueues: false });

    const { executions, calls, summary } = await run((call) =>
      call.state === StateNames.continueAsNew && call.attempt === 1 ? { when: 'afterItEnded', error: { name: 'StepFunctions.AWSStepFunctionsException', message: 'Service unavailable (injected: answer lost)' } } : undefined,
    );

    expect(executions.map((e) => e.error)).toEqual(executions.map(() => undefined));
    const continuations = executions.filter((e) => e.continues);
    const names = [...new Set(calls.map((c) => c.name))];
    // Each retry met the ended continuation's name: refused, and nothing started twice.
    expect(calls.filter((c) => c.attempt === 2)).toHaveLength(names.length);
    expect(calls.filter((c) => c.attempt > 2)).toEqual([]);
    expect(continuations).toHaveLength(names.length);
    expect(continuations.length).toBeGreaterThanOrEqual(3);
    // Each item continued in the execution of its continuation's name, which did run: the summaries say so.
    const continuedIn = executions.flatMap((e) => (e.output as RunSummary).continuedIn.map((c) => c.execution));
    expect(continuedIn.sort()).toEqual(continuations.map((e) => e.executionArn).sort());
    expect(continuedIn.map((arn) => arn.split(':').pop()).sort()).toEqual([...names].sort());
    expect(summary).toMatchObject({ complete: true, failures: [], totals: { moved: 90 } });
    expect(expectEachJobOnce(await jobsIn(redis.source()), seeded, rerouted)).toEqual({ moved: 90, left: 0 });
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
  });

  it('the same, and the continuation that started failed its item: the run says so (the continuation\'s error), never Complete, never that the start failed', async () => {
    const { seeded, rerouted } = await seedOldForReroute(redis.source(), (i) => `[${i}]`, { namedInQueues: false });
    const handlers = localTaskHandlers(connect());
    // The queue's first continuation fails its first page: an error no retry mends.
    const failing = { ...handlers, rerouteQueueSlice: async (i: unknown, context?: LocalInvocationContext) => {
      const item = (i as { item: { continues?: string; iteration: number } }).item;
      if (item.continues && item.iteration === 0) throw Object.assign(new Error('injected: the continuation failed its page'), { name: 'FatalError' });
      return handlers.rerouteQueueSlice(i, context);
    } };
    const calls: StartExecutionCall[] = [];
    const executions = await runWorkflowLocally(input, failing, {
      retryIntervalMs: 0,
      startExecutionFault: (call) => {
        calls.push(call);
        return call.state === StateNames.continueAsNew && call.attempt === 1 ? { when: 'afterItEnded', error: { name: 'StepFunctions.AWSStepFunctionsException', message: 'Service unavailable (injected: answer lost)' } } : undefined;
      },
    });
    const summary = combineSummaries(executions.filter((e) => e.output).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));

    expect(executions.map((e) => e.error)).toEqual(executions.map(() => undefined));
    expect(summary.complete).toBe(false);
    expect(summary.failures.map((f) => [f.kind, f.name, f.error])).toEqual([['queue', 'old', expect.stringContaining('injected: the continuation failed its page')]]);
    expect(JSON.stringify(summary.failures)).not.toContain('ExecutionAlreadyExists');
    const { moved } = expectEachJobOnce(await jobsIn(redis.source()), seeded, rerouted);
    expect(summary.totals).toMatchObject({ moved });
    expect(summary.queues['old']).toMatchObject({ moved: 12 });
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
  });

  it('a start that fails on every attempt is recorded as the item failure, naming the error: not Complete, every job once, the lock released', async () => {
    const { seeded, rerouted } = await seedOldForReroute(redis.source(), (i) => `[${i}]`, { namedInQueues: false });

    // Step Functions answers every StartExecution of an item's continuation with an error: nothing starts.
    const { executions, calls, summary } = await run((call) =>
      call.state === StateNames.continueAsNew ? { when: 'before', error: { name: 'StepFunctions.AWSStepFunctionsException', message: 'Service unavailable (injected)' } } : undefined,
    );

    // Retried with backoff, then given up: no continuation ever started.
    expect(executions).toHaveLength(1);
    expect(calls.length).toBeGreaterThan(3);
    expect(Math.max(...calls.map((c) => c.attempt))).toBeGreaterThan(1);
    const s = summary!;
    expect(s.complete).toBe(false);
    const failures = [...s.failures].sort((a, b) => a.name.localeCompare(b.name));
    expect(failures.map((f) => [f.kind, f.name])).toEqual([
      ['queue', 'old'],
      ['set', 'retry'],
      ['set', 'schedule'],
    ]);
    for (const f of failures) {
      expect(f.error).toContain('StepFunctions.AWSStepFunctionsException: Service unavailable (injected)');
      expect(f.error).toContain('never started');
    }
    // What the first execution's 4 loops moved stays moved, the rest where it was: every job once,
    // and the summary counts what moved (the queue's 4 slices of 3; the sets' pages as ZSCAN gave them).
    const { moved, left } = expectEachJobOnce(await jobsIn(redis.source()), seeded, rerouted);
    expect(s.totals).toMatchObject({ moved });
    expect(s.queues['old']).toMatchObject({ moved: 12 });
    expect(moved).toBeGreaterThan(12);
    expect(left).toBe(90 - moved);
    expect(left).toBeGreaterThan(0);
    // The continuations the page tasks had announced never started: ended by the add-up, so the
    // root was the run's last execution and released the lock.
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
  });
});
