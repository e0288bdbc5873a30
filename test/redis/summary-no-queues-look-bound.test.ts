import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { summarizeStep, type RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { planPagedAndAddedUp } from '../support/summarize-transfer.js';

// A re-route with --no-queues names the jobs in the retired queues it left out. Its look for
// those queues was a SCAN of `queue:*` of its own, unbounded (a walk of every key of the database:
// on GitLab's Redis, millions), outside the summary's time. It is fed by the summary's one walk
// now, within its time: cut short, the queues the `queues` set names are counted still, and the
// words say the count is a floor and why, never "Complete".
const server = privateRedis();
const FILLER = 5_000;
const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, jid: `${i}`.padStart(24, '0') });

async function rerouteNoQueues(lookUntil?: number): Promise<RunSummary> {
  const provider = new UrlConnections({ source: { url: server.url() } });
  try {
    const { plan, work } = await planPagedAndAddedUp({ runId: 'run-1', mode: 'reroute', queues: false, sets: ['schedule', 'retry', 'dead', 'interrupted'], routing: { kind: 'renames', renames: { old: 'new' } } }, provider);
    return await summarizeStep({ settings: plan.settings, execution: plan.execution, tally: work.tally }, provider, lookUntil === undefined ? {} : { lookUntil });
  } finally {
    await provider.close();
  }
}

async function seed(): Promise<void> {
  const redis = server.client();
  await redis.rpush('queue:old', job(1), job(2));
  await redis.sadd('queues', 'old');
  const filler = redis.pipeline();
  for (let i = 0; i < FILLER; i++) filler.set(`uniquejobs:digest:${i}`, '1');
  await filler.exec();
}

describe("--no-queues' look for the queues it left out, within the summary's time", { timeout: 60_000 }, () => {
  it('cut short: the `queues` set\'s queues counted, "at least", why, and not "Complete"', async () => {
    await seed();

    const out = renderSummary(await rerouteNoQueues(0), 'source');

    expect(out).toContain('\nNot looked at by this run (--no-queues), at least 2 job(s): queue:old 2. Run again without those options to move them.\n');
    const cut = /\nThe look for the queue lists --no-queues left out on this Redis \(queue:\*\) was cut short: the summary's time for it ran out after about ([0-9,]+) of its ([0-9,]+) keys\. The queues the `queues` set names were counted; jobs in a queue list it does not name may not be\. drain-check counts them\.\n/.exec(out);
    expect(cut, out).not.toBeNull();
    expect(Number(cut![2]!.replaceAll(',', ''))).toBe(await server.client().dbsize());
    expect(Number(cut![1]!.replaceAll(',', ''))).toBeLessThan(FILLER);
    // Its other looks share the walk, and are cut short with it.
    expect(out.trimEnd().split('\n').at(-1)).toMatch(
      /^Done, but jobs were left behind: at least 2 in sets and queues this run did not look at · quarantine lists and in-flight keys on this Redis not all looked at \(cut short after about [0-9,]+ of [0-9,]+ keys\) · queue lists --no-queues left out not all looked at \(cut short after about [0-9,]+ of [0-9,]+ keys\) · the look for jobs in workers' private lists was cut short · the look for jobs under other prefixes was cut short \(see "Needs a look" above\)\.$/,
    );
    expect(out).not.toContain('Complete');
    await expectExactJobs(server.client(), '', [jobEntry('queue:old', job(1)), jobEntry('queue:old', job(2))]);
  });

  it('with time to finish: the same count, no "at least", nothing cut short', async () => {
    await seed();

    const out = renderSummary(await rerouteNoQueues(), 'source');

    expect(out).toContain('\nNot looked at by this run (--no-queues), 2 job(s): queue:old 2. Run again without those options to move them.\n');
    expect(out).not.toContain('cut short');
    expect(out.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 2 in sets and queues this run did not look at (see "Needs a look" above).');
  });
});
