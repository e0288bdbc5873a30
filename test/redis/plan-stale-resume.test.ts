import { afterEach, describe, expect, it } from 'vitest';
import { LuaScript } from '../../core/redis/lua-script.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep, type PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { stopRunStep } from '../../core/workflow/steps/stop-run-step.js';
import { summarizeStep } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import { jobEntry, jobsIn, keyValueSnapshot } from '../support/exact-jobs.js';
import { interfereWithConnections, type RedisCall } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

/**
 * A transfer's plan finishes what the run left in flight (resumeInflight) after it took the run's
 * lock. Plan A of run R is paused there (any Redis call after its source lock), while a later start
 * B of R plans (finishing the leftover itself), and then its page claims a slice of the same queue
 * and stops between claim and acknowledge (its write refused: the state machine retries it). The
 * in-flight key A found is now B's live slice. When A wakes up it must write nothing — not B's
 * slice to the target, not its acknowledge on the source — and fail saying it was superseded; B
 * then finishes its run, every job once. Before: A's resume wrote B's slice to the target and
 * acknowledged it under B's lock (counted by no summary: A's plan then failed, and B's retried
 * page found nothing of its slice left in flight).
 */
const redis = privateSourceAndTarget();
const opened: UrlConnections[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

function connect(before?: (call: RedisCall) => Promise<void>): UrlConnections {
  const { source, target } = redis.urls();
  const provider = new UrlConnections({ source: { url: source }, target: { url: target } });
  opened.push(provider);
  return before ? interfereWithConnections(provider, before) : provider;
}

const arn = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:sidekiq-migrate:${name}`;
const input = { runId: 'run-1', mode: 'transfer', source: 'source', target: 'target', sets: ['schedule'], pageSize: 4, pagesPerInvocation: 1 };
const budget = () => ({ deadline: Date.now() + 600_000 });
const acquireSha = new LuaScript('acquireRunLock-5').sha;
const payloads = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));

/** A page of `item` whose write to the target is refused (a key of the wrong type there): its slice stays in flight on the source. */
async function pageLeftInFlight(plan: PlanOutput, provider: UrlConnections): Promise<void> {
  // The target's queue (with what was written there) parked meanwhile, and put back as it was.
  const parked = (await redis.target().exists('queue:default')) === 1;
  if (parked) await redis.target().rename('queue:default', 'parked');
  await redis.target().set('queue:default', 'not a list');
  const item = plan.work.batch.find((i) => i.name === 'default')!;
  await expect(pageStep({ settings: plan.settings, item }, provider, budget())).rejects.toThrow();
  await redis.target().del('queue:default');
  if (parked) await redis.target().rename('parked', 'queue:default');
}

/** Run R interrupted with 4 jobs in flight (its execution failed: its locks released, the run stopped). */
async function interruptedRun(): Promise<void> {
  for (const p of payloads) await redis.source().lpush('queue:default', p);
  await redis.source().sadd('queues', 'default');
  const provider = connect();
  const first = await planStep(input, provider, { executionArn: arn('first') });
  await pageLeftInFlight(first, provider);
  await stopRunStep(first.settings, provider, { reason: 'FAILED' });
  expect(await redis.source().llen('sidekiq-migrate:run-1:inflight:queue:default')).toBe(4);
}

/**
 * Every key and value on both servers; a ledger's TTL aside: A paused between its retirement's look
 * at the source (nothing in flight then) and its retire may give the ledger its TTL after B
 * claimed a slice, which is safe (retireLedger-4.lua): the ledger holds nothing of that slice (its
 * copy records its batch and takes the TTL off again), only of batches acknowledged already. A
 * queue's ledger is a hash (by position), a set's a set of ids.
 */
async function both(): Promise<unknown> {
  const target = await keyValueSnapshot(redis.target());
  for (const [key, value] of Object.entries(target)) if (key.includes(':ledger:')) target[key] = String(value).replace(/^(set|hash) expiring@\S+/, '$1 persistent');
  return { source: await keyValueSnapshot(redis.source()), target };
}

async function finish(plan: PlanOutput, provider: UrlConnections): Promise<void> {
  for (const start of plan.work.batch) {
    let item: WorkItem = start;
    while (!item.done) item = await pageStep({ settings: plan.settings, item }, provider, budget());
  }
  expect(await summarizeStep({ settings: plan.settings, execution: plan.execution, tally: plan.work.tally }, provider)).toMatchObject({ releasedLock: true });
}

// An interrupted run, a later start's plan and its whole run for every call of the paused plan
// after its lock: 8 s on a 2-core machine at load 3, 21 s of the default 30 s at load 20.
describe("a transfer's plan paused in its resume of what is in flight, while a later start of the run plans and moves", { timeout: 180_000 }, () => {
  it('writes nothing after the pause (not the later start\'s slice), fails saying it was superseded; the later start finishes, every job once', async () => {
    const outcomes: string[] = [];
    for (let at = 0; at < 200; at++) {
      await Promise.all([redis.source().flushall(), redis.target().flushall()]);
      await interruptedRun();

      let after = -1;
      let tookLock = false;
      let signal!: () => void;
      let release!: () => void;
      const paused = new Promise<void>((resolve) => (signal = resolve));
      const gate = new Promise<void>((resolve) => (release = resolve));
      const providerA = connect(async (call) => {
        if (tookLock && ++after === at) {
          signal();
          await gate;
        }
        if (call.scripts.includes(acquireSha)) tookLock = true;
      });
      const planA = planStep(input, providerA, { executionArn: arn('A') }).then(
        () => 'planned',
        (error: unknown) => (error as Error).message,
      );
      const first = await Promise.race([paused.then(() => 'paused' as const), planA.then(() => 'done' as const)]);
      if (first === 'done') {
        expect(await planA).toBe('planned');
        break;
      }

      // B plans the run (finishing the 4 in flight, unless A did before its pause), then its page
      // leaves a slice of 4 in flight.
      const providerB = connect();
      const planB = await planStep(input, providerB, { executionArn: arn('B') });
      expect([0, 4]).toContain(planB.resumed.resumed);
      await pageLeftInFlight(planB, providerB);
      expect(await redis.source().llen('sidekiq-migrate:run-1:inflight:queue:default')).toBe(4);
      const before = await both();

      release();
      const outcome = await planA;
      expect(await both(), `A paused before its call ${at} after its lock`).toEqual(before);
      if (outcome === 'planned') outcomes.push('planned');
      else {
        expect(outcome, `A paused before its call ${at} after its lock`).toMatch(/^Run run-1: this plan \(execution .*:A, planned .*\) was superseded by a later plan of the run \(execution .*:B, planned .*\), found on (source|target) .* before it (took the run's lock|forgot the run's conflicts|lifted the run's stop marker|resumed sidekiq-migrate:run-1:inflight:queue:default|stored the run's routing, list and executions)|^Run run-1: this execution was superseded by a later execution of the run \(planned later, noticed on target .*\); it moves nothing more/);
        outcomes.push('refused');
      }

      await finish(planB, providerB);
      expect(await jobsIn(redis.source())).toEqual([]);
      expect(await jobsIn(redis.target())).toEqual(payloads.map((p) => jobEntry('queue:default', p)).sort());
    }
    expect(outcomes.length).toBeGreaterThan(10);
    const firstPlanned = outcomes.indexOf('planned');
    expect(outcomes.slice(0, firstPlanned === -1 ? undefined : firstPlanned).every((o) => o === 'refused')).toBe(true);
  });
});
