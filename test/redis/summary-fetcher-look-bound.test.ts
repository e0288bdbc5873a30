import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { summarizeTransfer } from '../support/summarize-transfer.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// The summary looks for jobs workers took into their fetchers' private lists with SCANs of the
// whole keyspace. On a GitLab-scale Redis (millions of duplicate-job and cache keys) that was
// thousands of round trips inside the summarize function, unbounded: the summary of a run whose
// moves all finished could time out. It is bounded by time now; a look cut short says so, and the
// verdict is not "Complete". The bound is given to the step (no timed test): already spent, the
// look reads the first SCAN page of each pattern only, and 5,000 other keys outlast that.
const redis = privateSourceAndTarget();
const source = () => redis.source();

const queued = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]', jid: '000000000000000000000001' });
const FILLER = 5_000;

async function transferAndSummarize(lookUntil?: number, seedMore?: () => Promise<unknown>): Promise<string> {
  const source = redis.source();
  await seedMore?.();
  await source.rpush('queue:old', queued);
  await source.sadd('queues', 'old');
  const filler = source.pipeline();
  for (let i = 0; i < FILLER; i++) filler.set(`uniquejobs:digest:${i}`, '1');
  await filler.exec();
  const summary = await summarizeTransfer(redis.urls(), lookUntil);
  await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
  return renderSummary(summary, 'source');
}

describe("the summary's look for jobs in workers' private lists, bounded by time", { timeout: 60_000 }, () => {
  it('cut short among many other keys: says so, and does not say "Complete"', async () => {
    const out = await transferAndSummarize(0);

    expect(out).toContain(
      "\nThe look for jobs workers took from the source's queues into their fetchers' private lists (working:queue:*, queue:sq|*) was cut short: the summary's time for it ran out before it reached the end of the keys of the source, after 0 list(s) with such jobs. There may be more there; drain-check counts them.\n",
    );
    // The looks for quarantine lists and in-flight keys, and for jobs under other prefixes, share
    // the time, and are cut short too (summary-leftover-look-bound.test.ts, other-prefixes-left.test.ts).
    expect(out).toContain("\nThe look for jobs under other prefixes of this Redis was cut short: the summary's time for it ran out before it reached the end of the keys of the source. There may be jobs there it did not count; drain-check names them.\n");
    expect(out.trimEnd().split('\n').at(-1)).toMatch(
      /^Done, but jobs may have been left behind: quarantine lists and in-flight keys on the source not all looked at \(cut short after about [0-9,]+ of [0-9,]+ keys\) · the look for jobs in workers' private lists was cut short · the look for jobs under other prefixes was cut short \(see "Needs a look" above\)\.$/,
    );
  });

  it("stopped at 1,000 lists (gone workers'): the ones it read counted, and said to be not all", async () => {
    // 2,500 lists of gone workers: the look stops once it has 1,000 (at the end of the SCAN page
    // that reached them: a page of COUNT 1,000 can return all of a small keyspace at once, so
    // 1,001 lists could be read whole, and truly be all).
    const lists = source().pipeline();
    for (let i = 0; i < 2_500; i++) lists.rpush(`working:queue:old:gitlab-sidekiq-${i}:4242:0a1b2c3d4e5f`, `{"class":"A","queue":"old","args":[${i}]}`);
    const out = await transferAndSummarize(undefined, () => lists.exec());

    const found = /\n([0-9,]+) job\(s\) taken from the source's queues by workers that are gone/.exec(out);
    expect(Number(found![1]!.replaceAll(',', ''))).toBeGreaterThanOrEqual(1_000);
    expect(Number(found![1]!.replaceAll(',', ''))).toBeLessThan(2_500);
    expect(out).toContain(
      `\nThe look for jobs workers took from the source's queues into their fetchers' private lists (working:queue:*, queue:sq|*) was cut short: it stopped at ${found![1]} lists with such jobs, the most a summary reads. There may be more there; drain-check counts them.\n`,
    );
    expect(out.trimEnd().split('\n').at(-1)).toBe(`Done, but jobs were left behind: ${found![1]} in private lists of gone workers · the look for jobs in workers' private lists was cut short (see "Needs a look" above).`);
  });

  it('with time to finish: the same data, nothing held, "Complete"', async () => {
    const out = await transferAndSummarize();

    expect(out).not.toContain('cut short');
    expect(out.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
  });
});
