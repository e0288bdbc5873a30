// A local run (`run`/`move`) whose item continued in a new execution (past its loop cap), and that
// continuation failed after some of its pages had moved their jobs: the summary adds up the
// executions that ended with one (the first only), and the first's totals counted none of the
// item's pages (they go with the item): 0 moved, where 40 had. A line under it now says how many
// the pages seen moved in all (at least), as `watch`/`status` say it of a deployed run. And the
// item was said to be "Still continuing" in the continuation that had failed: it is not finished.
import { afterEach, describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowFromCli } from '../../cli/workflow/run-workflow.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { AWS_QUOTAS } from '../../infra/local/aws-quotas.js';
import { bufferIo } from '../support/buffer-io.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
  connections = undefined;
});

/**
 * The local handlers, but the continuation's second page answers with a result over 256 KiB
 * (after it moved its page): that child fails, the Map fails, the continuation fails.
 */
function failingContinuation(): LocalHandlers {
  connections = new UrlConnections({ source: { url: redis.urls().source } });
  const real = localTaskHandlers(connections);
  let continuedPages = 0;
  return {
    ...real,
    rerouteQueueSlice: async (input, context) => {
      const result = (await real.rerouteQueueSlice(input, context)) as object;
      const { item } = input as { item: { continues?: string } };
      if (item.continues !== undefined && ++continuedPages === 2) return { ...result, padding: 'x'.repeat(AWS_QUOTAS.stateBytes) };
      return result;
    },
  };
}

const input = { runId: 'continued-failed', mode: 'reroute', source: 'source', routing: { kind: 'renames', renames: { old: 'new' } }, sets: [], pageSize: 10, pagesPerInvocation: 1, maxIterations: 2 };

describe('a local run whose continued execution failed', { timeout: 60_000 }, () => {
  it('its summary never says fewer jobs moved than its pages moved; exit 1, never "Complete"; every job once', async () => {
    const jobs = Array.from({ length: 60 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await redis.source().rpush('queue:old', ...jobs);
    await redis.source().sadd('queues', 'old');
    const io = bufferIo();

    const handlers = failingContinuation();
    const code = await runWorkflowFromCli({ input, connections: connections!, handlers, io, json: false, endpoint: redis.urls().source });

    // The first execution moved 2 pages, the continuation 2 more (its second one's result refused): 40 jobs.
    const moved = jobs.slice(0, 40).map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new')));
    const left = jobs.slice(40).map((p) => jobEntry('queue:old', p));
    expect(await jobsIn(redis.source())).toEqual([...moved, ...left].sort());
    expect(code).toBe(1);
    const out = io.stdout();
    expect(out).not.toContain('Complete');
    const failedArn = /\nFAILED execution (\S+): States\.ExceedToleratedFailureThreshold: /.exec(out)?.[1];
    expect(failedArn).toBeDefined();
    // The item continued in that execution, which ended: nothing is still continuing.
    expect(out).not.toContain('Still continuing');
    expect(out).toContain(`\nNot finished: queue old, continued in ${failedArn!}, which ended without finishing it (above)\n`);
    expect(out).toContain('\nNot complete: run the same command again to resume.\n');
    // The pages seen: 3 of the 4 (the refused one's result never came back); 40 moved in Redis.
    expect(out.trimEnd().split('\n').at(-1)).toBe('Not counted in the totals above: what the executions that did not finish did. By the pages watched, this run moved at least 30 job(s) in all (each page is whole).');
    // The failed continuation's clean-up released the lock.
    expect(io.stderr()).not.toContain('clean-up after the failure failed');
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);

    // The same command again finishes it: every job once, on the new queue.
    const again = bufferIo();
    expect(await runWorkflowFromCli({ input: { ...input, maxIterations: undefined }, connections: connections!, handlers: localTaskHandlers(connections!), io: again, json: false, endpoint: redis.urls().source })).toBe(0);
    expect(await jobsIn(redis.source())).toEqual(jobs.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))).sort());
  });
});
