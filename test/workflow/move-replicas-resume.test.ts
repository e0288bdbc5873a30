// Two ways a resumed `move` acknowledged on the source what a replica did not have yet:
//
// 1. The ask for replicas (`--from-replicas N` / `--to-replicas N`, for a Redis whose proxy hides
//    its replicas: INFO connected_slaves:0) was only as good as the command that gave it. The same
//    run id run again without the option waited for what INFO reports, none behind such a proxy:
//    the resumed slices were acknowledged before the target's replica had their copy, and a
//    failover of the target then lost them. Now the ask is part of the run (recorded by its first
//    plan beside its routing, started-with.ts): a resume without the option waits as the run was
//    started; one with another count is refused, exit 2, both counts named, nothing touched.
//
// 2. What an earlier attempt left in flight (claimed, perhaps copied, by a process that is gone)
//    is finished by the next plan (resume-inflight.ts), whose WAIT had no write of its own to wait
//    for: a connection opened again just before it (a blip; ioredis sends the WAIT again) answered
//    at once, every replica counted, though the replica lacked the claim. The copy went to the
//    target, the source acknowledged, and a failover of the source brought the jobs back on its
//    queue: each job twice. Now such a WAIT covers a write of the plan's own on the connection it
//    runs on (the run lock written again), so a replica that does not have the claim fails it.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn, keysUnder, keyValueSnapshot } from '../support/exact-jobs.js';
import { type RedisServerHandle, startRedisServers } from '../support/redis-server.js';
import { startReplica, type ReplicaHandle } from '../support/replica.js';
import { rewritingProxy } from '../support/rewriting-proxy.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

let source: RedisServerHandle;
let target: RedisServerHandle;
let replica: ReplicaHandle | undefined;
let connections: UrlConnections | undefined;
const closing: (() => Promise<void>)[] = [];
const clients: Redis[] = [];

beforeEach(async () => {
  [source, target] = (await startRedisServers([], [])) as [RedisServerHandle, RedisServerHandle];
});

afterEach(async () => {
  await connections?.close();
  connections = undefined;
  clients.splice(0).forEach((c) => c.disconnect());
  for (const close of closing.splice(0)) await close();
  await Promise.all([replica?.stop(), source.stop(), target.stop()]);
  replica = undefined;
});

function client(url: string): Redis {
  const c = new Redis(url, { protocol: 2 });
  clients.push(c);
  return c;
}

/** 20 queued and (unless `queuedOnly`) 5 retrying jobs on the source, as `jobEntry` prints them, sorted. */
async function seed(queuedOnly = false): Promise<string[]> {
  const redis = client(source.url);
  const all: string[] = [];
  for (let i = 0; i < 20; i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` });
    await redis.lpush('queue:default', payload);
    all.push(jobEntry('queue:default', payload));
  }
  await redis.sadd('queues', 'default');
  for (let i = 0; i < (queuedOnly ? 0 : 5); i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${100 + i}]` });
    await redis.zadd('retry', String(2e9 + i), payload);
    all.push(jobEntry('retry', payload, String(2e9 + i)));
  }
  return all.sort();
}

/** The jobs of run `runId`'s in-flight keys on the source, each under the key it was claimed from. */
async function inFlight(runId: string): Promise<string[]> {
  const redis = client(source.url);
  const entries: string[] = [];
  for (const key of await keysUnder(redis, `sidekiq-migrate:${runId}:inflight:`)) {
    const from = key.replace(/^sidekiq-migrate:[^:]+:inflight:/, '');
    if ((await redis.type(key)) === 'list') entries.push(...(await redis.lrangeBuffer(key, 0, -1)).map((p) => jobEntry(from, p)));
    else {
      const flat = await redis.zrangeBuffer(key, 0, '-1', 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) entries.push(jobEntry(from, flat[i]!, flat[i + 1]!.toString()));
    }
  }
  return entries.sort();
}

/**
 * A replica of `server` that stays connected however long its link is frozen: a replica that hears
 * nothing for repl-timeout (60 s) drops its link, and the CLI's retries of a step take about 2 min;
 * one that has dropped out before a connection counted it is not asked for (a documented limit).
 */
async function patientReplica(server: RedisServerHandle): Promise<ReplicaHandle> {
  const started = await startReplica(server);
  await started.client.config('SET', 'repl-timeout', '3600');
  return started;
}

/** `server` behind a proxy that shows none of its replicas (Redis Enterprise's): INFO says connected_slaves:0. */
async function hidingReplicas(server: RedisServerHandle): Promise<string> {
  const proxy = await rewritingProxy({ host: '127.0.0.1', port: server.port }, (chunk) => chunk.replace(/connected_slaves:\d/g, 'connected_slaves:0'));
  closing.push(proxy.close);
  return proxy.url;
}

/**
 * A loopback proxy in front of `to` that cuts the connection sending the first WAIT that asks for
 * a replica (not `WAIT 0 0`) while `cutting()`, before it reaches Redis, as a network blip would:
 * ioredis connects again and sends it again on the new connection.
 */
async function cutAtFirstWait(to: RedisServerHandle, cutting: () => boolean): Promise<{ url: string; cuts: () => number }> {
  let cuts = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((downstream) => {
    const upstream = createConnection({ host: '127.0.0.1', port: to.port });
    open.add(downstream).add(upstream);
    for (const s of [downstream, upstream]) {
      s.on('error', () => {});
      s.on('close', () => open.delete(s));
    }
    downstream.on('data', (d: Buffer) => {
      if (cuts === 0 && cutting() && /(^|\r\n)\*3\r\n\$4\r\nwait\r\n\$\d+\r\n[1-9]/i.test(d.toString('latin1'))) {
        cuts++;
        downstream.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => downstream.write(d));
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  closing.push(async () => {
    for (const s of open) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `redis://127.0.0.1:${(server.address() as { port: number }).port}`, cuts: () => cuts };
}

/** A first start of the run, as `move --run-id <runId> <asked>` plans and pages it, with no wait between retries. */
async function firstStart(runId: string, targetUrl: string, asked: Record<string, number>): Promise<RunSummary> {
  // Commands time out after 4 s, so WAIT gives the replicas 0.5 s (replica-wait.ts).
  const connect = { commandTimeoutMs: 4_000 };
  connections = new UrlConnections({ source: { url: source.url, connect }, target: { url: targetUrl, connect } });
  const executions = await runWorkflowLocally({ runId, mode: 'transfer', target: 'target', pageSize: 250, ...asked }, localTaskHandlers(connections), { retryIntervalMs: 0 });
  await connections.close();
  connections = undefined;
  return combineSummaries(executions.filter((e) => e.output).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));
}

describe('a resumed move waits for the replicas its run was started with', { timeout: 420_000 }, () => {
  it('started with --to-replicas 1 on a target whose proxy hides its replica, run again without it: the WAIT still asks for 1, the slices fail naming --to-replicas 1, nothing acknowledged; once the replica keeps up, the same command finishes and a failover of the target keeps every job', async () => {
    replica = await patientReplica(target);
    const hidden = await hidingReplicas(target);
    const seeded = await seed();
    // A stalled replica: it gets none of the copies.
    replica.link('frozen');
    const first = await firstStart('rr-1', hidden, { toReplicas: 1 });
    expect(first.complete).toBe(false);
    expect(first.failures.map((f) => f.error)).toEqual([0, 1].map(() => expect.stringContaining(`only 0 of the 1 replica(s) of the target ${hidden} (1 asked for with --to-replicas; it reports 0`)));
    expect(await jobsIn(client(source.url))).toEqual([]);
    expect(await inFlight('rr-1')).toEqual(seeded);

    // The same run id, without --to-replicas. Before: INFO said 0, so no WAIT; the 25 jobs were
    // acknowledged on the source, "Complete", and the failover below lost them all.
    const again = await runCli('move', '--from', source.url, '--to', hidden, '--run-id', 'rr-1');
    expect(again.code).toBe(1);
    expect(again.stdout).not.toContain('Complete');
    expect(`${again.stdout}${again.stderr}`).toContain(`only 0 of the 1 replica(s) of the target ${hidden} (1 asked for with --to-replicas; it reports 0`);
    expect(await jobsIn(client(source.url))).toEqual([]);
    expect(await inFlight('rr-1')).toEqual(seeded);

    // The replica keeps up (only a WAIT gets it the writes): the same command, still without the option.
    replica.link('lagging');
    const done = await runCli('move', '--from', source.url, '--to', hidden, '--run-id', 'rr-1');
    expect(done.stdout).toContain('Complete');
    expect(done.code).toBe(0);
    expect(await jobsIn(client(target.url))).toEqual(seeded);
    expect(await jobsIn(client(source.url))).toEqual([]);
    expect(await inFlight('rr-1')).toEqual([]);
    clients.splice(0).forEach((c) => c.disconnect());
    await replica.promote(target);
    expect(await jobsIn(replica.client)).toEqual(seeded);
  });

  for (const [given, words] of [
    [['--to-replicas', '2'], '--to-replicas 2 where it was started with --to-replicas 1'],
    [['--from-replicas', '1'], '--from-replicas 1 where it was started with none (--from-replicas not given)'],
  ] as const) {
    it(`started with --to-replicas 1, run again with ${given.join(' ')}: exit 2 naming both, nothing touched on either server`, async () => {
      const seeded = await seed();
      const first = await firstStart('rr-2', target.url, { toReplicas: 1 });
      expect(first.complete).toBe(false);
      expect(await inFlight('rr-2')).toEqual(seeded);
      const before = [await keyValueSnapshot(client(source.url)), await keyValueSnapshot(client(target.url))];

      const refused = await runCli('move', '--from', source.url, '--to', target.url, '--run-id', 'rr-2', ...given);
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr.trim().split('\n')).toEqual([expect.stringContaining(`Run rr-2 was started with --to-replicas 1; this command asks for ${words}`)]);
      expect(refused.stderr).toContain('Nothing was touched.');
      expect([await keyValueSnapshot(client(source.url)), await keyValueSnapshot(client(target.url))]).toEqual(before);
      expect(await inFlight('rr-2')).toEqual(seeded);
    });
  }

  it('started with --to-replicas 1, run again with --to-replicas 1: the same count, not refused; the move finishes, and a failover of the target keeps every job', async () => {
    replica = await patientReplica(target);
    const hidden = await hidingReplicas(target);
    const seeded = await seed();
    replica.link('frozen');
    const first = await firstStart('rr-3', hidden, { toReplicas: 1 });
    expect(first.complete).toBe(false);
    expect(await inFlight('rr-3')).toEqual(seeded);
    replica.link('lagging');
    const again = await runCli('move', '--from', source.url, '--to', hidden, '--run-id', 'rr-3', '--to-replicas', '1');
    expect(again.stdout).toContain('Complete');
    expect(again.code).toBe(0);
    expect(await jobsIn(client(target.url))).toEqual(seeded);
    expect(await jobsIn(client(source.url))).toEqual([]);
    clients.splice(0).forEach((c) => c.disconnect());
    await replica.promote(target);
    expect(await jobsIn(replica.client)).toEqual(seeded);
  });

  it('an execution resuming the run (start --resume) without toReplicas waits for the recorded 1, its plan failing retryably, nothing acknowledged; one with toReplicas 2 is refused as bad input naming both, nothing touched', async () => {
    const seeded = await seed();
    const first = await firstStart('rr-6', target.url, { toReplicas: 1 });
    expect(first.complete).toBe(false);
    expect(await inFlight('rr-6')).toEqual(seeded);
    const connect = { commandTimeoutMs: 4_000 };
    const execute = async (input: Record<string, unknown>) => {
      connections = new UrlConnections({ source: { url: source.url, connect }, target: { url: target.url, connect } });
      try {
        return await runWorkflowLocally({ runId: 'rr-6', mode: 'transfer', target: 'target', pageSize: 250, ...input }, localTaskHandlers(connections), { retryIntervalMs: 0 });
      } finally {
        await connections.close();
        connections = undefined;
      }
    };
    // Before: no WAIT (the target reports no replica), the 25 jobs acknowledged, the execution "Complete".
    const [resumed] = await execute({});
    expect(resumed!.error?.name).toBe('RetryableError');
    expect(resumed!.error?.message).toContain(`only 0 of the 1 replica(s) of the target ${target.url} (1 asked for with --to-replicas; it reports 0`);
    expect(await inFlight('rr-6')).toEqual(seeded);
    expect(await jobsIn(client(source.url))).toEqual([]);

    const before = [await keyValueSnapshot(client(source.url)), await keyValueSnapshot(client(target.url))];
    const [refused] = await execute({ toReplicas: 2 });
    expect(refused!.error?.name).toBe('InvalidInputError');
    expect(refused!.error?.message).toContain('Run rr-6 was started with --to-replicas 1; this execution asks for --to-replicas 2 where it was started with --to-replicas 1.');
    expect(refused!.error?.message).toContain('start the rest as a new run (without --resume) with the right count');
    expect([await keyValueSnapshot(client(source.url)), await keyValueSnapshot(client(target.url))]).toEqual(before);
  });
});

describe('a plan finishing what an earlier attempt left in flight waits for a write of its own', { timeout: 420_000 }, () => {
  it("the source's replica stalled, its connection cut as the resumed claim's WAIT is sent: not believed, the plan fails retryably, nothing copied or acknowledged; once the replica keeps up, the same command finishes, and a failover of the source brings no job back", async () => {
    replica = await patientReplica(source);
    const seeded = await seed();
    replica.link('frozen');
    // An earlier attempt claimed every job; its WAIT came short, so nothing was copied.
    const first = await firstStart('rr-4', target.url, {});
    expect(first.complete).toBe(false);
    expect(first.failures.map((f) => f.error)).toEqual([0, 1].map(() => expect.stringContaining(`only 0 of the 1 replica(s) of the source ${source.url}`)));
    expect(await inFlight('rr-4')).toEqual(seeded);

    let cutting = true;
    const proxy = await cutAtFirstWait(source, () => cutting);
    // Before: the WAIT sent again on the new connection covered nothing it wrote, and answered at once
    // with the replica counted: the 25 jobs were copied, acknowledged, "Complete" (exit 0), and after
    // the failover below each was on the target and back on the source.
    const again = await runCli('move', '--from', proxy.url, '--to', target.url, '--run-id', 'rr-4');
    expect(proxy.cuts()).toBe(1);
    expect(again.code).toBe(1);
    expect(again.stdout).not.toContain('Complete');
    expect(`${again.stdout}${again.stderr}`).toContain(`only 0 of the 1 replica(s) of the source ${proxy.url} confirmed the writes`);
    expect(await inFlight('rr-4')).toEqual(seeded);
    expect(await jobsIn(client(target.url))).toEqual([]);

    cutting = false;
    replica.link('lagging');
    const done = await runCli('move', '--from', proxy.url, '--to', target.url, '--run-id', 'rr-4');
    expect(done.stdout).toContain('Complete');
    expect(done.code).toBe(0);
    expect(await jobsIn(client(target.url))).toEqual(seeded);
    expect(await jobsIn(client(source.url))).toEqual([]);
    clients.splice(0).forEach((c) => c.disconnect());
    await replica.promote(source);
    expect(await jobsIn(replica.client)).toEqual([]);
    expect(await jobsIn(client(target.url))).toEqual(seeded);
  });

  it("the source's replica keeping up, the connection cut as the resumed claim's WAIT is sent: the plan's own write is waited for, and the same command finishes; a failover of the source brings no job back", async () => {
    replica = await patientReplica(source);
    // One key in flight: no later WAIT of the run gets the replica the claim (a second key's would).
    const seeded = await seed(true);
    replica.link('frozen');
    const first = await firstStart('rr-5', target.url, {});
    expect(first.complete).toBe(false);
    expect(await inFlight('rr-5')).toEqual(seeded);

    replica.link('lagging');
    const proxy = await cutAtFirstWait(source, () => true);
    const done = await runCli('move', '--from', proxy.url, '--to', target.url, '--run-id', 'rr-5');
    expect(proxy.cuts()).toBe(1);
    expect(done.stdout).toContain('Complete');
    expect(done.code).toBe(0);
    expect(await jobsIn(client(target.url))).toEqual(seeded);
    expect(await jobsIn(client(source.url))).toEqual([]);
    clients.splice(0).forEach((c) => c.disconnect());
    // Before: the WAIT sent again answered at once, and the claim had not reached the replica: after
    // the failover the 20 jobs were back on the source's queue, each also on the target.
    await replica.promote(source);
    expect(await jobsIn(replica.client)).toEqual([]);
  });
});
