import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LuaScript } from '../../core/redis/lua-script.js';
import type { PlanOutput } from '../../core/workflow/steps/plan-step.js';
import type { ItemResult, WorkItem } from '../../core/workflow/work-item.js';
import type { WorkState } from '../../core/workflow/work-list.js';
import { interfereWithConnections, type RedisCall } from '../support/interfering-redis.js';
import { jobEntry, jobsIn, keyValueSnapshot, withQueue } from '../support/exact-jobs.js';
import { type RedisServerHandle, startRedisServers } from '../support/redis-server.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { fakeContext } from './support/lambda-harness.js';
import { coldStart, type LoadedHandlers } from './support/load-handlers.js';
import { pageHandlerFor, viaJson } from './support/run-workflow.js';

/**
 * Two starts of the same run planning at once: execution A's plan Lambda is paused by the runtime
 * after it took the run's lock, execution B (`start --resume`, other options) plans the run and
 * works its first item meanwhile, then A's Lambda wakes up and goes on. Each of A's writes after
 * the pause must be refused — B's lock records, list, executions, routing, stop marker and
 * conflicts stay exactly as B left them — and A must fail saying why. Run at every Redis call of
 * A's plan after its source lock: A is paused before that call.
 */
const servers: RedisServerHandle[] = [];
const clients: Redis[] = [];
let source: Redis;
let target: Redis;
let hA: LoadedHandlers;
let hB: LoadedHandlers;
/** What A's container's Redis calls wait for, when set (see pauseA). */
let beforeA: ((call: RedisCall) => Promise<void>) | undefined;

beforeAll(async () => {
  const [s, t] = (await startRedisServers([], [])) as [RedisServerHandle, RedisServerHandle];
  servers.push(s, t);
  source = new Redis(s.url, { protocol: 2 });
  target = new Redis(t.url, { protocol: 2 });
  clients.push(source, target);
  const env = { SIDEKIQ_MIGRATE_SOURCE_URL: s.url, SIDEKIQ_MIGRATE_TARGET_URL: t.url };
  // Two Lambda containers: each its own modules and connections.
  hA = await coldStart(env);
  hB = await coldStart(env);
  // A's connections go through a client that may hold any call (the runtime pausing the Lambda).
  interfereWithConnections(hA.connections, (call) => beforeA?.(call));
});

afterAll(async () => {
  await hA?.connections.close();
  await hB?.connections.close();
  vi.unstubAllEnvs();
  clients.forEach((c) => c.disconnect());
  await Promise.all(servers.map((s) => s.stop()));
});

// Made once: a payload's jid is random.
const payloads = new Map<number, string>();
const job = (i: number) => payloads.get(i) ?? payloads.set(i, sidekiqPayload({ className: 'Mover', queue: 'default', args: `[${i}]` })).get(i)!;
const SCORE = (i: number) => String(1795459303 + i);

/** 20 queued, 10 scheduled, 5 retrying; one scheduled entry (as B routes it) is on the target already. */
async function seed(): Promise<{ expectedSource: string[]; expectedTarget: string[] }> {
  const expectedTarget: string[] = [];
  for (let i = 0; i < 20; i++) {
    await source.lpush('queue:default', job(i));
    expectedTarget.push(jobEntry('queue:queue_b', withQueue(job(i), 'default', 'queue_b')));
  }
  await source.sadd('queues', 'default');
  for (let i = 100; i < 110; i++) {
    await source.zadd('schedule', SCORE(i), job(i));
    expectedTarget.push(jobEntry('schedule', withQueue(job(i), 'default', 'queue_b'), SCORE(i)));
  }
  for (let i = 200; i < 205; i++) {
    await source.zadd('retry', SCORE(i), job(i));
    expectedTarget.push(jobEntry('retry', withQueue(job(i), 'default', 'queue_b'), SCORE(i)));
  }
  // A conflict: B gives it back to the source's schedule and records it (its conflicts key).
  await target.zadd('schedule', SCORE(100), withQueue(job(100), 'default', 'queue_b'));
  // A sidekiq-cron definition, carried to the target by the run (cron: carry).
  await source.sadd('cron_jobs', 'cron_job:nightly');
  await source.hset('cron_job:nightly', { name: 'nightly', cron: '0 3 * * *', klass: 'Mover', status: 'enabled', message: '{"queue":"default","class":"Mover","args":[]}' });
  return { expectedSource: [jobEntry('schedule', job(100), SCORE(100))], expectedTarget: expectedTarget.sort() };
}

const common = { runId: 'run-1', mode: 'transfer', target: 'target', pageSize: 4, pagesPerInvocation: 1, cron: 'carry' };
// B is `start --resume` of the same run with other options: its sets and list differ, and its
// routing is stored in other bytes (the same mapping written in another order: a run is never
// resumed with other routing, plan-other-routing.test.ts), so a stale write of A's shows.
const inputA = { ...common, routing: { kind: 'mapping', mapping: { Mover: 'queue_b', Idle: 'queue_c' } }, sets: ['schedule'] };
const inputB = { ...common, routing: { kind: 'mapping', mapping: { Idle: 'queue_c', Mover: 'queue_b' } }, sets: ['schedule', 'retry'] };
const arn = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:sidekiq-migrate:${name}`;

const acquireSha = new LuaScript('acquireRunLock-5').sha;

/**
 * B's work after its plan: each item's pages until done (`worked`: an item already worked to its
 * end), add-up, summary (as the state machine).
 */
async function finishB(plan: PlanOutput, worked: WorkItem): Promise<Record<string, unknown>> {
  let work: WorkState = plan.work;
  while (work.more) {
    const results: ItemResult[] = [];
    for (const start of work.batch) {
      let item: WorkItem = start.kind === worked.kind && start.name === worked.name ? worked : start;
      while (!item.done) item = viaJson((await pageHandlerFor(hB, plan.settings, item)(viaJson({ settings: plan.settings, item }), fakeContext())) as WorkItem);
      results.push({ kind: item.kind, name: item.name, counters: item.counters, done: true });
    }
    work = viaJson((await hB.summarize(viaJson({ step: 'add-up', settings: plan.settings, work, results }), fakeContext())) as WorkState);
  }
  return (await hB.summarize(viaJson({ step: 'summarize', settings: plan.settings, execution: plan.execution, tally: work.tally, resumed: plan.resumed, listContinuedIn: null }), fakeContext())) as Record<string, unknown>;
}

// One whole run of B for every call of A's plan after its lock: 6 to 8 s on a 2-core machine at
// load 3, over the default 30 s at load 20 (it timed out mid-loop, every position tried passing).
describe("a plan paused after it took the run's lock, while a later start of the run plans", { timeout: 180_000 }, () => {
  it("writes nothing of its own after the pause, fails saying it was superseded, and the later start's run completes exactly", async () => {
    const outcomes: string[] = [];
    for (let at = 0; at < 200; at++) {
      await Promise.all(clients.map((c) => c.flushall()));
      const { expectedSource, expectedTarget } = await seed();

      let after = -1;
      let tookSourceLock = false;
      let signal!: () => void;
      let release!: () => void;
      const paused = new Promise<void>((resolve) => (signal = resolve));
      const gate = new Promise<void>((resolve) => (release = resolve));
      // Counted from the call after A's first lock script (its source lock, which the plan takes first).
      beforeA = async (call) => {
        if (tookSourceLock && ++after === at) {
          signal();
          await gate;
        }
        if (call.scripts.includes(acquireSha)) tookSourceLock = true;
      };
      const planA = hA.plan(viaJson({ executionInput: inputA, executionArn: arn('A') }), fakeContext()).then(
        (output) => ({ output: output as PlanOutput }),
        (error: unknown) => ({ error: error as Error }),
      );
      const first = await Promise.race([paused.then(() => 'paused' as const), planA.then(() => 'done' as const)]);
      if (first === 'done') {
        // A made fewer calls than `at` after its lock: every pause point was tried.
        const done = await planA;
        expect('error' in done ? done.error.message : 'planned').toBe('planned');
        break;
      }

      // B plans the run (it carries the cron definition) and works the schedule (it gives the
      // conflict back and records it); then an operator deletes the carried definition on the
      // target, which a stale carry must not write back.
      const planB = viaJson((await hB.plan(viaJson({ executionInput: inputB, executionArn: arn('B') }), fakeContext())) as PlanOutput);
      const schedule = planB.work.batch.find((i) => i.name === 'schedule')!;
      let item: WorkItem = schedule;
      while (!item.done) item = viaJson((await hB.transferSet(viaJson({ settings: planB.settings, item }), fakeContext())) as WorkItem);
      await target.del('cron_job:nightly');
      const before = { source: await keyValueSnapshot(source), target: await keyValueSnapshot(target) };

      release();
      const outcome = await planA;
      const after_ = { source: await keyValueSnapshot(source), target: await keyValueSnapshot(target) };
      expect(after_, `A paused before its call ${at} after its lock`).toEqual(before);
      if ('error' in outcome) {
        expect(outcome.error.message, `A paused before its call ${at} after its lock`).toMatch(
          /^Run run-1: this plan \(execution .*:A, planned .*\) was superseded by a later plan of the run \(execution .*:B, planned .*\), found on (source|target) .* before it (took the run's lock|forgot the run's conflicts|stored the run's routing, list and executions|lifted the run's stop marker|copied cron job nightly to the target); it wrote nothing more and leaves the run to that plan\. Nothing is lost: the later plan carries run run-1 on\.$/,
        );
        outcomes.push('refused');
      } else outcomes.push('planned');

      // B goes on to the end: every job exactly once, routed as B routes it.
      const summary = await finishB(planB, item);
      // Its executions all ended (the conflict given back is named in the summary: the CLI says so).
      expect(summary).toMatchObject({ complete: true, totals: { claimed: 35, written: 34, conflicts: 1 }, releasedLock: true });
      expect(await jobsIn(source)).toEqual(expectedSource);
      expect(await jobsIn(target)).toEqual(expectedTarget);
    }
    beforeA = undefined;
    // Refused at every pause before its last write, then planned (reads only after the pause).
    expect(outcomes.length).toBeGreaterThan(10);
    const firstPlanned = outcomes.indexOf('planned');
    expect(outcomes.slice(0, firstPlanned === -1 ? undefined : firstPlanned).every((o) => o === 'refused')).toBe(true);
    if (firstPlanned !== -1) expect(outcomes.slice(firstPlanned).every((o) => o === 'planned')).toBe(true);
  });
});
