import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { summarizeTransfer } from '../support/summarize-transfer.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// The summary looked for quarantine lists and in-flight keys with SCANs of the whole keyspace of
// the source and of the target, unbounded: on a GitLab-scale Redis (tens of millions of cache and
// duplicate-job keys, 1.3-1.6 s a million at loopback each) they outlasted the summarize
// function's timeout, and the summary of a run whose moves all finished failed. They are bounded
// by the summary's time now (as its look for workers' private lists was); a look cut short says
// what it did not confirm and never "Complete". The bound is given to the step (no timed test):
// already spent, each look reads its first SCAN page only, and 5,000 other keys outlast that.
const redis = privateSourceAndTarget();

const queued = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]', jid: '000000000000000000000001' });
const FILLER = 5_000;
const last = (text: string) => text.trimEnd().split('\n').at(-1);

async function fill(...servers: ReturnType<typeof redis.source>[]): Promise<void> {
  for (const server of servers) {
    const filler = server.pipeline();
    for (let i = 0; i < FILLER; i++) filler.set(`cache:other:${i}`, '1');
    await filler.exec();
  }
}

async function transferAndSummarize(lookUntil?: number): Promise<string> {
  const source = redis.source();
  await source.rpush('queue:old', queued);
  await source.sadd('queues', 'old');
  const summary = await summarizeTransfer(redis.urls(), lookUntil);
  await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
  return renderSummary(summary, 'source');
}

describe("the summary's look for quarantine lists and in-flight keys, bounded by time", { timeout: 60_000 }, () => {
  it('cut short among many other keys on both servers: says what it did not confirm, never "Complete"', async () => {
    await fill(redis.source(), redis.target());

    const out = await transferAndSummarize(0);

    const source = /\nThe look for quarantine lists and in-flight keys on the source \(sidekiq-migrate:\*\) was cut short: the summary's time for it ran out after about ([0-9,]+) of its ([0-9,]+) keys\. Jobs in keys it did not reach are not counted here; drain-check counts them\.\n/.exec(out);
    const target = /\nThe look for in-flight keys on the target \(sidekiq-migrate:\*:inflight:\*\) was cut short: the summary's time for it ran out after about ([0-9,]+) of its ([0-9,]+) keys\. Jobs in keys it did not reach are not counted here; drain-check of the target counts them\.\n/.exec(out);
    expect(source, out).not.toBeNull();
    expect(target, out).not.toBeNull();
    const number = (text: string) => Number(text.replaceAll(',', ''));
    // One SCAN page each: about 1,000 keys of the 5,000 and more.
    expect(number(source![1]!)).toBeLessThan(number(source![2]!));
    // The source's keys at the look, as after it: no index of in-flight keys among them (each
    // acknowledge that emptied an in-flight key took its name out with it, and the emptied index
    // with them: acknowledgeQueueBatch-4.lua, inflight-index.ts).
    expect(number(source![2]!)).toBe(await redis.source().dbsize());
    expect(await redis.source().exists('sidekiq-migrate:inflight-keys')).toBe(0);
    expect(number(target![2]!)).toBe(await redis.target().dbsize());
    expect(last(out)).toBe(
      `Done, but jobs may have been left behind: quarantine lists and in-flight keys on the source not all looked at (cut short after about ${source![1]} of ${source![2]} keys) · in-flight keys on the target not all looked at (cut short after about ${target![1]} of ${target![2]} keys) · the look for jobs in workers' private lists was cut short · the look for jobs under other prefixes was cut short (see "Needs a look" above).`,
    );
    expect(out).not.toContain('Complete');
  });

  it('with time to finish, among the same many keys: a quarantine list and in-flight keys on both are found and named', async () => {
    const [source, target] = [redis.source(), redis.target()];
    await fill(source, target);
    const job = (i: number) => sidekiqPayload({ className: 'B', queue: 'x', args: `[${i}]` });
    await source.rpush('sidekiq-migrate:quarantine:lost', job(1), job(2));
    await source.rpush('sidekiq-migrate:old:inflight:retry', job(3)); // a shape no resume writes back
    await target.rpush('sidekiq-migrate:back:inflight:queue:b', job(4), job(5), job(6));

    const out = await transferAndSummarize(Date.now() + 600_000);

    expect(out).not.toContain('cut short');
    expect(out).toContain('\nNot transferred, left on the source: sidekiq-migrate:quarantine:lost 2\n');
    expect(out).toContain('\n1 job(s) in in-flight keys on the source of a shape no transfer writes back (sidekiq-migrate:old:inflight:retry: ');
    expect(out).toContain('\n3 job(s) in flight on the target, claimed there by an interrupted transfer out of it (sidekiq-migrate:back:inflight:queue:b): ');
    expect(last(out)).toBe(
      'Done, but jobs were left behind: 1 list(s) not transferred · 3 in flight on the target from an interrupted transfer out of it · 1 in in-flight keys on the source that no run finishes (see "Needs a look" above).',
    );
  });
});
