// A page task whose function ran to its end but whose answer Step Functions never got
// (Lambda.ServiceException, Lambda.SdkClientException: the definition retries them, as AWS
// advises) is invoked again with the same input. Its pages are done in Redis; the retry used to
// find them done and say so in its own words: a re-route counted 30 of 90 moved jobs (the set
// entries it had rewritten "already routed"), a transfer 30 of 90 written, and the summary still
// said complete. The first attempt leaves a receipt of its answer, and the retry answers with it.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import type { TransferCounters } from '../../core/transfer/transfer-counters.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import type { WorkflowFunctionName } from '../../infra/constructs/state-names.js';
import { runWorkflowLocally, type LocalEvent, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { seedOldForReroute } from '../support/reroute-seed.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

/** 40 jobs queued on `old`, 30 scheduled and 20 retrying naming `old`: as seeded, and as a re-route to `new` leaves them. */
async function seed(client: Redis): Promise<{ seeded: string[]; rerouted: string[] }> {
  const { seeded, rerouted } = await seedOldForReroute(client, (i) => `[${i}]`, { namedInQueues: true });
  return { seeded: seeded.sort(), rerouted: rerouted.sort() };
}

const PAGE_TASKS: WorkflowFunctionName[] = ['rerouteSetPage', 'rerouteQueueSlice', 'transferSet', 'transferQueue'];

/**
 * Every other page task runs to its end, then its answer is lost on the way back: Step Functions
 * sees `error`. Counted by page (its input), not by call: the Map runs up to four items at once, and
 * a count shared by all lost one item's answer on every retry when the others' calls fell between
 * (up to 5 in a row under jitter; 7 fail the item). A retry of a page whose answer was lost is
 * answered.
 */
function losingEveryOtherAnswer(real: LocalHandlers, error: string): LocalHandlers {
  let pages = 0;
  const seen = new Set<string>();
  const lossy = Object.fromEntries(
    PAGE_TASKS.map((name) => [
      name,
      async (input: unknown, context?: Parameters<LocalHandlers['plan']>[1]) => {
        const answer = await real[name](input, context);
        const page = `${name} ${JSON.stringify(input)}`;
        const first = !seen.has(page);
        seen.add(page);
        if (first && pages++ % 2 === 1) throw Object.assign(new Error('The answer was lost on its way back'), { name: error });
        return answer;
      },
    ]),
  );
  return { ...real, ...lossy } as LocalHandlers;
}

async function run(input: Record<string, unknown>, error: string) {
  const retried: unknown[] = [];
  const onEvent = (_: string, event: LocalEvent) => void (event.type === 'StateFailed' && retried.push(event['Error']));
  const executions = await runWorkflowLocally(input, losingEveryOtherAnswer(localTaskHandlers(connect()), error), { retryIntervalMs: 0, onEvent });
  expect(executions.map((e) => e.error)).toEqual([undefined]);
  expect(retried.length).toBeGreaterThan(0);
  expect(new Set(retried)).toEqual(new Set([error]));
  return executions[0]!.output as RunSummary;
}

describe.each(['Lambda.ServiceException', 'Lambda.SdkClientException'])('a page task whose answer was lost (%s), retried by the definition', (error) => {
  it('a re-route counts every job it moved once, none "already routed": the retry answers with the first attempt’s receipt', async () => {
    const { rerouted } = await seed(redis.source());

    const summary = await run({ runId: 'lost-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 7, pagesPerInvocation: 2 }, error);

    expect(summary).toMatchObject({ complete: true, failures: [], releasedLock: true });
    expect(summary.totals as RerouteCounters).toMatchObject({ scanned: 90, moved: 90, alreadyRouted: 0, vanished: 0, movedTo: { new: 90 } });
    expect(summary.queues['old']).toMatchObject({ moved: 40 });
    expect(summary.sets['schedule']).toMatchObject({ moved: 30, alreadyRouted: 0 });
    expect(summary.sets['retry']).toMatchObject({ moved: 20, alreadyRouted: 0 });
    expect(await jobsIn(redis.source())).toEqual(rerouted);
    // The receipts went with the run's lock.
    expect(await redis.source().exists('sidekiq-migrate:lost-1:page-receipts')).toBe(0);
  });

  it('a transfer counts every job it wrote once, none a duplicate', async () => {
    const { seeded } = await seed(redis.source());

    const summary = await run({ runId: 'lost-2', mode: 'transfer', target: 'target', pageSize: 7, pagesPerInvocation: 2 }, error);

    expect(summary).toMatchObject({ complete: true, failures: [], releasedLock: true });
    expect(summary.totals as TransferCounters).toMatchObject({ claimed: 90, written: 90, duplicates: 0, resumed: 0, writtenTo: { old: 40, schedule: 30, retry: 20 } });
    expect(await jobsIn(redis.target())).toEqual(seeded);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await redis.source().exists('sidekiq-migrate:lost-2:page-receipts')).toBe(0);
  });
});
