// A `front` pass counts what arrived as the jobs above the highest job it left in place (its top,
// core/reroute/front-top.ts), looked for where it should be, else further down from the tail (a
// worker's pops moved it there) and down from the head (it lies below the arrivals). A task read
// at most TOP_READ_JOBS (50,000) jobs looking: on a busy queue, a worker fetching more than about
// 25,000 of the jobs the pass kept and producers pushing as many before its count, not found by
// then, every job on the list was counted as arrived: 55,000 said arrived where 35,000 had
// (audit-fronttop). The count now goes on in the next page where it stopped (the cursor's
// `search`), at most TOP_READ_JOBS read a page, and finds the top.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { aroundScriptPipelines } from '../support/around-script-pipelines.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { withWrappedClient } from '../support/wrapped-client.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

/**
 * `provider` whose source runs `meanwhile(n)` just before the pass's nth end (its count's LLEN: each
 * page of the count ends the pass again), n from 0.
 */
function beforePassEnd(provider: ConnectionProvider, meanwhile: (n: number) => Promise<void>): ConnectionProvider & { met: () => number } {
  let met = 0;
  const wrap = (client: Redis): Redis =>
    aroundScriptPipelines(client, new LuaScript('endQueuePass-5').sha, async (exec) => {
      await meanwhile(met++);
      return exec();
    });
  return { ...withWrappedClient(provider, 'source', wrap), met: () => met };
}

async function pushAll(client: Redis, key: string, jobs: readonly string[], end: 'lpush' | 'rpush' = 'lpush') {
  for (let i = 0; i < jobs.length; i += 5000) await client[end](key, ...jobs.slice(i, i + 5000));
}

describe('a front pass on a busy queue: a worker fetches 40,000 of the 60,000 jobs it kept and producers push 35,000 before its count', { timeout: 600_000 }, () => {
  it.each([
    [false, 'counts the 35,000 that arrived (not every job on the list), reading at most 50,000 jobs a page'],
    [true, 'and 5,000 more of each between the pages of its count: counts the 40,000 that arrived'],
  ])('between pages %s: %s', async (between) => {
    const source = redis.source();
    // Oldest first: 60,000 of B (unmapped: the pass keeps them), then 10 of A (moved to new).
    const kept = Array.from({ length: 60_000 }, (_, i) => sidekiqPayload({ className: 'B', queue: 'old', args: `[${i}]`, jid: `b${String(i).padStart(23, '0')}` }));
    const moved = Array.from({ length: 10 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, jid: `a${String(i).padStart(23, '0')}` }));
    const arrivals = Array.from({ length: 35_000 }, (_, i) => sidekiqPayload({ className: i % 1000 === 0 ? 'A' : 'B', queue: 'old', args: `["late",${i}]`, jid: `l${String(i).padStart(23, '0')}` }));
    await pushAll(source, 'queue:old', [...kept, ...moved]);
    await source.sadd('queues', 'old');
    await source.script('LOAD', new LuaScript('endQueuePass-5').source);
    const more = between ? Array.from({ length: 5000 }, (_, i) => sidekiqPayload({ className: 'B', queue: 'old', args: `["later",${i}]`, jid: `m${String(i).padStart(23, '0')}` })) : [];
    const late = [...arrivals, ...more];
    let fetched: string[] = [];
    const provider = beforePassEnd(connect(), async (n) => {
      // A worker fetches the 40,000 oldest (jobs the pass kept); producers push 35,000 meanwhile.
      if (n === 0) {
        fetched = (await source.rpop('queue:old', 40_000))!;
        await pushAll(source, 'queue:old', arrivals);
      } else if (n === 1 && between) {
        // Before the count's second page: 5,000 more of the jobs kept fetched, 5,000 more pushed.
        fetched.push(...(await source.rpop('queue:old', 5000))!);
        await pushAll(source, 'queue:old', more);
      }
    });

    const executions = await runWorkflowLocally({ runId: 'busy-front', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, placement: 'front', pageSize: 5000, pagesPerInvocation: 4 }, localTaskHandlers(provider), { retryIntervalMs: 0 });
    // The count went on in a later page (each page of it ends the pass again: a no-op).
    expect(provider.met()).toBeGreaterThan(1);
    expect(executions.map((e) => e.error)).toEqual([undefined]);
    expect(fetched).toEqual(kept.slice(0, between ? 45_000 : 40_000));
    const summary = executions[0]!.output as RunSummary;
    const totals = summary.totals as RerouteCounters;
    const onSource = await jobsIn(source);
    expect(onSource).toEqual([...[...kept.slice(fetched.length), ...late].map((p) => jobEntry('queue:old', p)), ...moved.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new')))].sort());
    expect(totals).toMatchObject({ scanned: 60_010, moved: 10, movedTo: { new: 10 }, unmapped: 60_000, vanished: 0, arrived: late.length });
    const words = renderSummary(summary, 'redis://source', { width: 400 });
    const n = between ? '40,?000' : '35,?000';
    expect(words).toMatch(new RegExp(`${n} job\\(s\\) arrived on retired queues during the run \\(queue:old ${n}\\)`));
    expect(words).not.toMatch(/^Complete/m);
  });
});
