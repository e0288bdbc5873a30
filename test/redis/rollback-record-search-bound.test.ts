import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors/input-error.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A rollback whose run recorded no moves under its prefix looks for the record under the other
// prefixes of the Redis (movesPrefixes), a SCAN of its own inside the plan task. It stopped after
// 100,000 keys whatever the time (on a slow link, 100 round trips the plan's time did not count)
// and then said the run had recorded nothing, though the record may have been among the keys after.
// Now it is bounded by the plan's look time (PlanOptions.lookUntil), walks to the end when it has
// the time, and, cut short, says how far it looked. The bound is given to the step (no timed
// test): already spent, the look reads its first SCAN page, and 5,000 other keys outlast that.
const redis = privateSourceAndTarget();
const opened: UrlConnections[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});
const clock = () => 1_000;

function connect(): UrlConnections {
  const provider = new UrlConnections({ source: { url: redis.urls().source } });
  opened.push(provider);
  return provider;
}

async function seed(): Promise<void> {
  const p = redis.source().pipeline();
  for (let i = 0; i < 5_000; i++) p.set(`uniquejobs:digest:${i}`, '1');
  p.sadd('queues', 'default').rpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default', jid: 'j1'.padEnd(24, '0') }));
  await p.exec();
}

const rollback = (of: string) => ({ runId: 'rb-1', mode: 'reroute', source: 'source', routing: { kind: 'rollback', of } });

describe("a rollback's look for its run's record under other prefixes", { timeout: 60_000 }, () => {
  it('out of time, refuses saying how far it looked, never that the run recorded nothing; nothing touched', async () => {
    await seed();
    const before = await keyValueSnapshot(redis.source());

    // Its 5,002 keys: the 5,000 seeded, `queues` and `queue:default`; the run's lock is no longer
    // among them (refused before any lock is taken: cli-refused-move-touches-nothing.test.ts).
    const failure = planStep(rollback('never-ran'), connect(), {}, { lookUntil: () => 1_000, walkUntil: () => Infinity, clock });

    await expect(failure).rejects.toBeInstanceOf(InputError);
    await expect(failure).rejects.toThrow(
      new RegExp(
        String.raw`^Run never-ran recorded no moves on redis://127\.0\.0\.1:\d+, and the look for its record under other prefixes of this Redis stopped after about 1,000 of its 5,002 keys \(its share of the plan task's time\): ` +
          String.raw`it moved nothing, was a dry run, is older than 30 days, was a transfer, or its record is under another prefix among the keys not looked at \(give that prefix with --namespace\)\.$`,
      ),
    );
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
  });

  it('with the time, walks to the end and names the prefix it found the record under', async () => {
    await seed();
    await redis.source().sadd('resque:gitlab:sidekiq-migrate:fwd-1:moves', 'x');

    const failure = planStep(rollback('fwd-1'), connect(), {}, { lookUntil: () => Infinity, walkUntil: () => Infinity, clock });

    await expect(failure).rejects.toThrow(/^Run fwd-1 recorded no moves on redis:\/\/127\.0\.0\.1:\d+, but its record is on this Redis under the prefix "resque:gitlab:": use --namespace resque:gitlab:\.$/);
  });
});
