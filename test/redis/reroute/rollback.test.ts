import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../../cli/workflow/task-handlers.js';
import { movesKey, readMoves, MOVES_TTL_SECONDS } from '../../../core/reroute/move-record.js';
import type { RerouteCounters } from '../../../core/reroute/reroute-counters.js';
import { runReroute, type RerouteRunRequest } from '../../../core/reroute/run-reroute.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { reverseRoutingPlan } from '../../../core/routing/reverse-plan.js';
import { classRoutingPlan, renameRoutingPlan, type RoutingPlan } from '../../../core/routing/routing-plan.js';
import { combineSummaries } from '../../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../../core/workflow/url-connections.js';
import { runWorkflowLocally } from '../../../infra/local/run-workflow-locally.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { privateRedis } from '../../support/private-redis.js';
import { keyValueSnapshot } from '../../support/exact-jobs.js';
import { allJobs } from '../../support/redis-snapshot.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const server = privateRedis();
const redis = (): Redis => server.client();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
  connections = undefined;
});

const RAILS_WRAPPER = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';
const MAIL = 'ActionMailer::MailDeliveryJob';
/** GitLab-like rules adopted by mistake: everything to `default`, Flaky to `urgent`. */
const MAPPING = { PostReceive: 'default', MergeWorker: 'default', [MAIL]: 'default', Flaky: 'urgent', Other: 'default' };

const mail = (queue: string, i: number) =>
  sidekiqPayload({
    className: RAILS_WRAPPER,
    wrapped: MAIL,
    queue,
    args: `[{"job_class":"${MAIL}","job_id":"0b1c-${i}","provider_job_id":null,"queue_name":"${queue}","priority":null,"arguments":["Notify","welcome","deliver_now",{"args":[${i},1.0],"_aj_ruby2_keywords":["args"]}],"executions":0,"exception_executions":{},"locale":"en","timezone":"UTC","enqueued_at":"2026-11-23T20:45:12.000000Z"}]`,
  });

/**
 * A GitLab instance with one queue per worker: queued, scheduled, retrying and dead jobs, ActiveJob
 * mails, jobs already on `default` (which the re-route never touches), a removed worker's jobs, an
 * unparsable entry, and Flaky retries that named two different queues.
 */
async function seed(client: Redis): Promise<void> {
  const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i},1.0,18446744073709551616,"héllo"]` });
  for (let i = 0; i < 25; i++) await client.lpush('queue:post_receive', job('PostReceive', 'post_receive', i));
  for (let i = 0; i < 5; i++) await client.lpush('queue:merge', job('MergeWorker', 'merge', i));
  for (let i = 0; i < 4; i++) await client.lpush('queue:mailers', mail('mailers', i));
  for (let i = 0; i < 6; i++) await client.lpush('queue:default', job('Other', 'default', i));
  for (let i = 0; i < 2; i++) await client.lpush('queue:removed', job('RemovedWorker', 'removed', i));
  await client.sadd('queues', 'post_receive', 'merge', 'mailers', 'default', 'removed');
  const at = (i: number) => `1795459303.${String(8459766 + i)}`;
  for (let i = 0; i < 10; i++) await client.zadd('schedule', at(i), job('PostReceive', 'post_receive', 100 + i));
  for (let i = 0; i < 3; i++) await client.zadd('schedule', at(20 + i), mail('mailers', 100 + i));
  for (let i = 0; i < 2; i++) await client.zadd('schedule', at(30 + i), job('MergeWorker', 'merge', 100 + i));
  for (let i = 0; i < 2; i++) await client.zadd('schedule', at(40 + i), job('Other', 'default', 100 + i));
  for (let i = 0; i < 6; i++) await client.zadd('retry', at(i), job('Flaky', i % 2 ? 'flaky_a' : 'flaky_b', 200 + i));
  for (let i = 0; i < 2; i++) await client.zadd('retry', at(10 + i), job('PostReceive', 'post_receive', 200 + i));
  await client.zadd('retry', '5', 'not json');
  for (let i = 0; i < 2; i++) await client.zadd('dead', at(i), job('MergeWorker', 'merge', 300 + i));
  await client.zadd('dead', at(9), job('RemovedWorker', 'removed', 300));
}

/** Every job with where it is (lists in order, sets with their exact scores), our own keys aside. */
async function jobs(client: Redis): Promise<string[]> {
  return (await allJobs(client, '')).filter((j) => !j.key.startsWith('sidekiq-migrate:')).map((j) => `${j.key}\t${j.score ?? ''}\t${j.payload}`);
}

const sorted = (lines: string[]) => [...lines].sort();
const flaky = (line: string) => line.includes('"class":"Flaky"');

async function run(input: Record<string, unknown>) {
  connections = connections ?? new UrlConnections({ source: { url: server.url() } });
  const executions = await runWorkflowLocally({ mode: 'reroute', pageSize: 4, ...input }, localTaskHandlers(connections), { retryIntervalMs: 0 });
  const chain = executions.filter((e) => e.output).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary }));
  return { executions, summary: chain.length > 0 ? combineSummaries(chain) : undefined };
}

const forward = () => run({ runId: 'fwd-1', routing: { kind: 'mapping', mapping: MAPPING } });
const rollback = (of: string, extra: Record<string, unknown> = {}) => run({ runId: `back-of-${of}`, routing: { kind: 'rollback', of }, ...extra });

describe('rollback of a re-route run', () => {
  it('puts every job the run moved back on its queue, byte for byte, with its score; leaves the rest alone', async () => {
    await seed(redis());
    const original = await jobs(redis());

    const there = (await forward()).summary!;
    expect(there).toMatchObject({ complete: true, totals: { moved: 59, unmapped: 3, unparsable: 1 } });
    const moves = await readMoves(redis(), '', 'fwd-1');
    expect(moves).toContainEqual({ routedClass: MAIL, from: 'mailers', to: 'default' });
    expect(moves).toContainEqual({ routedClass: 'Flaky', from: 'flaky_a', to: 'urgent' });
    const ttl = await redis().ttl(movesKey('', 'fwd-1'));
    expect(ttl).toBeGreaterThan(MOVES_TTL_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(MOVES_TTL_SECONDS);

    const back = (await rollback('fwd-1')).summary!;

    // The Flaky retries came from two queues: left in place, counted, and the report says why.
    const totals = back.totals as RerouteCounters;
    expect(back).toMatchObject({ complete: true, totals: { moved: 53, unmapped: 6, unparsable: 1 } });
    expect(totals.movedTo).toEqual({ post_receive: 37, merge: 9, mailers: 7 });
    expect(totals.unmappedClasses).toEqual({ Flaky: 6 });
    expect(totals.samples.unmapped[0]!.reason).toBe('run fwd-1 moved such jobs here from several queues (flaky_a, flaky_b): cannot tell which one each came from');
    // The untouched `default` jobs were looked at in place and left: not unmapped.
    expect(back.queues['default']).toMatchObject({ moved: 34, alreadyRouted: 6, unmapped: 0 });

    const after = await jobs(redis());
    expect(after.filter((l) => !flaky(l))).toEqual(original.filter((l) => !flaky(l)));
    expect(sorted(after.filter(flaky))).toEqual(sorted(original.filter(flaky).map((l) => l.replace(/"queue":"flaky_[ab]"/, '"queue":"urgent"'))));
    // The rollback recorded its own moves: it can be rolled back in turn.
    expect(await readMoves(redis(), '', 'back-of-fwd-1')).toContainEqual({ routedClass: 'PostReceive', from: 'default', to: 'post_receive' });
  });

  it('a rollback of the rollback re-applies the run', async () => {
    await seed(redis());
    await forward();
    const afterForward = await jobs(redis());
    await rollback('fwd-1');

    const again = (await rollback('back-of-fwd-1')).summary!;

    expect(again).toMatchObject({ complete: true, totals: { moved: 53, unmapped: 0 } });
    // Sorted: `default` is filled from three queues by concurrent work items, in no fixed order.
    expect(sorted(await jobs(redis()))).toEqual(sorted(afterForward));
  });

  it('a dry run reports what it would move and writes nothing', async () => {
    await seed(redis());
    await forward();
    const before = await contents(redis());

    const summary = (await rollback('fwd-1', { dryRun: true })).summary!;

    expect(summary).toMatchObject({ dryRun: true, complete: true, totals: { moved: 53, unmapped: 6 } });
    expect(await redis().exists(movesKey('', 'back-of-fwd-1'))).toBe(0);
    const after = await contents(redis());
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [key, { value, ttl }] of after) {
      expect(value, key).toBe(before.get(key)!.value);
      // The forward run's keys expire; a dry run refreshes no TTL.
      expect(ttl, key).toBeLessThanOrEqual(before.get(key)!.ttl);
    }
  });

  it('refuses a run that recorded no moves, clearly, touching nothing', async () => {
    await seed(redis());
    await run({ runId: 'dry-1', routing: { kind: 'mapping', mapping: MAPPING }, dryRun: true });
    const before = await keyValueSnapshot(redis(), '');

    for (const of of ['never-ran', 'dry-1']) {
      const { executions, summary } = await rollback(of);

      expect(summary).toBeUndefined();
      expect(executions).toHaveLength(1);
      expect(executions[0]!.error).toMatchObject({ name: 'InvalidInputError' });
      expect(executions[0]!.error!.message).toMatch(
        new RegExp(`^Run ${of} recorded no moves on redis://127\\.0\\.0\\.1:\\d+: it moved nothing, was a dry run, is older than 30 days, or was a transfer\\.$`),
      );
      expect(await keyValueSnapshot(redis(), '')).toEqual(before);
    }
  });

  it('refuses to record into the run it rolls back', async () => {
    await seed(redis());
    await forward();

    const { executions } = await run({ runId: 'fwd-1', routing: { kind: 'rollback', of: 'fwd-1' } });

    expect(executions[0]!.error?.message).toMatch(/needs a run id of its own/);
  });
});

describe('move records', () => {
  const plan = classRoutingPlan(new Map([['A', 'new'], ['B', 'other'], ['C', 'third']]));
  /** Which class a run moves to each queue. */
  const classOf: Record<string, string> = { new: 'A', other: 'B', third: 'C' };

  /** A and B entries on `old` in the sets, A and C jobs on `queue:old`: each goes to its class's queue. */
  async function seedSmall(keys: SidekiqKeys): Promise<void> {
    for (let i = 0; i < 12; i++) {
      const entry = sidekiqPayload({ className: i % 2 ? 'A' : 'B', queue: 'old', args: `[${i}]` });
      await redis().zadd(keys.sortedSet(i % 3 === 0 ? 'schedule' : 'retry'), String(1795459303 + i), entry);
      await redis().lpush(keys.queue('old'), sidekiqPayload({ className: i % 2 ? 'A' : 'C', queue: 'old', args: `[${100 + i}]` }));
    }
  }

  const request = (keys: SidekiqKeys, client: Redis, record: boolean, routing: RoutingPlan = plan): RerouteRunRequest => ({
    redis: client,
    keys,
    plan: routing,
    dryRun: false,
    sets: ['schedule', 'retry', 'dead'],
    queues: true,
    pageSize: 3,
    luaBatch: 2,
    ...(record ? { recordMovesAs: { runId: 'r' } } : {}),
  });

  it('cost no round trip: a page records in the pipeline of its moves', async () => {
    const calls: number[] = [];
    // One page per set and queue (SCAN calls aside): how many pages a SCAN or a ZSCAN of a small
    // count takes depends on Redis's incremental rehashing.
    for (const record of [false, true]) {
      await redis().flushall();
      const keys = new SidekiqKeys('p:');
      await seedSmall(keys);
      await runReroute(request(keys, redis(), record)); // scripts loaded: both runs below make the same calls
      await redis().flushall();
      await seedSmall(keys);
      let counted = 0;
      const counting = interferingRedis(redis(), ({ command }) => {
        if (command !== 'scan') counted++;
      });
      await runReroute({ ...request(keys, counting, record), pageSize: 100 });
      calls.push(counted);
    }
    expect(calls[1]).toBe(calls[0]);
  });

  it('a run stopped before any of its Redis calls never leaves a moved job without its record', async () => {
    // Scripts loaded first, as in every run below: otherwise the first crash points fall on loading them.
    await seedSmall(new SidekiqKeys('warm:'));
    await runReroute(request(new SidekiqKeys('warm:'), redis(), true));
    for (let crashAt = 0; ; crashAt++) {
      await redis().flushall();
      const keys = new SidekiqKeys('p:');
      await seedSmall(keys);
      const crashing = interferingRedis(redis(), ({ index }) => {
        if (index === crashAt) throw new SimulatedCrash(`crash before call ${index}`);
      });

      const outcome = await runReroute(request(keys, crashing, true)).then(
        () => 'completed' as const,
        (error: Error) => error,
      );

      const recorded = new Set((await redis().smembers(movesKey('p:', 'r'))).map(String));
      for (const j of await allJobs(redis(), 'p:')) {
        const moved = /"queue":"(new|other|third)"/.exec(j.payload)?.[1];
        if (moved) expect(recorded, `crash before call ${crashAt}`).toContain(JSON.stringify([classOf[moved], 'old', moved]));
      }
      if (outcome === 'completed') break;
      expect(outcome.message).toContain(`crash before call ${crashAt}`);
    }
  });

  it('a rename run records its classes, and its rollback moves back only them, not what the destination had', async () => {
    const keys = new SidekiqKeys('p:');
    await seedSmall(keys);
    // The rename merges `old` into an existing queue: its own job must stay there after a rollback.
    await redis().lpush(keys.queue('new'), sidekiqPayload({ className: 'Resident', queue: 'new', args: '[1]' }));
    const before = await allJobs(redis(), 'p:');

    await runReroute(request(keys, redis(), true, renameRoutingPlan(new Map([['old', 'new']]))));
    expect((await redis().smembers(movesKey('p:', 'r'))).sort()).toEqual(['["A","old","new"]', '["B","old","new"]', '["C","old","new"]']);
    const moves = (await readMoves(redis(), 'p:', 'r'))!;
    await runReroute({ ...request(keys, redis(), false, reverseRoutingPlan('r', moves)) });

    expect((await allJobs(redis(), 'p:')).filter((j) => !j.key.startsWith('p:sidekiq-migrate:'))).toEqual(before);
  });

  it('dry runs record nothing', async () => {
    const keys = new SidekiqKeys('p:');
    await seedSmall(keys);

    await runReroute({ ...request(keys, redis(), true), dryRun: true });

    expect(await redis().exists(movesKey('p:', 'r'))).toBe(0);
  });
});

/** Every key's value (DUMP) and TTL: keys with a TTL digest differently as time passes. */
async function contents(client: Redis): Promise<Map<string, { value: string; ttl: number }>> {
  const out = new Map<string, { value: string; ttl: number }>();
  for (const key of (await client.keys('*')).sort()) {
    const dump = await client.dumpBuffer(key);
    out.set(key, { value: createHash('sha256').update(dump ?? Buffer.alloc(0)).digest('hex'), ttl: await client.pttl(key) });
  }
  return out;
}
