import { afterEach, describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { BATCH_SIZE, BATCHES_PER_EXECUTION } from '../../core/workflow/work-list.js';
import { AWS_QUOTAS } from '../../infra/local/aws-quotas.js';
import { runWorkflowLocally, type LocalExecution } from '../../infra/local/run-workflow-locally.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A GitLab instance with one queue per worker, and more: the state machine's state stays the
// same size whatever the number of queues, under the quotas the local runner enforces as AWS does.
const redis = privateSourceAndTarget();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
});

const CLASSES = 20;
const queueName = (i: number) => `gitlab_worker_queue_${String(i).padStart(5, '0')}`;

/** `queues` queues of `jobs` jobs each, of CLASSES classes. Returns every payload. */
async function seedQueues(queues: number, jobs: number): Promise<number> {
  const source = redis.source();
  for (let from = 0; from < queues; from += 500) {
    const pipeline = source.pipeline();
    for (let i = from; i < Math.min(queues, from + 500); i++) {
      const name = queueName(i);
      pipeline.rpush(`queue:${name}`, ...Array.from({ length: jobs }, (_, j) => sidekiqPayload({ className: `Worker${(i + j) % CLASSES}`, queue: name, args: `[${i},${j}]` })));
      pipeline.sadd('queues', name);
    }
    await pipeline.exec();
  }
  return queues * jobs;
}

function report(what: string, executions: readonly LocalExecution[]): number {
  const largest = Math.max(...executions.map((e) => e.usage!.largestStateBytesAfterStart));
  const where = executions.find((e) => e.usage!.largestStateBytesAfterStart === largest)!.usage!.largestStateAfterStartAt;
  const events = Math.max(...executions.map((e) => e.usage!.historyEvents));
  const child = Math.max(...executions.map((e) => e.usage!.largestChildHistory));
  console.log(`${what}: ${executions.length} execution(s); largest state input/output after the plan ${largest} bytes (${where}); most history events ${events} (one item: ${child})`);
  return largest;
}

describe('GitLab scale, under the quotas AWS enforces', () => {
  it('re-routes 10,000 queues, the state below 64 KiB after the plan, the list continued in new executions', async () => {
    const jobs = await seedQueues(10_000, 2);
    connections = new UrlConnections({ source: { url: redis.urls().source } });
    const mapping = Object.fromEntries(Array.from({ length: CLASSES }, (_, i) => [`Worker${i}`, 'default']));

    const executions = await runWorkflowLocally({ runId: 'gitlab-reroute', mode: 'reroute', routing: { kind: 'mapping', mapping }, sets: [] }, localTaskHandlers(connections), { retryIntervalMs: 0 });

    expect(executions.filter((e) => e.error)).toEqual([]);
    const summary = combineSummaries(executions.map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));
    expect(summary).toMatchObject({ complete: true, failures: [], continuedIn: [], totals: { moved: jobs, unmapped: 0 }, counts: { finished: 10_000, failed: 0, continued: 0 } });
    // 1,000 batches of 10: 400 per execution.
    expect(executions).toHaveLength(Math.ceil(10_000 / BATCH_SIZE / BATCHES_PER_EXECUTION));
    expect(report('re-route of 10,000 queues', executions)).toBeLessThan(64 * 1024);
    for (const e of executions) expect(e.usage!.historyEvents).toBeLessThan(AWS_QUOTAS.historyEvents);
    expect(await redis.source().llen('queue:default')).toBe(jobs);
    expect(await redis.source().exists(`queue:${queueName(0)}`, `queue:${queueName(9_999)}`)).toBe(0);
    expect(await redis.source().exists('sidekiq-migrate:lock', 'sidekiq-migrate:gitlab-reroute:items', 'sidekiq-migrate:gitlab-reroute:executions')).toBe(0);
  }, 300_000);

  it('transfers 2,000 queues, the state below 64 KiB after the plan', async () => {
    const jobs = await seedQueues(2_000, 2);
    connections = new UrlConnections({ source: { url: redis.urls().source }, target: { url: redis.urls().target } });

    const executions = await runWorkflowLocally({ runId: 'gitlab-transfer', mode: 'transfer', target: 'target', sets: [] }, localTaskHandlers(connections), { retryIntervalMs: 0 });

    expect(executions.filter((e) => e.error)).toEqual([]);
    const summary = combineSummaries(executions.map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));
    expect(summary).toMatchObject({ complete: true, failures: [], totals: { claimed: jobs, written: jobs, duplicates: 0 }, counts: { finished: 2_000, failed: 0, continued: 0 } });
    expect(report('transfer of 2,000 queues', executions)).toBeLessThan(64 * 1024);
    expect(await redis.target().scard('queues')).toBe(2_000);
    expect(await redis.target().llen(`queue:${queueName(1_999)}`)).toBe(2);
    expect(await redis.source().exists('sidekiq-migrate:lock')).toBe(0);
  }, 300_000);
});
