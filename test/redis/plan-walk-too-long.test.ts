import { describe, expect, it } from 'vitest';
import { PlanWalkTooLongError } from '../../core/errors/plan-walk-too-long-error.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// The plan walks the source's keyspace once for what a run must find whole: every queue list,
// the jobs interrupted transfers left in flight, sidekiq-cron definitions (plan-walk.ts). On a
// Redis with tens of millions of other keys that walk can outlast the plan's function: it was
// killed by its timeout ("Task timed out", retried the same way), saying nothing of why. A walk
// that cannot reach the end by PlanOptions.walkUntil stops the plan before any lock or write,
// saying how far it got and what to do. The bound is given to the step (no timed test): already
// spent, the walk reads its first SCAN page, and 5,000 other keys outlast that.
const redis = privateSourceAndTarget();
const FILLER = 5_000;
const clock = () => 1_000;

describe("the plan's walk of the source's keyspace, out of time", { timeout: 60_000 }, () => {
  it('stops the plan with PlanWalkTooLongError, saying how far it got and what to do; nothing touched', async () => {
    const p = redis.source().pipeline();
    for (let i = 0; i < FILLER; i++) p.set(`uniquejobs:digest:${i}`, '1');
    p.sadd('queues', 'default').rpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default', jid: 'j1' }));
    await p.exec();
    const keys = await redis.source().dbsize();
    const provider = new UrlConnections({ source: { url: redis.urls().source }, target: { url: redis.urls().target } });

    const failure = planStep({ runId: 'run-1', mode: 'transfer', target: 'target' }, provider, {}, { walkUntil: () => 1_000, clock }).finally(() => provider.close());

    await expect(failure).rejects.toBeInstanceOf(PlanWalkTooLongError);
    await expect(failure).rejects.toThrow(
      new RegExp(
        String.raw`^The plan stopped before the run started: it looks at every key of the source redis://127\.0\.0\.1:\d+ once \(SCAN\) to find every queue list, the jobs interrupted transfers left in flight and the sidekiq-cron definitions, which a run must not miss, ` +
          String.raw`and in 0 s \(its share of the plan task's time\) it got through about 1,000 of the 5,002 keys there\. ` +
          String.raw`Raise the workflow functions' timeout \(functions\.timeoutSeconds in the deployment config, at most 900 s\), or run the move with the CLI on a host next to this Redis \(each SCAN call a shorter round trip\), or delete the keys nothing uses any more\. Nothing was touched\.$`,
      ),
    );
    expect(await redis.source().dbsize()).toBe(keys);
    expect(await redis.target().dbsize()).toBe(0);
    expect(await redis.source().lrange('queue:default', 0, -1)).toEqual([sidekiqPayload({ className: 'A', queue: 'default', jid: 'j1' })]);
  });

  it('with time to reach the end, the same plan goes on', async () => {
    const p = redis.source().pipeline();
    for (let i = 0; i < FILLER; i++) p.set(`uniquejobs:digest:${i}`, '1');
    p.sadd('queues', 'default').rpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default', jid: 'j1' }));
    await p.exec();
    const provider = new UrlConnections({ source: { url: redis.urls().source }, target: { url: redis.urls().target } });

    const plan = await planStep({ runId: 'run-1', mode: 'transfer', target: 'target', dryRun: true }, provider, {}, { walkUntil: () => Infinity, clock }).finally(() => provider.close());

    expect(plan.work.batch.map((i) => `${i.kind}:${i.name}`)).toEqual(['set:schedule', 'set:retry', 'set:dead', 'queue:default']);
  });
});
