// A transfer slice wrote its jobs to the target, then its acknowledge on the source failed (the
// connection dropped before it was sent): the task returned the slices before it, and the next
// task found the slice in flight and wrote it again through the run's ledger, which knew every
// job of it as written: not written twice (right), but counted as "duplicate". The summary's table
// had a column "duplicate 7" beside "written 33" for a queue whose 40 jobs were all on the target
// once, and "Written to: q 33": read as 7 jobs the user had twice, or 7 the move dropped. They
// were the run's own earlier write. The summary now calls them that.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import type { TransferCounters } from '../../core/transfer/transfer-counters.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { aroundScriptPipelines } from '../support/around-script-pipelines.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { withWrappedClient } from '../support/wrapped-client.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

/** `provider` whose source client drops the connection as it is about to send the `nth` pipeline running `script` (it never runs). */
function acknowledgeNeverSent(provider: ConnectionProvider, script: string, nth: number): ConnectionProvider & { dropped: () => number } {
  const sha = new LuaScript(script, { encodeCalls: true }).sha;
  let seen = 0;
  let dropped = 0;
  const wrap = (client: Redis): Redis =>
    aroundScriptPipelines(client, sha, async (exec) => {
      if (++seen === nth) {
        dropped++;
        throw Object.assign(new Error('write ECONNRESET'), { code: 'ECONNRESET' });
      }
      return exec();
    });
  return { ...withWrappedClient(provider, 'source', wrap), dropped: () => dropped };
}

describe('a slice whose acknowledge failed after its write: the retry finds its jobs written, and the summary says they are the run’s own earlier write', () => {
  for (const [kind, script, key] of [['queue', 'acknowledgeQueueBatch-4', 'queue:q'], ['set', 'acknowledgeSetBatch-10', 'retry']] as const) {
    it(`${kind}: every job on the target once; "written before 7", named as this run's write, no "duplicate"`, async () => {
      const source = redis.source();
      const queued = Array.from({ length: 40 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
      const retrying = Array.from({ length: 40 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${100 + i}]` }));
      for (const p of queued) await source.lpush('queue:q', p);
      for (const [i, p] of retrying.entries()) await source.zadd('retry', String(2e9 + i), p);
      await source.sadd('queues', 'q');
      const provider = acknowledgeNeverSent(connect(), script, 2);

      const executions = await runWorkflowLocally({ runId: `before-${kind}`, mode: 'transfer', target: 'target', pageSize: 7, pagesPerInvocation: 3 }, localTaskHandlers(provider), { retryIntervalMs: 0 });

      expect(provider.dropped()).toBe(1);
      expect(executions.map((e) => e.error)).toEqual([undefined]);
      expect(await jobsIn(source)).toEqual([]);
      expect(await jobsIn(redis.target())).toEqual([...queued.map((p) => jobEntry('queue:q', p)), ...retrying.map((p, i) => jobEntry('retry', p, String(2e9 + i)))].sort());
      const summary = executions[0]!.output as RunSummary;
      expect((summary.totals as TransferCounters).duplicates).toBe(7);
      const words = renderSummary(summary, 'redis://source', { width: 80 });
      expect(words).not.toMatch(/duplicate/);
      expect(words).toMatch(/^ +claimed +written +written before$/m);
      expect(words).toContain(
        `Written before: 7 job(s) were on the target already, written by this run in an attempt whose acknowledge failed or whose answer was lost (${key} 7). They were not written again: each is on the target once. Counted under "written before", not "written".`,
      );
      // The acknowledge's failure may have come after it ran: the counts may be short, and say so.
      expect(words).toContain('those a retried slice found written already are counted as "written before"');
    });
  }
});
