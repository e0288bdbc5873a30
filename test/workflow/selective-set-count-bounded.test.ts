// A class-selective set pass ends by counting the selected classes' jobs still in the set (added
// while it ran, at any score). That count used to read the whole set in the pass's last task: on a
// GitLab-scale `retry` or `dead` (millions of other classes' entries) the task outlived its
// function's timeout at the very end of the run, every retry the same, and the run failed. Now it
// reads in pages until the task's deadline and, stopped there, is carried on by the item's next
// tasks (selective-set-count-carried.test.ts: and "at least" past their cap), never "Complete".
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { renderSummary, summaryVerdict } from '../../cli/workflow/render-summary.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import type { TransferCounters } from '../../core/transfer/transfer-counters.js';
import { leftBehindOf } from '../../core/workflow/left-behind.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

const SELECTED = 'Shard::Job';

/** A set's entries as `score<TAB>sha1(member)`, sorted: an exact multiset, small at 200,000 entries. */
async function entriesOf(client: Redis, key: string): Promise<string[]> {
  const out: string[] = [];
  for (let from = 0; ; from += 10_000) {
    const flat = await client.zrangeBuffer(key, from, String(from + 9_999), 'WITHSCORES');
    for (let i = 0; i < flat.length; i += 2) out.push(`${flat[i + 1]!.toString()}\t${createHash('sha1').update(flat[i]!).digest('hex')}`);
    if (flat.length < 20_000) break;
  }
  return out.sort();
}
const entry = (e: { payload: string; score: string }) => `${e.score}\t${createHash('sha1').update(e.payload).digest('hex')}`;

/**
 * `others` entries of a class not selected and 20 of the selected one in `retry`; once the pass has
 * begun (its second task), 5 selected entries due before all of them and 5 due after, with 3 others.
 */
async function runWith(others: number, functionTimeoutMs: number, pageSize: number) {
  const source = redis.source();
  const originals = Array.from({ length: others + 20 }, (_, i) => ({ payload: sidekiqPayload({ className: i % (others / 20 + 1) === 0 && i / (others / 20 + 1) < 20 ? SELECTED : 'Stays::Job', queue: 'q', args: `[${i}]` }), score: String(2e9 + i) }));
  const selected = originals.filter((e) => e.payload.includes(`"class":"${SELECTED}"`));
  expect(selected).toHaveLength(20);
  for (let from = 0; from < originals.length; from += 5_000) {
    await source.zadd('retry', ...originals.slice(from, from + 5_000).flatMap((e) => [e.score, e.payload]));
  }
  const added = [
    ...Array.from({ length: 5 }, (_, i) => ({ payload: sidekiqPayload({ className: SELECTED, queue: 'q', args: `["soon",${i}]` }), score: String(1e9 + i) })),
    ...Array.from({ length: 5 }, (_, i) => ({ payload: sidekiqPayload({ className: SELECTED, queue: 'q', args: `["late",${i}]` }), score: String(3e9 + i) })),
    ...Array.from({ length: 3 }, (_, i) => ({ payload: sidekiqPayload({ className: 'Stays::Job', queue: 'q', args: `["other",${i}]` }), score: String(3e9 + 10 + i) })),
  ];
  const real = localTaskHandlers(connect());
  let tasks = 0;
  const handlers: LocalHandlers = {
    ...real,
    transferSet: async (input, context) => {
      if (++tasks === 2) await source.zadd('retry', ...added.flatMap((e) => [e.score, e.payload]));
      return real.transferSet(input, context);
    },
  };
  const started = Date.now();
  const executions = await runWorkflowLocally(
    { runId: `sel-count-${others}`, mode: 'transfer', target: 'target', classes: [SELECTED], queues: false, sets: ['retry'], pageSize, pagesPerInvocation: 1 },
    handlers,
    { retryIntervalMs: 0, functionTimeoutMs: { transferSet: functionTimeoutMs } },
  );
  console.log(`${others} others, ${functionTimeoutMs} ms a task: ${tasks} transfer-set tasks, ${Date.now() - started} ms`);
  expect(tasks).toBeGreaterThan(1);
  expect(executions.map((e) => e.error)).toEqual([undefined]);
  const summary = executions[0]!.output as RunSummary;
  // Every job exactly once: the selected originals on the target, everything else on the source.
  expect(await entriesOf(redis.target(), 'retry')).toEqual(selected.map(entry).sort());
  expect(await entriesOf(source, 'retry')).toEqual([...originals.filter((e) => !selected.includes(e)), ...added].map(entry).sort());
  expect(await source.keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
  return { summary, words: renderSummary(summary, 'redis://source', { width: 400 }), row: summary.sets['retry'] as TransferCounters };
}

describe('a class-selective set pass over a large retry set ends within its task: its count of what stays is bounded and says so', () => {
  it('200,000 other entries, a task of 1.5 s: the run ends, every job once, and the count, carried on by the next tasks, is whole: exactly the 10, no "at least"', async () => {
    const { summary, words, row } = await runWith(200_000, 1_500, 10_000);
    expect(summary.failures).toEqual([]);
    // Cut short by a task's time, the count goes on in the item's next tasks from the last entry it
    // read (selective-set-count-carried.test.ts counts them): it reads the 5 due last too.
    expect(row.leftOnSource).toBe(10);
    expect(row.leftUncounted).toBeUndefined();
    expect(words).toContain('10 job(s) still on the source when their transfer ended, added during the run (retry 10)');
    expect(words).toMatch(/^Done, but jobs remain on the source \(10, above\)/m);
    expect(words).not.toMatch(/at least|cut short|not all counted/i);
    expect(words).not.toMatch(/^Complete/m);
    expect(summaryVerdict(summary, 'redis://source').state).toBe('done-but');
    // The deployed summarize function's log line says the same (left-behind.ts).
    expect(leftBehindOf(summary)).toMatchObject({ verdict: 'left', uncertain: [] });
    expect(leftBehindOf(summary).left).toContain('10 remain on the source');
  }, 240_000);

  it('300 other entries, the same task time: the count is whole, exact, and says no "at least"', async () => {
    const { summary, words, row } = await runWith(300, 1_500, 100);
    expect(row.leftOnSource).toBe(10);
    expect(row.leftUncounted).toBeUndefined();
    expect(words).toContain('10 job(s) still on the source when their transfer ended, added during the run (retry 10)');
    expect(words).toMatch(/^Done, but jobs remain on the source \(10, above\)/m);
    expect(words).not.toMatch(/at least|cut short/i);
    expect(leftBehindOf(summary)).toMatchObject({ verdict: 'left', uncertain: [] });
    expect(leftBehindOf(summary).left).toContain('10 remain on the source');
  }, 60_000);
});
