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
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { startReplica, type ReplicaHandle } from '../support/replica.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { Redis as RedisClient } from 'ioredis';

let servers: { source: RedisServerHandle; target: RedisServerHandle; sourceReplica: ReplicaHandle; targetReplica: ReplicaHandle };
let clients: Redis[] = [];
let connections: UrlConnections | undefined;

beforeEach(async () => {
  const [source, target] = await Promise.all([startRedisServer(), startRedisServer()]);
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

/** 30 + 20 queued jobs, 10 scheduled, 10 retrying: what the source holds, as `jobEntry` prints it. */
async function seed(source: Redis): Promise<string[]> {
  const seeded: string[] = [];
  for (const [queue, n] of [['default', 30], ['mailers', 20]] as const) {
    const payloads = Array.from({ length: n }, (_, i) => sidekiqPayload({ className: 'A', queue, args: `[${i}]` }));
    await source.lpush(`queue:${queue}`, ...payloads);
    await source.sadd('queues', queue);
    seeded.push(...payloads.map((p) => jobEntry(`queue:${queue}`, p)));
  }
  for (const [set, from] of [['schedule', 100], ['retry', 200]] as const) {
    for (let i = 0; i < 10; i++) {
      const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${from + i}]` });
      await source.zadd(set, String(2e9 + i), payload);
      seeded.push(jobEntry(set, payload, String(2e9 + i)));
    }
  }
  return seeded.sort();
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
  for (const side of ['target', 'source'] as const) {
    it(`of the ${side}: every job is on the two new primaries exactly once, and a second run leaves them all on the target`, async () => {
      const seeded = await seed(client(servers.source));
      // The replicas get nothing more unless a WAIT asks for it (support/replica.ts): a failover
      // after the move keeps exactly what the move waited for.
      servers.sourceReplica.link('lagging');
      servers.targetReplica.link('lagging');

      const move = await runCli('move', '--from', servers.source.url, '--to', servers.target.url, '--run-id', 'failover-1', '--page-size', '20');
      expect(move.stdout).toContain('Complete');
      expect(move.code).toBe(0);

      const promoted = side === 'source' ? servers.sourceReplica : servers.targetReplica;
      await promoted.promote(side === 'source' ? servers.source : servers.target);
      const newSource = side === 'source' ? servers.sourceReplica.server : servers.source;
      const newTarget = side === 'target' ? servers.targetReplica.server : servers.target;
      // Jobs in flight (an acknowledge the failover took back) are not counted: the next run finishes them.
      expect([...(await jobsIn(client(newSource))), ...(await jobsIn(client(newTarget)))].sort()).toEqual(seeded);

      const again = await runCli('move', '--from', newSource.url, '--to', newTarget.url, '--run-id', 'failover-1', '--page-size', '20');
      expect(again.code).toBe(0);
      expect(await jobsIn(client(newTarget))).toEqual(seeded);
      expect(await jobsIn(client(newSource))).toEqual([]);
      expect(await client(newSource).keys('*sidekiq-migrate:*:inflight:*')).toEqual([]);
    });
  }
});

describe("move while the target's replica has stalled", { timeout: 120_000 }, () => {
  it('does not acknowledge what the replica has not confirmed: the run fails naming the target and its replicas, nothing is lost, and a run once it is back moves every job once', async () => {
    const source = client(servers.source);
    const target = client(servers.target);
    const seeded = await seed(source);
    servers.targetReplica.link('frozen');

    // Commands time out after 4 s, so WAIT gives the replicas 0.5 s (replica-wait.ts); no backoff between retries.
    const connect = { commandTimeoutMs: 4_000 };
    connections = new UrlConnections({ source: { url: servers.source.url, connect }, target: { url: servers.target.url, connect } });
    const input = { runId: 'stalled-1', mode: 'transfer', target: 'target', pageSize: 20 };
    const run = async () => {
      const executions = await runWorkflowLocally(input, localTaskHandlers(connections!), { retryIntervalMs: 0 });
      return combineSummaries(executions.filter((e) => e.output).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));
    };

    const stalled = await run();
    expect(stalled.complete).toBe(false);
    expect(stalled.failures.length).toBeGreaterThan(0);
    for (const failure of stalled.failures) {
      expect(failure.error).toContain(`only 0 of the 1 replica(s) of the target ${servers.target.url} confirmed the writes within 0.5 s (WAIT)`);
      expect(failure.error).toContain('the source did not acknowledge them. They stay in flight on the source');
    }
    // Nothing acknowledged: every job is still on the source, on its queue or set or in flight.
    const inflight = await source.keys('sidekiq-migrate:stalled-1:inflight:*');
    expect(inflight.length).toBeGreaterThan(0);
    expect([...(await jobsIn(source)), ...(await inFlight(source, inflight))].sort()).toEqual(seeded);

    servers.targetReplica.link('live');
    const finished = await run();
    expect(finished.complete).toBe(true);
    expect(await jobsIn(target)).toEqual(seeded);
    expect(await jobsIn(source)).toEqual([]);
    expect(await source.keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
    // And the replica has them all: a failover now loses nothing.
    await servers.targetReplica.promote(servers.target);
    expect(await jobsIn(servers.targetReplica.client)).toEqual(seeded);
  });
});
