import { describe, expect, it } from 'vitest';
import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { OutageWatch } from '../../cli/workflow/outage-watch.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowLocally, type LocalEvent } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { switchableProxy } from '../support/switchable-proxy.js';

/**
 * The local runner's tasks share the run's connections. A connection whose path went silent (the
 * node behind the endpoint's name replaced, a middlebox that forgot it: no reset ever comes) looks
 * open to ioredis: its commands only time out. A Lambda container drops its connections after a
 * task failed on one (or timed out), so the state machine's retry connects again
 * (test/functions/stale-connection-retry.test.ts); the local tasks kept the dead one, and every
 * retry failed on it the same way until the item was recorded as failed. Local behaves like AWS.
 */

const redis = privateRedis();

describe('a local run whose Redis connection went silent', () => {
  it("connects again for the state machine's retry of the task that failed on it, and the run moves every job once", async () => {
    const proxy = await switchableProxy({ host: '127.0.0.1', port: Number(new URL(redis.url()).port) });
    // As the CLI builds them (cli/main.ts handlersFor); commands time out after 1 s.
    const connections = new UrlConnections({ source: { url: proxy.url, connect: { commandTimeoutMs: 1_000 } } });
    try {
      const payloads = Array.from({ length: 25 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i},"x",{"n":1.0}]` }));
      await redis.client().rpush('queue:old', ...payloads);
      await redis.client().sadd('queues', 'old');
      const handlers = localTaskHandlers(new OutageWatch(connections));
      let slices = 0;
      // The first page task finds its connection stranded: what it sends reaches nothing.
      const stranding = {
        ...handlers,
        rerouteQueueSlice: (input: unknown, context?: Parameters<typeof handlers.rerouteQueueSlice>[1]) => {
          if (++slices === 1) proxy.strand();
          return handlers.rerouteQueueSlice(input, context);
        },
      };
      let retries = 0;
      const onEvent = (_arn: string, e: LocalEvent) => void (e.type === 'StateRetried' && retries++);

      const executions = await runWorkflowLocally({ runId: 'silent-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, sets: [], pageSize: 10 }, stranding, { onEvent, retryIntervalMs: 0 });

      expect(slices, 'the page task was retried').toBeGreaterThan(1);
      expect(retries).toBeGreaterThan(0);
      expect(executions.map((e) => e.error)).toEqual([undefined]);
      const summary = executions[0]!.output as RunSummary;
      expect(summary).toMatchObject({ complete: true, failures: [] });
      // The stranded attempt reached nothing: the counts are exact.
      expect((summary.totals as RerouteCounters).moved).toBe(25);
      expect(await jobsIn(redis.client())).toEqual(payloads.map((p) => jobEntry('queue:new', p.replace('"queue":"old"', '"queue":"new"'))).sort());
    } finally {
      await connections.close();
      await proxy.close();
    }
  }, 120_000);
});
