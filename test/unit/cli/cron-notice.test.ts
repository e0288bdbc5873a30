// The notice after `run --rewrite-cron` names, after "now push to their new queue", only the
// definitions it rewrote (plan-cron.ts keeps the examples of those): a definition saved by someone
// else meanwhile is named after "saved by someone else meanwhile" and nowhere before it.
import { describe, expect, it } from 'vitest';
import { describeCron } from '../../../cli/workflow/cron-notice.js';
import type { CronReport } from '../../../core/cron/plan-cron.js';

const rewrite = (report: Partial<CronReport>): CronReport => ({ definitions: 2, misrouted: 2, examples: [], action: 'rewrite', dryRun: false, ...report }) as CronReport;

describe('the notice of definitions rewritten and saved meanwhile', () => {
  it('names the rewritten ones before, the ones saved meanwhile after', () => {
    const notice = describeCron(rewrite({ examples: [{ name: 'a', queue: 'old', to: 'new' }], rewritten: 1, changedMeanwhile: 1, changedMeanwhileExamples: ['b'] }), 'reroute');
    expect(notice).toBe('sidekiq-cron: 1 definition(s) now push to their new queue (a: old → new); 1 saved by someone else meanwhile, left as they are now (b).\n');
  });

  it('counts a rewritten one whose example was not kept (a name shared by two namespaces, one saved meanwhile) with no list', () => {
    const notice = describeCron(rewrite({ examples: [], rewritten: 1, changedMeanwhile: 1, changedMeanwhileExamples: ['a'] }), 'reroute');
    expect(notice).toBe('sidekiq-cron: 1 definition(s) now push to their new queue; 1 saved by someone else meanwhile, left as they are now (a).\n');
  });
});
