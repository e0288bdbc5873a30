// A local `move` whose work went on in several executions (an item past its loop cap continues in
// an execution of its own) ends with one summary per execution, combined (combine-summaries.ts).
// Every execution's summary looks over the whole source for what is left there (jobs in flight,
// quarantine lists, …), and the combination took those findings from the execution that STARTED
// last. When that one ended first, its look ran while another execution still held a slice
// claimed: the run said "Done, but jobs were left behind: N still in flight on the source" over a
// run that had moved every job. And the look for jobs put on a queue after its item ended (Sidekiq's
// shutdown requeue, a late producer) was made by the last execution over the queues of its own
// tally only, and not at all when one of its items had continued: a job pushed onto a queue whose
// item had ended was left on the source under "Complete". The findings are now those of the
// execution whose summary ended the run, and its look covers every queue of the run whose item
// finished, whichever execution ended it.
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowFromCli } from '../../cli/workflow/run-workflow.js';
import type { Connection, ConnectionProvider } from '../../core/workflow/connections.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { aroundPipelinesWhere } from '../support/around-script-pipelines.js';
import { bufferIo } from '../support/buffer-io.js';
import { jobEntry, jobsIn, keysUnder, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
  connections = undefined;
});

/** `client`, whose pipelines that name `key` among their script calls' arguments go through `around`. */
const aroundPipelinesNaming = (client: Redis, key: string, around: (exec: () => Promise<unknown>) => Promise<unknown>): Redis =>
  aroundPipelinesWhere(client, (c) => c.name === 'evalsha' && c.args.some((a) => String(a) === key), around);

const input = { runId: 'continued-findings', mode: 'transfer', source: 'source', target: 'target', sets: [], pageSize: 10, pagesPerInvocation: 1, maxIterations: 2 };

/** a-small: 15 jobs (two slices, ended in the first execution); b-big: 30 (continued in an execution of its own after two slices). */
async function seed(): Promise<{ small: string[]; big: string[] }> {
  const small = Array.from({ length: 15 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a-small', args: `[${i}]` }));
  const big = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'b-big', args: `[${i}]` }));
  await redis.source().rpush('queue:a-small', ...small);
  await redis.source().rpush('queue:b-big', ...big);
  await redis.source().sadd('queues', 'a-small', 'b-big');
  return { small, big };
}

interface Order {
  /** The first execution's second copy of a-small waits until the continuation has summarized (which waits for it to be held). */
  readonly holdSmallUntilContinuationSummarized?: boolean;
  /** The first execution's summary waits until the continuation has summarized (the continuation ends first). */
  readonly rootSummarizesLast?: boolean;
  /** Run once a summary of that execution ended ('root' or the continuation). */
  readonly afterSummary?: { readonly of: 'root' | 'continuation'; readonly run: () => Promise<void> };
}

function handlersFor(order: Order): { handlers: LocalHandlers; summarized: string[] } {
  const urls = redis.urls();
  const provider = new UrlConnections({ source: { url: urls.source }, target: { url: urls.target } });
  connections = provider;
  let continuationSummarized!: () => void;
  const continuationDone = new Promise<void>((resolve) => (continuationSummarized = resolve));
  let smallHeld!: () => void;
  const held = new Promise<void>((resolve) => (smallHeld = resolve));
  let smallCopies = 0;
  const wrapped: ConnectionProvider = {
    get: async (name: string): Promise<Connection> => {
      const c = await provider.get(name);
      if (name !== 'target' || !order.holdSmallUntilContinuationSummarized) return c;
      return {
        ...c,
        redis: aroundPipelinesNaming(c.redis, 'queue:a-small', async (exec) => {
          if (++smallCopies === 2) {
            smallHeld();
            await continuationDone;
          }
          return exec();
        }),
      };
    },
  };
  const real = localTaskHandlers(wrapped);
  const summarized: string[] = [];
  const handlers: LocalHandlers = {
    ...real,
    summarize: async (summarizeInput, context) => {
      const { execution } = summarizeInput as { execution?: string };
      // The same handler adds up the Map's batches (no execution named): only the summaries count here.
      if (execution === undefined) return real.summarize(summarizeInput, context);
      const of = execution === 'root' ? 'root' : 'continuation';
      if (of === 'continuation' && order.holdSmallUntilContinuationSummarized) await held;
      if (of === 'root' && order.rootSummarizesLast) await continuationDone;
      const result = await real.summarize(summarizeInput, context);
      summarized.push(of);
      if (of === 'continuation') continuationSummarized();
      if (order.afterSummary?.of === of) await order.afterSummary.run();
      return result;
    },
  };
  return { handlers, summarized };
}

async function move(order: Order, given: Record<string, unknown> = input): Promise<{ code: number; stdout: string; summarized: string[] }> {
  const { handlers, summarized } = handlersFor(order);
  const io = bufferIo();
  const endpoint = given['mode'] === 'reroute' ? redis.urls().source : `${redis.urls().source} -> ${redis.urls().target}`;
  const code = await runWorkflowFromCli({ input: given, connections: connections!, handlers, io, json: false, endpoint });
  return { code, stdout: io.stdout(), summarized };
}

const onTarget = (small: readonly string[], big: readonly string[]) => [...small.map((p) => jobEntry('queue:a-small', p)), ...big.map((p) => jobEntry('queue:b-big', p))].sort();

describe('a local move continued in an execution of its own, whose executions end in another order than they started', { timeout: 120_000 }, () => {
  it('the continuation (started last) summed up while the first execution still had a slice in flight: every job moved, "Complete", exit 0, no false "in flight"', async () => {
    const { small, big } = await seed();
    const run = await move({ holdSmallUntilContinuationSummarized: true });

    // The continuation summed up first (a-small's slice held in flight meanwhile), the first execution ended the run.
    expect(run.summarized).toEqual(['continuation', 'root']);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(onTarget(small, big));
    // Nothing of the run is left in flight, nor its record of the queues that ended (ended-queues.ts).
    expect(await keysUnder(redis.source(), 'sidekiq-migrate:continued-findings:inflight')).toEqual([]);
    expect(await keysUnder(redis.source(), 'sidekiq-migrate:continued-findings:ended-queues')).toEqual([]);
    expect(run.stdout).not.toContain('in flight');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(run.code).toBe(0);
  });

  it('a job pushed onto a-small after its item ended, the continuation ending last: said as left on the source, never "Complete"', async () => {
    const { small, big } = await seed();
    const late = sidekiqPayload({ className: 'A', queue: 'a-small', args: '["late"]' });
    // After the first execution summed up (a-small ended there), before the continuation does.
    let continuationMayEnd!: () => void;
    const pushed = new Promise<void>((resolve) => (continuationMayEnd = resolve));
    const { handlers, summarized } = handlersFor({
      afterSummary: {
        of: 'root',
        run: async () => {
          await redis.source().rpush('queue:a-small', late);
          continuationMayEnd();
        },
      },
    });
    const summarize = handlers.summarize;
    const ordered: LocalHandlers = {
      ...handlers,
      summarize: async (i, context) => {
        const { execution } = i as { execution?: string };
        if (execution !== undefined && execution !== 'root') await pushed;
        return summarize(i, context);
      },
    };
    const io = bufferIo();
    const code = await runWorkflowFromCli({ input, connections: connections!, handlers: ordered, io, json: false, endpoint: `${redis.urls().source} -> ${redis.urls().target}` });
    const stdout = io.stdout();

    expect(summarized).toEqual(['root', 'continuation']);
    expect(await jobsIn(redis.source())).toEqual([jobEntry('queue:a-small', late)]);
    expect(await jobsIn(redis.target())).toEqual(onTarget(small, big));
    expect(stdout).toContain('\nNeeds a look:\n1 job(s) still on the source when their transfer ended, added during the run (queue:a-small 1): run move again or see drain-check.\n');
    expect(stdout).not.toContain('Complete');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs remain on the source (1, above): run move again.');
    expect(code).toBe(0);
  });

  it('a job pushed onto b-big after its continuation ended, the first execution ending last: said as left on the source, never "Complete"', async () => {
    const { small, big } = await seed();
    const late = sidekiqPayload({ className: 'A', queue: 'b-big', args: '["late"]' });
    const run = await move({ rootSummarizesLast: true, afterSummary: { of: 'continuation', run: async () => void (await redis.source().rpush('queue:b-big', late)) } });

    expect(run.summarized).toEqual(['continuation', 'root']);
    expect(await jobsIn(redis.source())).toEqual([jobEntry('queue:b-big', late)]);
    expect(await jobsIn(redis.target())).toEqual(onTarget(small, big));
    expect(run.stdout).toContain('\nNeeds a look:\n1 job(s) still on the source when their transfer ended, added during the run (queue:b-big 1): run move again or see drain-check.\n');
    expect(run.stdout).not.toContain('Complete');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs remain on the source (1, above): run move again.');
    expect(run.code).toBe(0);
  });

  it('a re-route (`run`): a job pushed onto the retired queue b-big after its continuation ended, the first execution ending last: counted as arrived, never "Complete"', async () => {
    const { small, big } = await seed();
    const late = sidekiqPayload({ className: 'A', queue: 'b-big', args: '["late"]' });
    const reroute = { runId: 'continued-findings', mode: 'reroute', source: 'source', routing: { kind: 'renames', renames: { 'a-small': 'a-new', 'b-big': 'b-new' } }, sets: [], pageSize: 10, pagesPerInvocation: 1, maxIterations: 2 };
    const run = await move({ rootSummarizesLast: true, afterSummary: { of: 'continuation', run: async () => void (await redis.source().rpush('queue:b-big', late)) } }, reroute);

    expect(run.summarized).toEqual(['continuation', 'root']);
    expect(await jobsIn(redis.source())).toEqual(
      [...small.map((p) => jobEntry('queue:a-new', withQueue(p, 'a-small', 'a-new'))), ...big.map((p) => jobEntry('queue:b-new', withQueue(p, 'b-big', 'b-new'))), jobEntry('queue:b-big', late)].sort(),
    );
    expect(run.stdout).toContain('\n1 job(s) arrived on retired queues during the run (queue:b-big 1): not moved by this run; run again or see drain-check.\n');
    expect(run.stdout).not.toContain('Complete');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 1 arrived on retired queues during the run (see "Needs a look" above).');
    expect(run.code).toBe(0);
  });
});
