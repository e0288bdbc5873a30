import { describe, expect, it } from 'vitest';
import { planNotices } from '../../cli/workflow/plan-notices.js';
import { InputError } from '../../core/errors/input-error.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// The plan's looks over the source's keyspace (is there Sidekiq data under the prefix? jobs under
// other prefixes, for its note) walked it whole, inside the plan task (its function's timeout):
// the first three walks when nothing is under the prefix, the second three a prefix found (up to
// fifteen). They are bounded by time now (PlanOptions.lookUntil), one walk each; a look cut short
// never says "no Sidekiq data" or leaves another prefix unnamed, and a wrong prefix is still
// refused, in words that say how far the look got. The bound is given to the step (no timed
// test): already spent, each look reads its first SCAN page, and 5,000 other keys outlast that.
const redis = privateSourceAndTarget();
const FILLER = 5_000;
const spent = { lookUntil: () => 0 };

async function plan(prefix: string, options = {}) {
  const provider = new UrlConnections({ source: { url: redis.urls().source, prefix }, target: { url: redis.urls().target } });
  try {
    return await planStep({ runId: 'run-1', mode: 'transfer', target: 'target', sets: ['schedule'], dryRun: true }, provider, {}, options);
  } finally {
    await provider.close();
  }
}

async function filler(): Promise<void> {
  const p = redis.source().pipeline();
  for (let i = 0; i < FILLER; i++) p.set(`uniquejobs:digest:${i}`, '1');
  await p.exec();
}

describe("the plan's looks over the source's keyspace, bounded by time", { timeout: 60_000 }, () => {
  it('a wrong prefix, the look cut short: still refused, saying how far it looked; nothing touched', async () => {
    await filler();
    for (let i = 0; i < 3; i++) await redis.source().rpush(`resque:gitlab:queue:q${i}`, 'x');
    const keys = await redis.source().dbsize();

    const refusal = plan('p', spent);

    await expect(refusal).rejects.toBeInstanceOf(InputError);
    await expect(refusal).rejects.toThrow(
      /^No Sidekiq data found under the prefix "p:" on source redis:\/\/127\.0\.0\.1:\d+ \(none of Sidekiq's own keys; its look for queue lists stopped after about 1,000 of its ([0-9,]+) keys, its time out\), but Sidekiq keys are there under "resque:gitlab:" \(3 keys\): use --namespace resque:gitlab:\. Nothing was touched\.$/,
    );
    expect(await redis.source().dbsize()).toBe(keys);
  });

  it('nothing under the prefix nor elsewhere, the look cut short: never "nothing there"; with time to finish, it is said', async () => {
    await filler();

    expect((await plan('', spent)).settings.nothingThere).toBeUndefined();
    expect((await plan('')).settings.nothingThere).toBe(true);
  });

  it("another prefix's jobs, the look cut short: named, 'at least', and how far it looked", async () => {
    await filler();
    await redis.source().rpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default', args: '[1]' }));
    await redis.source().sadd('queues', 'default');
    // Its sets are counted whatever the time; its queue lists only where the walk reached.
    await redis.source().zadd('resque:gitlab:schedule', 1, 'a', 2, 'b');
    for (let i = 0; i < 30; i++) await redis.source().rpush(`resque:gitlab:queue:q${i}`, 'x');

    const cut = planNotices(await plan('', spent), { json: false, mode: 'transfer' });
    const note = /^Note: this Redis also holds at least ([0-9]+) job\(s\) under the prefix "resque:gitlab:" \(the look for its jobs stopped after about [0-9,]+ of ([0-9,]+) keys, its time out: there may be more\), which this run does not touch\./m.exec(cut);
    expect(note, cut).not.toBeNull();
    expect(Number(note![1])).toBeGreaterThanOrEqual(2);
    expect(Number(note![1])).toBeLessThan(32);
    expect(Number(note![2]!.replaceAll(',', ''))).toBe(await redis.source().dbsize());

    const whole = planNotices(await plan(''), { json: false, mode: 'transfer' });
    expect(whole).toContain('Note: this Redis also holds 32 job(s) under the prefix "resque:gitlab:", which this run does not touch.');
  });
});
