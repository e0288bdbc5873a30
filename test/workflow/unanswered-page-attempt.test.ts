// A page task that did pages and never answered: Step Functions retried it while it still ran
// (Lambda.ClientExecutionTimeoutException; middy's early timeout with its page in flight is the
// same), and the retry, finding no receipt yet (page-receipt.ts), paged on its own. Or a page call
// whose reply was lost on a dropped connection after Redis ran it: the task returned the pages
// before it, and the next one no longer saw those jobs. Either way every job moved once, but the
// summary's counts came out short and it said so nowhere: "Complete", 33 of 40 moved, nothing
// to tell the operator the numbers were not the jobs'. The retry now finds the attempt before it
// (counted as it starts, beside the receipt) and the lost reply is counted too: the summary, its
// JSON and the CLI's words say the counts may be short, and how to look at the keys instead.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import type { TransferCounters } from '../../core/transfer/transfer-counters.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { aroundScriptPipelines } from '../support/around-script-pipelines.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { attemptNeverAnswers, wrapped } from '../support/unanswered-attempt.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

/** 40 jobs queued on `old`: as seeded, and as a re-route to `new` leaves them. */
async function seed(client: Redis): Promise<{ seeded: string[]; rerouted: string[] }> {
  const seeded: string[] = [];
  const rerouted: string[] = [];
  for (let i = 0; i < 40; i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` });
    await client.lpush('queue:old', payload);
    seeded.push(jobEntry('queue:old', payload));
    rerouted.push(jobEntry('queue:new', withQueue(payload, 'old', 'new')));
  }
  await client.sadd('queues', 'old');
  return { seeded: seeded.sort(), rerouted: rerouted.sort() };
}



async function run(input: Record<string, unknown>, handlers: LocalHandlers): Promise<RunSummary> {
  const executions = await runWorkflowLocally(input, handlers, { retryIntervalMs: 0 });
  expect(executions.map((e) => e.error)).toEqual([undefined]);
  return executions[0]!.output as RunSummary;
}

/** The CLI's words for the summary, on one line per fact. */
const words = (summary: RunSummary) => renderSummary(summary, 'redis://source', { width: 400 });

describe('a page task retried while an attempt that did pages never answered', () => {
  it('a re-route: every job moved once; the counts are exact (the queue pass keeps its record), and the summary says they may be short', async () => {
    const { rerouted } = await seed(redis.source());
    const provider = connect();
    const handlers = attemptNeverAnswers(localTaskHandlers(provider), provider, 'rerouteQueueSlice', async () => (await redis.source().llen('queue:new')) > 0);

    const summary = await run({ runId: 'unanswered-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 7, pagesPerInvocation: 2 }, handlers);

    expect(await jobsIn(redis.source())).toEqual(rerouted);
    const totals = summary.totals as RerouteCounters;
    // The first attempt's page is counted from the queue pass's record (core/reroute/pass-record.ts);
    // that the attempt did nothing more cannot be told (it may still run), so the summary still says "may".
    expect(totals.moved).toBe(40);
    expect(totals.uncountedAttempts).toBe(1);
    expect(summary.queues['old']).toMatchObject({ uncountedAttempts: 1 });
    expect(summary).toMatchObject({ complete: true, releasedLock: true });
    const text = words(summary);
    expect(text).toContain(
      'Counts may be short: 1 attempt of a page task may have moved jobs these counts do not include (an attempt retried while it still ran or after it ran out of time, a page call whose reply was lost, or a task that failed for good after its pages ran); those a retried page saw moved already are counted as "already", the others not at all. Every job was moved once all the same: look at the keys, not at the counts (drain-check; LLEN of the queues, ZCARD of the sets).',
    );
    expect(text).toContain('Complete: everything that could be moved was moved (counts may be short: see "Needs a look" above).');
    // The attempts' records went with the receipts.
    expect(await redis.source().exists('sidekiq-migrate:unanswered-1:page-receipts')).toBe(0);
  });

  it('a transfer: every job once on the target; the summary says its counts may be short', async () => {
    const { seeded } = await seed(redis.source());
    const provider = connect();
    const handlers = attemptNeverAnswers(localTaskHandlers(provider), provider, 'transferQueue', async () => (await redis.target().llen('queue:old')) > 0);

    const summary = await run({ runId: 'unanswered-2', mode: 'transfer', target: 'target', pageSize: 7, pagesPerInvocation: 2 }, handlers);

    expect(await jobsIn(redis.target())).toEqual(seeded);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect((summary.totals as TransferCounters).uncountedAttempts).toBe(1);
    expect(words(summary)).toContain('Counts may be short: 1 attempt of a page task may have moved jobs these counts do not include');
  });

  it('no attempt lost: no word of it, and the counts are exact', async () => {
    const { rerouted } = await seed(redis.source());

    const summary = await run({ runId: 'unanswered-3', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 7, pagesPerInvocation: 2 }, localTaskHandlers(connect()));

    expect(await jobsIn(redis.source())).toEqual(rerouted);
    expect(summary.totals).toMatchObject({ moved: 40 });
    expect(summary.totals).not.toHaveProperty('uncountedAttempts');
    expect(words(summary)).not.toContain('Counts may be short');
    expect(words(summary)).toContain('Complete: everything that could be moved was moved.');
  });
});

describe("a page call whose reply was lost after Redis ran it (the connection dropped)", () => {
  // Before the queue pass kept its record on the source (core/reroute/pass-record.ts), the lost page
  // was counted nowhere (33 moved) and the summary said the counts may be short.
  it('a re-route: the task returns the pages before it, the next task counts the lost one from the pass\'s record: exact, nothing flagged', async () => {
    const { rerouted } = await seed(redis.source());
    const page = new LuaScript('rerouteQueueJobs-n4', { encodeCalls: true }).sha;
    let pages = 0;
    // The second page's writes run, and their reply is lost: the connection reset under it.
    const lossy = (client: Redis): Redis =>
      aroundScriptPipelines(client, page, async (exec) => {
        const reply = await exec();
        if (++pages === 2) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
        return reply;
      });
    const provider = wrapped(connect(), lossy);

    const summary = await run({ runId: 'lost-reply-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 7, pagesPerInvocation: 3 }, localTaskHandlers(provider));

    expect(pages).toBeGreaterThan(2);
    expect(await jobsIn(redis.source())).toEqual(rerouted);
    expect(summary.totals).toMatchObject({ moved: 40, movedTo: { new: 40 }, scanned: 40, vanished: 0 });
    expect(summary.totals).not.toHaveProperty('uncountedAttempts');
    expect(words(summary)).not.toContain('Counts may be short');
    expect(words(summary)).toContain('Complete: everything that could be moved was moved.');
  });

  it('a re-route: the connection closes under the page\'s writes, after Redis ran them; ioredis sends them again; the counts are exact (the pass record), and the summary says they may be short (the failed attempt)', async () => {
    const { rerouted } = await seed(redis.source());
    const page = new LuaScript('rerouteQueueJobs-n4', { encodeCalls: true }).sha;
    let pages = 0;
    // The second page's writes are sent, and the connection is closed at once, before their reply.
    const closing = (client: Redis): Redis =>
      aroundScriptPipelines(client, page, (exec) => {
        const reply = exec();
        if (++pages === 2) (client as unknown as { stream: { destroy: () => void } }).stream.destroy();
        return reply;
      });
    const provider = wrapped(connect(), closing);

    const summary = await run({ runId: 'resent-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 7, pagesPerInvocation: 3 }, localTaskHandlers(provider));

    expect(await jobsIn(redis.source())).toEqual(rerouted);
    // The resent calls find their jobs gone; the next task counts the slice from the pass's record
    // (core/reroute/pass-record.ts): exact. The attempt that failed is still said, as it may run on.
    expect(summary.totals).toMatchObject({ moved: 40, movedTo: { new: 40 }, scanned: 40, vanished: 0, uncountedAttempts: 1 });
    expect(words(summary)).toContain('Counts may be short: 1 attempt of a page task may have moved jobs these counts do not include');
  });
});
