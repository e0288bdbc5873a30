import { afterEach, describe, expect, it } from 'vitest';
import { DryRunListTooLongError } from '../../core/errors/dry-run-list-too-long-error.js';
import { addUpStep } from '../../core/workflow/steps/add-up-step.js';
import { planStep, type PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A dry run stores no list of its sets and queues: a task whose process has not got it (on AWS
// "Add up and list the next sets and queues" runs in the summarize function, another container
// than the plan's; a continued execution's plan) lists them again, walking the source's whole
// keyspace for queue lists. That walk had no time bound: on a Redis with millions of other keys
// it outlasted the function. Given a bound (AddUpOptions.listUntil; the continuation's plan:
// PlanOptions.walkUntil), a walk that does not reach the end stops the dry run with
// DryRunListTooLongError, never a shorter list. The bound is given to the step (no timed test):
// already spent, the walk reads its first SCAN page, and 5,000 other keys outlast that.
const redis = privateSourceAndTarget();
const opened: UrlConnections[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});
const FILLER = 5_000;
const clock = () => 1_000;
const QUEUES = Array.from({ length: 15 }, (_, i) => `q${String(i).padStart(2, '0')}`);

function connect(): UrlConnections {
  const provider = new UrlConnections({ source: { url: redis.urls().source }, target: { url: redis.urls().target } });
  opened.push(provider);
  return provider;
}

/** 15 queues of one job each among 5,000 other keys; a dry run planned in full (its first batch: 10 queues), as another process will see it. */
async function plannedDryRun(): Promise<PlanOutput> {
  const p = redis.source().pipeline();
  for (let i = 0; i < FILLER; i++) p.set(`uniquejobs:digest:${i}`, '1');
  for (const q of QUEUES) p.sadd('queues', q).rpush(`queue:${q}`, sidekiqPayload({ className: 'A', queue: q, jid: `${q}`.padEnd(24, '0') }));
  await p.exec();
  const plan = await planStep({ runId: 'dry-1', mode: 'transfer', source: 'source', target: 'target', sets: [], dryRun: true }, connect(), {}, { walkUntil: () => Infinity, clock });
  expect(plan.work.batch.map((i) => i.name)).toEqual(QUEUES.slice(0, 10));
  // Another container never saw the plan's list (it is kept per process, by plan id).
  return { ...plan, settings: { ...plan.settings, planId: 'another-container' } };
}

const words = (after: string) =>
  new RegExp(
    String.raw`^The dry run stopped before it had looked at every set and queue: a dry run stores no list of them, so it lists them again${after}, looking at every key of the source redis://127\.0\.0\.1:\d+ once \(SCAN\) to find every queue list, ` +
      String.raw`and in 0 s \(its share of the task's time\) it got through about 1,000 of the 5,016 keys there\. What it counted so far is not a whole dry run\. ` +
      String.raw`Raise the workflow functions' timeout \(functions\.timeoutSeconds in the deployment config, at most 900 s\), or run the dry run with the CLI on a host next to this Redis \(each SCAN call a shorter round trip\)\. Nothing was touched: a dry run writes nothing\.$`,
  );

describe("a dry run's listing of its next batch in another process, out of time", { timeout: 60_000 }, () => {
  it('the add-up stops the dry run with DryRunListTooLongError, saying how far it got; nothing touched', async () => {
    const plan = await plannedDryRun();
    const before = await keyValueSnapshot(redis.source());

    const failure = addUpStep({ settings: plan.settings, work: plan.work, results: [] }, connect(), { listUntil: 1_000, clock });

    await expect(failure).rejects.toBeInstanceOf(DryRunListTooLongError);
    await expect(failure).rejects.toThrow(words(' to go on after queue q09'));
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
  });

  it("a continued execution's plan of a dry run's list stops the same way", async () => {
    const plan = await plannedDryRun();

    const failure = planStep({ continuation: { settings: plan.settings, list: { next: 10 } } }, connect(), {}, { walkUntil: () => 1_000, clock });

    await expect(failure).rejects.toThrow(words(''));
  });

  it('with time to reach the end, the add-up lists the next batch', async () => {
    const plan = await plannedDryRun();

    const next = await addUpStep({ settings: plan.settings, work: plan.work, results: [] }, connect(), { listUntil: Infinity, clock });

    expect(next.batch.map((i) => i.name)).toEqual(QUEUES.slice(10));
  });
});
