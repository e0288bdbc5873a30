import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { PLAN_ITEMS_PER_CALL } from '../../core/workflow/store-run-plan.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { WORK_LIST_ITEMS_PER_READ } from '../../core/workflow/work-list.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// Every Sidekiq client waits while a Lua call runs (issue #18: no call over 2 ms). A plan stored
// its whole list of sets and queues in one script call (storeRunPlan-7.lua): with a queue per
// worker and more, 10,000 queues (gitlab-scale.test.ts), that call pushed 10,000 items and held
// the source for 7–33 ms (SLOWLOG, redis-server 7.0, loaded machine; 100,000: 180–300 ms).
// MONITOR shows each script call with its keys and arguments: none that writes the run's list may
// carry more than PLAN_ITEMS_PER_CALL items, and the list must still be the whole plan, in order.
// The summary then read the whole list in one LRANGE (plain commands hold the others too: LRANGE
// costs Redis ~0.3 µs an item, 3 ms for 10,000): each read asks for WORK_LIST_ITEMS_PER_READ at most.
const redis = privateSourceAndTarget();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
});

const QUEUES = 1_100;
const queueName = (i: number) => `gitlab_worker_queue_${String(i).padStart(5, '0')}`;

describe('a long list of queues is stored and read in short calls', () => {
  it(`re-routes ${QUEUES} queues, no call writing the run's list carrying more than ${PLAN_ITEMS_PER_CALL} of them nor reading more than ${WORK_LIST_ITEMS_PER_READ}, every job moved once`, async () => {
    const source = redis.source();
    const pipeline = source.pipeline();
    for (let i = 0; i < QUEUES; i++) {
      pipeline.rpush(`queue:${queueName(i)}`, sidekiqPayload({ className: `Worker${i % 7}`, queue: queueName(i), args: `[${i}]` }));
      pipeline.sadd('queues', queueName(i));
    }
    await pipeline.exec();
    const listKey = 'sidekiq-migrate:big-plan:items';

    const monitor = new Redis(redis.urls().source, { maxRetriesPerRequest: 1 });
    const watching = await monitor.monitor();
    // Per script call that names the run's list among its keys: the arguments it carries that are
    // list items. (MONITOR may show a script call twice: the items are also kept as a set.)
    const itemsPerCall: number[] = [];
    const itemsSent = new Set<string>();
    // Items each LRANGE of the run's list asks for (the summary read it whole: 0 to -1).
    const itemsPerRead: number[] = [];
    watching.on('monitor', (_time: string, args: string[], from: string) => {
      const command = args[0]?.toLowerCase();
      if (command === 'lrange' && args[1] === listKey) itemsPerRead.push(Number(args[3]) < 0 ? Infinity : Number(args[3]) - Number(args[2]) + 1);
      if (from === 'lua' || (command !== 'evalsha' && command !== 'eval')) return;
      const keyCount = Number(args[2]);
      const keys = args.slice(3, 3 + keyCount);
      if (!keys.includes(listKey)) return;
      const items = args.slice(3 + keyCount).filter((a) => /^\{"kind":"(queue|set)","name":/.test(a));
      itemsPerCall.push(items.length);
      for (const item of items) itemsSent.add(item);
    });

    connections = new UrlConnections({ source: { url: redis.urls().source } });
    const mapping = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`Worker${i}`, 'default']));
    const executions = await runWorkflowLocally({ runId: 'big-plan', mode: 'reroute', routing: { kind: 'mapping', mapping }, sets: [] }, localTaskHandlers(connections), { retryIntervalMs: 0 });
    await source.ping();
    await new Promise((resolve) => setTimeout(resolve, 50));
    watching.disconnect();
    monitor.disconnect();

    expect(executions.filter((e) => e.error)).toEqual([]);
    const summary = combineSummaries(executions.map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));
    expect(summary).toMatchObject({ complete: true, failures: [], totals: { moved: QUEUES, unmapped: 0 }, counts: { finished: QUEUES, failed: 0, continued: 0 } });
    // Every job once, on its destination, each queue's job by its args.
    const moved = (await source.lrange('queue:default', 0, -1)).map((p) => (JSON.parse(p) as { args: number[] }).args[0]).sort((a, b) => a! - b!);
    expect(moved).toEqual(Array.from({ length: QUEUES }, (_, i) => i));
    expect(await source.exists(`queue:${queueName(0)}`, `queue:${queueName(QUEUES - 1)}`)).toBe(0);
    expect(await source.exists('sidekiq-migrate:lock', listKey)).toBe(0);
    // The list was written, whole, in calls of at most PLAN_ITEMS_PER_CALL items.
    expect(itemsSent).toEqual(new Set(Array.from({ length: QUEUES }, (_, i) => JSON.stringify({ kind: 'queue', name: queueName(i) }))));
    expect(Math.max(...itemsPerCall)).toBeLessThanOrEqual(PLAN_ITEMS_PER_CALL);
    // And read back in pages: the batches' reads, and the summary's look at which queues were listed.
    expect(itemsPerRead.length).toBeGreaterThan(QUEUES / 10);
    expect(Math.max(...itemsPerRead)).toBeLessThanOrEqual(WORK_LIST_ITEMS_PER_READ);
  }, 300_000);
});
