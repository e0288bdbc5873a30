import { afterEach, describe, expect, it, vi } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { WorkflowFunctionName } from '../../infra/constructs/state-names.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A dry run writes nothing, not even its list of sets and queues: each batch is read from a new
// listing. On AWS the plan function lists the first batch and the summarize function ("Add up…")
// the next ones, in other containers, which list again: on a live Sidekiq, where a queue's list
// comes and goes with its jobs, the listing the next batch is read from is not the plan's.
const redis = privateRedis();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
});

const queue = (i: number) => `q${String(i).padStart(2, '0')}`;

describe('a dry run read by containers that each list the sets and queues again', () => {
  it('counts every queue of the plan once, although a queue appeared before the batch boundary in between', async () => {
    const client = redis.client();
    // 12 queues of 2 jobs each: a batch of 10, then one of 2.
    for (let i = 1; i <= 12; i++) {
      await client.rpush(`queue:${queue(i)}`, sidekiqPayload({ className: 'A', queue: queue(i), args: `[${i},1]` }), sidekiqPayload({ className: 'A', queue: queue(i), args: `[${i},2]` }));
      await client.sadd('queues', queue(i));
    }
    connections = new UrlConnections({ source: { url: redis.url() } });
    const real = localTaskHandlers(connections);
    // The summarize function's containers: a module of its own, with a cache of its own (as on AWS).
    vi.resetModules();
    const fresh = (await import('../../cli/workflow/task-handlers.js')).localTaskHandlers(connections);
    let pages = 0;
    const handlers: LocalHandlers = {
      ...real,
      // Meanwhile a producer pushes to a queue named before all the others: its list appears.
      rerouteQueueSlice: async (input, context) => {
        if (pages++ === 0) await client.rpush('queue:q00', sidekiqPayload({ className: 'A', queue: 'q00', args: '[0]' }));
        return real.rerouteQueueSlice(input, context);
      },
    };
    const newContainer = (name: WorkflowFunctionName) => (name === 'summarize' ? fresh.summarize : handlers[name]);
    const names: string[] = [];
    const onEvent = (_: string, event: { type: string; state?: { name: string; input?: unknown } }) => {
      if (event.type === 'StateEntered' && event.state?.name === 'Re-route a slice of the queue') names.push((event.state.input as { item: { name: string } }).item.name);
    };

    const executions = await runWorkflowLocally(
      { runId: 'dry-containers', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, sets: [], dryRun: true, pagesPerInvocation: 1 },
      handlers,
      { retryIntervalMs: 0, newContainer, onEvent },
    );

    expect(executions.map((e) => e.error)).toEqual([undefined]);
    const summary = executions[0]!.output as RunSummary;
    // Each of the 12 planned queues once; the queue that appeared after the plan is not the dry run's.
    expect([...new Set(names)].sort()).toEqual(Array.from({ length: 12 }, (_, i) => queue(i + 1)));
    expect(names).toHaveLength(12);
    expect(summary).toMatchObject({ dryRun: true, complete: true, counts: { finished: 12, failed: 0, continued: 0 }, totals: { scanned: 24, moved: 24 } });
    // Nothing written.
    expect(await client.exists('queue:new')).toBe(0);
  });
});
