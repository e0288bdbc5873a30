// A re-route recorded the moves of a Lua call's entries before the call moved them, whatever
// became of each: a schedule entry the Sidekiq poller took (or a queued job a fetcher popped)
// between the page's read and its call, or a set entry whose rewrite was already in the set (a
// conflict: the original stays), still left `["A","other","new"]` in the run's record although
// nothing of A went from `other` to `new`. Its rollback then refused every other job of A on `new`
// ("moved such jobs here from several queues (old, other)"): left in place, "Done, but jobs were
// left behind". Each call now records, in the same script and after its moves, only the moves of
// the jobs it moved.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import type { Connection, ConnectionProvider } from '../../core/workflow/connections.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);
const MAPPING = { A: 'new', B: 'new' };
const SCRIPTS = new Set([new LuaScript('rerouteQueueJobs-n4', { encodeCalls: true }).sha, new LuaScript('rerouteSetEntries-n6', { encodeCalls: true }).sha]);

/**
 * `provider` whose source client runs `before(keys)` ahead of each pipeline of re-route calls (the
 * keys those calls name), once their page has read and examined its jobs: Sidekiq acts there.
 */
function actingBeforeMoves(provider: ConnectionProvider, before: (keys: string[]) => Promise<void>): ConnectionProvider {
  const wrap = (client: Redis): Redis =>
    new Proxy(client, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        if (prop !== 'pipeline') return (value as (...a: unknown[]) => unknown).bind(target);
        return (...args: unknown[]) => {
          const pipeline = (value as (...a: unknown[]) => { exec: (...a: unknown[]) => Promise<unknown> }).apply(target, args);
          const exec = pipeline.exec.bind(pipeline);
          pipeline.exec = async (...execArgs: unknown[]) => {
            const queued = (pipeline as unknown as { _queue: { name: string; args: unknown[] }[] })._queue;
            const calls = queued.filter((c) => c.name === 'evalsha' && SCRIPTS.has(String(c.args[0])));
            if (calls.length > 0) await before(calls.flatMap((c) => c.args.slice(2, 2 + Number(c.args[1])).map(String)));
            return exec(...execArgs);
          };
          return pipeline;
        };
      },
    });
  return { ...provider, get: async (name: string): Promise<Connection> => ({ ...(await provider.get(name)), redis: wrap((await provider.get(name)).redis) }) };
}

async function reroute(provider: ConnectionProvider, input: Record<string, unknown>): Promise<RunSummary> {
  const executions = await runWorkflowLocally({ mode: 'reroute', pageSize: 50, ...input }, localTaskHandlers(provider), { retryIntervalMs: 0 });
  expect(executions.map((e) => e.error)).toEqual([undefined]);
  return executions[0]!.output as RunSummary;
}

const lastLine = (summary: RunSummary) => renderSummary(summary, 'redis://source', { width: 400 }).trimEnd().split('\n').at(-1);
const record = async (run: string) => (await redis.source().smembers(`sidekiq-migrate:${run}:moves`)).sort();

/** A's jobs from `old`: 3 queued, 4 scheduled. */
async function seedOld(source: Redis): Promise<void> {
  for (let i = 0; i < 3; i++) await source.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  for (let i = 0; i < 4; i++) await source.zadd('schedule', String(1795459303 + i), sidekiqPayload({ className: 'A', queue: 'old', args: `[${10 + i}]` }));
  await source.sadd('queues', 'old');
}

describe('a re-route records only the moves that happened, and its rollback puts back exactly those', () => {
  it('a schedule entry the poller took before its call: not recorded; the rollback puts every moved A back, "Complete"', async () => {
    const source = redis.source();
    await seedOld(source);
    const taken = sidekiqPayload({ className: 'A', queue: 'other', args: '["due"]' });
    await source.zadd('schedule', '1795459000', taken);
    const before = await jobsIn(source);
    // Sidekiq's poller: the due entry leaves the set for queue:other, and a worker runs it at once.
    let polled = 0;
    const provider = actingBeforeMoves(connect(), async (keys) => {
      if (keys.includes('schedule')) polled += await source.zrem('schedule', taken);
    });

    const forward = await reroute(provider, { runId: 'fwd', routing: { kind: 'mapping', mapping: MAPPING } });

    expect(polled).toBe(1);
    expect(forward.totals).toMatchObject({ moved: 7, vanished: 1 });

    const back = await reroute(connect(), { runId: 'back', routing: { kind: 'rollback', of: 'fwd' } });

    expect((back.totals as RerouteCounters)).toMatchObject({ moved: 7, unmapped: 0 });
    expect(lastLine(back)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(source)).toEqual(before.filter((j) => j !== jobEntry('schedule', taken, '1795459000')));
    expect(await record('fwd')).toEqual(['["A","old","new"]']);
  });

  it('queued jobs a fetcher popped before their call: not recorded; the rollback puts every moved A back, "Complete"', async () => {
    const source = redis.source();
    await seedOld(source);
    const popped = [0, 1].map((i) => sidekiqPayload({ className: 'A', queue: 'other', args: `["popped",${i}]` }));
    await source.lpush('queue:other', ...popped);
    await source.sadd('queues', 'other');
    const before = await jobsIn(source);
    // A worker still fetching `other` pops both while the run's call for them is on its way.
    let fetched = 0;
    const provider = actingBeforeMoves(connect(), async (keys) => {
      if (keys.includes('queue:other')) while ((await source.rpop('queue:other')) !== null) fetched++;
    });

    const forward = await reroute(provider, { runId: 'fwd', routing: { kind: 'mapping', mapping: MAPPING } });

    expect(fetched).toBe(2);
    expect(forward.totals).toMatchObject({ moved: 7, vanished: 2 });

    const back = await reroute(connect(), { runId: 'back', routing: { kind: 'rollback', of: 'fwd' } });

    expect((back.totals as RerouteCounters)).toMatchObject({ moved: 7, unmapped: 0 });
    expect(lastLine(back)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(source)).toEqual(before.filter((j) => !popped.some((p) => j === jobEntry('queue:other', p))));
    expect(await record('fwd')).toEqual(['["A","old","new"]']);
  });

  it('a set entry whose rewrite was already there (a conflict, left as it was): not recorded; the rollback leaves both copies, "Complete"', async () => {
    const source = redis.source();
    await seedOld(source);
    // The same B job twice in retry: once naming `other`, once already `new`.
    const twice = (queue: string) => sidekiqPayload({ className: 'B', queue, jid: 'b0b0b0b0b0b0b0b0b0b0b0b0', args: '[1]' });
    await source.zadd('retry', '1795459100', twice('other'), '1795459200', twice('new'));
    const before = await jobsIn(source);

    const forward = await reroute(connect(), { runId: 'fwd', routing: { kind: 'mapping', mapping: MAPPING } });

    expect(forward.totals).toMatchObject({ moved: 7, conflicts: 1 });

    const back = await reroute(connect(), { runId: 'back', routing: { kind: 'rollback', of: 'fwd' } });

    expect((back.totals as RerouteCounters)).toMatchObject({ moved: 7, unmapped: 0, conflicts: 0 });
    expect(lastLine(back)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(source)).toEqual(before);
    expect(await record('fwd')).toEqual(['["A","old","new"]']);
  });
});
