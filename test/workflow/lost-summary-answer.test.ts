// A Summarize whose function ran to its end (it released the run's lock and deleted the run's
// list) but whose answer Step Functions never got (Lambda.ServiceException, retried by the
// definition) runs again with the same input. The retry found the lock gone and said
// `releasedLock: false`; and with the list gone it took the queue its run had listed for a retired
// queue it had not, counting the unmapped jobs left there as arrivals: "Done, but jobs were left
// behind: … 3 arrived on retired queues during the run", which none did. The first attempt now
// leaves a record of its finish beside it, in the same round trip, and the retry answers as it did.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { summarizeFunctionStep, SummarizeFunctionSteps } from '../../functions/support/task-inputs.js';
import { runWorkflowLocally, type LocalEvent, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

/** 20 jobs of A on `old` (mapped to `new`), 3 of B (no destination: left in place). As a re-route leaves them. */
async function seed(client: Redis): Promise<string[]> {
  const after: string[] = [];
  for (let i = 0; i < 23; i++) {
    const className = i < 20 ? 'A' : 'B';
    const payload = sidekiqPayload({ className, queue: 'old', args: `[${i}]`, jid: i.toString(16).padStart(24, '0') });
    await client.lpush('queue:old', payload);
    after.push(className === 'A' ? jobEntry('queue:new', withQueue(payload, 'old', 'new')) : jobEntry('queue:old', payload));
  }
  await client.sadd('queues', 'old');
  return after.sort();
}

/** The Summarize step (not the add-up, which the same function serves) runs to its end, and its first answer is lost. */
function losingTheFirstSummary(real: LocalHandlers): LocalHandlers {
  let lost = false;
  return {
    ...real,
    summarize: async (input: unknown, context?: Parameters<LocalHandlers['plan']>[1]) => {
      const answer = await real.summarize(input, context);
      if (!lost && summarizeFunctionStep(input) === SummarizeFunctionSteps.summarize) {
        lost = true;
        throw Object.assign(new Error('The answer was lost on its way back'), { name: 'Lambda.ServiceException' });
      }
      return answer;
    },
  } as LocalHandlers;
}

async function run(runId: string, handlers: LocalHandlers): Promise<{ summary: RunSummary; retried: unknown[] }> {
  const retried: unknown[] = [];
  const onEvent = (_: string, event: LocalEvent) => void (event.type === 'StateFailed' && retried.push(event['Error']));
  const executions = await runWorkflowLocally({ runId, mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, pageSize: 7 }, handlers, { retryIntervalMs: 0, onEvent });
  expect(executions.map((e) => e.error)).toEqual([undefined]);
  return { summary: executions[0]!.output as RunSummary, retried };
}

describe('a Summarize whose answer was lost, retried by the definition', () => {
  it('answers as the first attempt did: the lock released by it, no arrivals where the run left jobs in place', async () => {
    const expected = await seed(redis.source());
    const plain = (await run('summary-plain', localTaskHandlers(connect()))).summary;
    expect(await jobsIn(redis.source())).toEqual(expected);
    await redis.source().flushall();
    await seed(redis.source());

    const { summary, retried } = await run('summary-lost', losingTheFirstSummary(localTaskHandlers(connect())));

    expect(retried).toEqual(['Lambda.ServiceException']);
    expect(await jobsIn(redis.source())).toEqual(expected);
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
    expect(summary).toMatchObject({ complete: true, releasedLock: true });
    expect(summary.totals).toMatchObject({ moved: 20, unmapped: 3, arrived: 0 });
    expect({ ...summary, runId: '' }).toEqual({ ...plain, runId: '' });
    const words = renderSummary(summary, 'redis://source', { width: 400 });
    expect(words).toContain('Done, but jobs were left behind: 3 left in place, 3 of them where nobody fetches (see "Needs a look" above).');
    expect(words).not.toContain('arrived');
  });

  it('says releasedLock false again when the first attempt found no lock of the run to release', async () => {
    await seed(redis.source());
    const real = localTaskHandlers(connect());
    // The run's lock is gone before its summary (it expired: no renewal since the last page).
    const handlers = {
      ...real,
      summarize: async (input: unknown, context?: Parameters<LocalHandlers['plan']>[1]) => {
        if (summarizeFunctionStep(input) === SummarizeFunctionSteps.summarize) await redis.source().del('sidekiq-migrate:lock');
        return real.summarize(input, context);
      },
    } as LocalHandlers;

    const { summary, retried } = await run('summary-no-lock', losingTheFirstSummary(handlers));

    expect(retried).toEqual(['Lambda.ServiceException']);
    expect(summary).toMatchObject({ complete: true, releasedLock: false });
  });
});
