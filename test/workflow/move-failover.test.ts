// A `move` across two Redis servers that have replicas, and a failover of either one right after
// it (its primary killed, its replica promoted): the claim, the copy and the acknowledge are three
// writes on two servers, each acknowledged by the primary alone. The move used to go on as soon
// as a primary replied, so a failover took back what its replica had not received yet: a target
// failover lost copies the source had already deleted, a source failover forgot claims whose
// copies existed (the jobs back on their queues, and on the target too). Each step now waits for
// the replicas of the server it wrote to (WAIT) before the next one makes it irreversible.
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowLocally, type LocalEvent } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { type RedisServerHandle, startRedisServers } from '../support/redis-server.js';
import { startReplica, type ReplicaHandle } from '../support/replica.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { Redis as RedisClient } from 'ioredis';

let servers: { source: RedisServerHandle; target: RedisServerHandle; sourceReplica: ReplicaHandle; targetReplica: ReplicaHandle };
let clients: Redis[] = [];
let connections: UrlConnections | undefined;

beforeEach(async () => {
  const [source, target] = (await startRedisServers([], [])) as [RedisServerHandle, RedisServerHandle];
  const [sourceReplica, targetReplica] = await Promise.all([startReplica(source), startReplica(target)]);
  servers = { source, target, sourceReplica, targetReplica };
  clients = [];
});

afterEach(async () => {
  await connections?.close();
  connections = undefined;
  clients.forEach((c) => c.disconnect());
  await Promise.all([servers.sourceReplica.stop(), servers.targetReplica.stop(), servers.source.stop(), servers.target.stop()]);
});

function client(server: RedisServerHandle): Redis {
  const c = new RedisClient(server.url, { protocol: 2 });
  clients.push(c);
  return c;
}

/**
 * 30 + 20 queued jobs, 10 scheduled, 10 retrying, of class A, and 10 queued and 5 retrying of
 * class B among them: what the source holds, as `jobEntry` prints it, all and of A only.
 */
async function seed(source: Redis): Promise<{ all: string[]; a: string[] }> {
  const all: string[] = [];
  const a: string[] = [];
  const add = (entry: string, className: string) => {
    all.push(entry);
    if (className === 'A') a.push(entry);
  };
  for (const [queue, n] of [['default', 40], ['mailers', 20]] as const) {
    for (let i = 0; i < n; i++) {
      const className = queue === 'default' && i % 4 === 3 ? 'B' : 'A';
      const payload = sidekiqPayload({ className, queue, args: `[${i}]` });
      await source.lpush(`queue:${queue}`, payload);
      add(jobEntry(`queue:${queue}`, payload), className);
    }
    await source.sadd('queues', queue);
  }
  for (const [set, from, n] of [['schedule', 100, 10], ['retry', 200, 15]] as const) {
    for (let i = 0; i < n; i++) {
      const className = i >= 10 ? 'B' : 'A';
      const payload = sidekiqPayload({ className, queue: 'default', args: `[${from + i}]` });
      await source.zadd(set, String(2e9 + i), payload);
      add(jobEntry(set, payload, String(2e9 + i)), className);
    }
  }
  return { all: all.sort(), a: a.sort() };
}

/** The jobs of in-flight keys, each as `jobEntry` prints it under the key it was claimed from. */
async function inFlight(redis: Redis, keys: readonly string[]): Promise<string[]> {
  const entries: string[] = [];
  for (const key of keys) {
    const from = key.replace(/^sidekiq-migrate:[^:]+:inflight:/, '');
    if ((await redis.type(key)) === 'list') entries.push(...(await redis.lrangeBuffer(key, 0, -1)).map((p) => jobEntry(from, p)));
    else {
      const flat = await redis.zrangeBuffer(key, 0, '-1', 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) entries.push(jobEntry(from, flat[i]!, flat[i + 1]!.toString()));
    }
  }
  return entries;
}

describe('move with replicas on both sides, then a failover', { timeout: 120_000 }, () => {
  for (const [side, classes] of [['target', null], ['source', null], ['target', 'A'], ['source', 'A']] as const) {
    const what = classes ? ` (class ${classes} only)` : '';
    it(`of the ${side}${what}: every job is on the two new primaries exactly once, and a second run leaves them all on the target`, async () => {
      const seeded = await seed(client(servers.source));
      const moved = classes ? seeded.a : seeded.all;
      const stays = seeded.all.filter((e) => !moved.includes(e));
      // The replicas get nothing more unless a WAIT asks for it (support/replica.ts): a failover
      // after the move keeps exactly what the move waited for.
      servers.sourceReplica.link('lagging');
      servers.targetReplica.link('lagging');
      const selection = classes ? ['--classes', classes] : [];

      const move = await runCli('move', '--from', servers.source.url, '--to', servers.target.url, '--run-id', 'failover-1', '--page-size', '20', ...selection);
      expect(move.stdout).toContain('Complete');
      expect(move.code).toBe(0);

      const promoted = side === 'source' ? servers.sourceReplica : servers.targetReplica;
      await promoted.promote(side === 'source' ? servers.source : servers.target);
      const newSource = side === 'source' ? servers.sourceReplica.server : servers.source;
      const newTarget = side === 'target' ? servers.targetReplica.server : servers.target;
      // Jobs in flight (an acknowledge the failover took back) are not counted: the next run finishes them.
      expect([...(await jobsIn(client(newSource))), ...(await jobsIn(client(newTarget)))].sort()).toEqual(seeded.all);

      const again = await runCli('move', '--from', newSource.url, '--to', newTarget.url, '--run-id', 'failover-1', '--page-size', '20', ...selection);
      expect(again.code).toBe(0);
      expect(await jobsIn(client(newTarget))).toEqual(moved);
      expect(await jobsIn(client(newSource))).toEqual(stays);
      expect(await client(newSource).keys('*sidekiq-migrate:*:inflight:*')).toEqual([]);
    });
  }
});

describe('move while the replica of one side has stalled', { timeout: 120_000 }, () => {
  const said = {
    target: (url: string) => [`only 0 of the 1 replica(s) of the target ${url} confirmed the writes within 0.5 s (WAIT)`, 'the source did not acknowledge them. They stay in flight on the source'],
    source: (url: string) => [`only 0 of the 1 replica(s) of the source ${url} confirmed the writes within 0.5 s (WAIT)`, 'nothing of it was written to the target. The claimed jobs stay in flight on the source'],
  };
  for (const side of ['target', 'source'] as const) {
    it(`of the ${side}: the run goes no further than what the replica confirmed, fails naming the ${side} and its replicas, loses nothing; once the replica is back the next run finishes the jobs in flight, waiting for it too`, async () => {
      const source = client(servers.source);
      const target = client(servers.target);
      const seeded = (await seed(source)).all;
      const stalledReplica = side === 'target' ? servers.targetReplica : servers.sourceReplica;
      const stalledServer = side === 'target' ? servers.target : servers.source;
      stalledReplica.link('frozen');

      // Commands time out after 4 s, so WAIT gives the replicas 0.5 s (replica-wait.ts); no backoff between retries.
      const connect = { commandTimeoutMs: 4_000 };
      connections = new UrlConnections({ source: { url: servers.source.url, connect }, target: { url: servers.target.url, connect } });
      // One slice per set and queue: each claims all its jobs, and they all stay in flight.
      const input = { runId: 'stalled-1', mode: 'transfer', target: 'target', pageSize: 250 };
      const run = async () => {
        const executions = await runWorkflowLocally(input, localTaskHandlers(connections!), { retryIntervalMs: 0 });
        return combineSummaries(executions.filter((e) => e.output).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));
      };

      const stalled = await run();
      expect(stalled.complete).toBe(false);
      expect(stalled.failures.length).toBeGreaterThan(0);
      for (const failure of stalled.failures) for (const words of said[side](stalledServer.url)) expect(failure.error).toContain(words);
      // Nothing acknowledged: every job is in flight on the source (a stalled source: none on the target).
      const inflight = await source.keys('sidekiq-migrate:stalled-1:inflight:*');
      expect(await jobsIn(source)).toEqual([]);
      expect((await inFlight(source, inflight)).sort()).toEqual(seeded);
      if (side === 'source') expect(await jobsIn(target)).toEqual([]);

      // The replica back, lagging: the next run finishes the jobs in flight (resume-inflight.ts),
      // waiting for it at each step, so a failover of that side right after loses or repeats nothing.
      stalledReplica.link('lagging');
      const finished = await run();
      expect(finished.complete).toBe(true);
      expect(await jobsIn(target)).toEqual(seeded);
      expect(await jobsIn(source)).toEqual([]);
      await stalledReplica.promote(stalledServer);
      const promoted = stalledReplica.client;
      if (side === 'target') expect(await jobsIn(promoted)).toEqual(seeded);
      else {
        // The acknowledge is not waited for: the jobs may be in flight there, never back on a queue.
        expect(await jobsIn(promoted)).toEqual([]);
        const again = await runCli('move', '--from', stalledReplica.server.url, '--to', servers.target.url, '--run-id', 'stalled-1');
        expect(again.code).toBe(0);
        expect(await jobsIn(target)).toEqual(seeded);
        expect(await jobsIn(promoted)).toEqual([]);
      }
    });
  }

  it('of the target, whose replica then drops out (its link lost, syncing again: not counted): the run still waits for it, and fails', async () => {
    const source = client(servers.source);
    const seeded = (await seed(source)).all;
    servers.targetReplica.link('frozen');
    const connect = { commandTimeoutMs: 4_000 };
    connections = new UrlConnections({ source: { url: servers.source.url, connect }, target: { url: servers.target.url, connect } });
    // The replica stops at the first retry: the target then reports none (connected_slaves:0).
    let stopped: Promise<void> | undefined;
    const onEvent = (_arn: string, e: LocalEvent) => {
      if (e.type === 'StateRetried') stopped ??= servers.targetReplica.stop();
    };
    const executions = await runWorkflowLocally({ runId: 'dropped-1', mode: 'transfer', target: 'target', pageSize: 250 }, localTaskHandlers(connections), { retryIntervalMs: 0, onEvent });
    await stopped;
    const summary = combineSummaries(executions.filter((e) => e.output).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));

    expect(stopped).toBeDefined();
    expect(summary.complete).toBe(false);
    expect(summary.failures.map((f) => f.error).join('\n')).toContain(`the target ${servers.target.url} has 0 replica(s) connected, 1 earlier in this run (one lost its link, or is syncing again)`);
    const inflight = await source.keys('sidekiq-migrate:dropped-1:inflight:*');
    expect([...(await jobsIn(source)), ...(await inFlight(source, inflight))].sort()).toEqual(seeded);
  });
});

describe('move while the target replica drops out before a fresh container looks', { timeout: 120_000 }, () => {
  it('a page retried on new connections (a new Lambda container) that never saw the replica still waits for it: the count planned with the run says 1', async () => {
    const source = client(servers.source);
    const seeded = (await seed(source)).all;
    servers.targetReplica.link('frozen');
    const connect = { commandTimeoutMs: 4_000 };
    const fresh = () => new UrlConnections({ source: { url: servers.source.url, connect }, target: { url: servers.target.url, connect } });
    // Every retry runs on connections opened after the replica dropped out, as a page retried in a
    // new container does: they never saw it (connected_slaves:0) and remember nothing of it.
    const opened: UrlConnections[] = [];
    let current = fresh();
    opened.push(current);
    let stale = false;
    let stopped: Promise<void> | undefined;
    const provider = {
      get: async (name: string) => {
        if (stale) {
          await stopped;
          stale = false;
          current = fresh();
          opened.push(current);
        }
        return current.get(name);
      },
    };
    const onEvent = (_arn: string, e: LocalEvent) => {
      if (e.type !== 'StateRetried') return;
      stopped ??= servers.targetReplica.stop();
      stale = true;
    };
    try {
      const executions = await runWorkflowLocally({ runId: 'fresh-1', mode: 'transfer', target: 'target', pageSize: 250 }, localTaskHandlers(provider), { retryIntervalMs: 0, onEvent });
      const summary = combineSummaries(executions.filter((e) => e.output).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));

      expect(stopped).toBeDefined();
      expect(opened.length).toBeGreaterThan(1);
      expect(summary.complete).toBe(false);
      expect(summary.failures.map((f) => f.error).join('\n')).toContain(`the target ${servers.target.url} has 0 replica(s) connected, 1 earlier in this run (one lost its link, or is syncing again)`);
      // Nothing acknowledged that only the target's primary has: every job on the source or in flight there.
      const inflight = await source.keys('sidekiq-migrate:fresh-1:inflight:*');
      expect([...(await jobsIn(source)), ...(await inFlight(source, inflight))].sort()).toEqual(seeded);
    } finally {
      await Promise.all(opened.map((c) => c.close()));
    }
  });
});
