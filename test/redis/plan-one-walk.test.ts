import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { encodeMove, movesKey } from '../../core/reroute/move-record.js';
import { startedWithKey } from '../../core/workflow/started-with.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// Each SCAN visits every key of the database, whatever its MATCH: on GitLab's Redis (tens of
// millions of duplicate-job digests and caches, about a second a million keys at loopback) the
// plan's walks for queue lists, in-flight keys, cron's namespaces, a dry run's list again and a
// rollback's later records were four to five walks, and outlasted the plan's timeout ("Task timed
// out"). They come from one walk now (plan-walk.ts); the look for other prefixes' jobs (its first
// 20,000 keys) is the only other. Counted with MONITOR (a walk: SCAN with cursor 0), not timed.
const redis = privateSourceAndTarget();
const FILLER = 5_000;

async function seed(): Promise<void> {
  const p = redis.source().pipeline();
  for (let i = 0; i < FILLER; i++) p.set(`uniquejobs:digest:${i}`, '1');
  for (const q of ['a', 'b', 'c']) p.sadd('queues', q).rpush(`queue:${q}`, sidekiqPayload({ className: 'A', queue: q, jid: `j-${q}` }));
  // An interrupted transfer's claim (resumed first), and a cron definition of a 2.x namespace only the walk finds.
  p.rpush('sidekiq-migrate:old:inflight:queue:a', sidekiqPayload({ className: 'A', queue: 'a', jid: 'j-inflight' }));
  p.sadd('cron_jobs:nightly', 'cron_job:nightly:report');
  p.hset('cron_job:nightly:report', 'name', 'report', 'status', 'enabled', 'message', JSON.stringify({ class: 'A', queue: 'a', args: [] }));
  await p.exec();
}

/** The plan's result, and the SCANs it sent with cursor 0 (one each walk of the keyspace). */
async function planWatched(input: Record<string, unknown>) {
  const monitor = await redis.source().duplicate().monitor();
  const walks: string[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'scan' && args[1] === '0') walks.push(args[3]!);
  });
  const provider = new UrlConnections({ source: { url: redis.urls().source }, target: { url: redis.urls().target } });
  try {
    const plan = await planStep({ runId: 'run-1', target: 'target', ...input }, provider);
    // MONITOR lags: every command the plan sent is seen once a marker sent after it is.
    await new Promise<void>((resolve) => {
      monitor.on('monitor', (_t: string, args: string[]) => args[0]?.toLowerCase() === 'echo' && resolve());
      void (redis.source() as Redis).echo('plan-one-walk');
    });
    return { plan, walks };
  } finally {
    monitor.disconnect();
    await provider.close();
  }
}

describe("the plan's walks of the source's keyspace", { timeout: 60_000 }, () => {
  it('a transfer (dry run and not): one walk finds the queues, the jobs left in flight and the cron namespace; one more looks for other prefixes', async () => {
    await seed();

    for (const dryRun of [true, false]) {
      const { plan, walks } = await planWatched({ mode: 'transfer', dryRun });

      expect(walks, `dryRun ${dryRun}`).toHaveLength(2);
      expect(walks[1]).toBe('*');
      expect(plan.work.batch.map((i) => `${i.kind}:${i.name}`)).toEqual(['set:schedule', 'set:retry', 'set:dead', 'queue:a', 'queue:b', 'queue:c']);
      expect(plan.resumed.resumed).toBe(1);
      expect(plan.cron?.definitions).toBe(1);
    }
    // The transfer resumed the claim: on the target, as the interrupted run would have put it.
    expect(await redis.target().lrange('queue:a', 0, -1)).toEqual([sidekiqPayload({ className: 'A', queue: 'a', jid: 'j-inflight' })]);
  });

  it("a rollback's dry run: the later runs' records from the same walk", async () => {
    await seed();
    // r1 moved A's jobs a→b, r2 later b→c: r1's rollback is told r2 moved them on.
    await redis.source().sadd(movesKey('', 'r1'), encodeMove({ routedClass: 'A', from: 'a', to: 'b' }));
    await redis.source().sadd(movesKey('', 'r2'), encodeMove({ routedClass: 'A', from: 'b', to: 'c' }));
    await redis.source().set(startedWithKey('', 'r1'), '{}', 'PX', 1_000_000);
    await redis.source().set(startedWithKey('', 'r2'), '{}', 'PX', 2_000_000);

    const { plan, walks } = await planWatched({ mode: 'reroute', routing: { kind: 'rollback', of: 'r1' }, dryRun: true });

    expect(walks).toHaveLength(2);
    expect(plan.settings.movedOnSince?.runs).toEqual(['r2']);
  });
});
