import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { summarizeStep } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { planPagedAndAddedUp } from '../support/summarize-transfer.js';

// The summary's looks over the source's keyspace (quarantine lists and in-flight keys, the
// private lists' two patterns, jobs under other prefixes) each walked the whole keyspace: four
// walks, each a SCAN call per 1,000 keys of the database whatever it matched (on GitLab's Redis,
// millions of keys: thousands of round trips, four times over). One walk feeds them all now; what
// each finds, and the words, are the same.
const redis = privateSourceAndTarget();
const FILLER = 20_000;

const queued = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]', jid: '000000000000000000000001' });
const taken = sidekiqPayload({ className: 'A', queue: 'old', args: '[2]', jid: '000000000000000000000002' });
const quarantined = '{"class":"A","queue":"old","args":[3]';
const elsewhere = sidekiqPayload({ className: 'A', queue: 'old', args: '[4]', jid: '000000000000000000000004' });

const scanCalls = async (info: string) => Number(/^cmdstat_scan:calls=(\d+),/m.exec(info)?.[1] ?? 0);

describe("the summary's looks over the source's keyspace", { timeout: 120_000 }, () => {
  it('one walk of it feeds them all: about one SCAN per 1,000 keys, not four; each look finds what it found', async () => {
    const source = redis.source();
    await source.rpush('queue:old', queued);
    await source.sadd('queues', 'old');
    const filler = source.pipeline();
    for (let i = 0; i < FILLER; i++) filler.set(`uniquejobs:digest:${i}`, '1');
    await filler.exec();
    const provider = new UrlConnections({ source: { url: redis.urls().source }, target: { url: redis.urls().target } });
    try {
      const { plan, work } = await planPagedAndAddedUp({ runId: 'run-1', mode: 'transfer', target: 'target', sets: ['schedule'] }, provider);
      // What each look finds, arriving after the moves: a gone worker's private list, a quarantine
      // list, jobs under GitLab's old prefix.
      await source.rpush('working:queue:old:gitlab-sidekiq-0:4242:0a1b2c3d4e5f', taken);
      await source.rpush('sidekiq-migrate:quarantine:old', quarantined);
      await source.rpush('resque:gitlab:queue:old', elsewhere);
      await source.config('RESETSTAT');

      const summary = await summarizeStep({ settings: plan.settings, execution: plan.execution, tally: work.tally }, provider);

      const keys = await source.dbsize();
      const scans = await scanCalls(await source.info('commandstats'));
      // A page may hold a few more than its COUNT (whole hash buckets): one walk is at most about
      // keys / 1,000 calls, four walks about four times that.
      expect(scans).toBeGreaterThanOrEqual(Math.floor(keys / 1_500));
      expect(scans).toBeLessThanOrEqual(Math.ceil(keys / 1_000) + 2);
      const out = renderSummary(summary, 'source');
      expect(out).toContain("\n1 job(s) taken from the source's queues by workers that are gone, in their fetchers' private lists (working:queue:old:gitlab-sidekiq-0:4242:0a1b2c3d4e5f 1)");
      expect(summary.leftOnSource).toEqual([{ key: 'sidekiq-migrate:quarantine:old', queue: 'old', size: 1 }]);
      expect(summary.underOtherPrefixes).toMatchObject({ own: '', jobs: 1, places: [{ name: 'resque:gitlab:queue:old', jobs: 1 }], prefixes: ['resque:gitlab:'] });
      expect(summary.underOtherPrefixes?.cutShort).toBeUndefined();
      expect(summary.heldByWorkers?.cutShort).toBeUndefined();
      expect(summary.leftoverLooksCutShort).toBeUndefined();
      expect(out).not.toContain('cut short');
      expect(out).not.toContain('Complete');
      await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
    } finally {
      await provider.close();
    }
  });
});
