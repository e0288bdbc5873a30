import { Redis } from 'ioredis';
import { afterEach, beforeEach } from 'vitest';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowLocally, type LocalExecution } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, keysUnder } from './exact-jobs.js';
import { type RedisServerHandle, startRedisServers } from './redis-server.js';
import { startReplica, type ReplicaHandle } from './replica.js';
import { sidekiqPayload } from './sidekiq-jobs.js';

/** A transfer run in this process (ReplicatedPair.transfer): its executions, and their summaries combined (read only where one has a summary). */
export interface LocalTransfer {
  readonly executions: LocalExecution[];
  readonly summary: RunSummary;
}

/**
 * A source and a target for tests of what a move waits for on replicas: fresh servers for each
 * test (a failover kills a primary), and what such a test opens on them (clients, replicas,
 * proxies, connections), all closed after it.
 */
export interface ReplicatedPair {
  /** This test's source and target (started before it, stopped after it). */
  servers(): { readonly source: RedisServerHandle; readonly target: RedisServerHandle };
  /** A client (RESP2, as Sidekiq sees replies) to a server or URL, disconnected after the test. */
  client(to: RedisServerHandle | string): Redis;
  /** Disconnects the test's clients now: before a failover kills the primary they would reconnect to. */
  dropClients(): void;
  /**
   * A replica of `primary` through a link the test steers (support/replica.ts), stopped after the
   * test. `patient`: it keeps its link however long it is frozen; a replica that hears nothing for
   * repl-timeout (60 s) drops it, and one that has dropped out before a connection counted it is
   * not asked for (a documented limit).
   */
  replica(primary: RedisServerHandle, options?: { readonly patient?: boolean }): Promise<ReplicaHandle>;
  /** `close` runs after the test, before the servers stop (a proxy's). */
  afterTest(close: () => Promise<void>): void;
  /** `queued` jobs on queue:default and `retrying` on retry, pushed on the source; returned as `jobEntry` prints them, sorted. */
  seed(jobs: { readonly queued: number; readonly retrying?: number }): Promise<string[]>;
  /** The jobs of run `runId`'s in-flight keys on the source, each under the key it was claimed from, sorted. */
  inFlight(runId: string): Promise<string[]>;
  /**
   * A transfer as `move --run-id <runId>` plans and pages it (mode transfer, pageSize 250, then
   * `input`), run in this process against the source and target or the URLs given for them (a
   * proxy's); the state machine's retries without waiting between them. Commands time out after
   * 4 s, so each WAIT gives the replicas 0.5 s (replica-wait.ts).
   */
  transfer(input: { readonly runId: string } & Record<string, unknown>, via?: { readonly source?: string; readonly target?: string }): Promise<LocalTransfer>;
}

/** Registers the hooks of a ReplicatedPair for each test of the file (or describe block) it is called in. */
export function replicatedPair(): ReplicatedPair {
  let servers: [RedisServerHandle, RedisServerHandle] | undefined;
  const replicas: ReplicaHandle[] = [];
  const clients: Redis[] = [];
  const closing: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    servers = (await startRedisServers([], [])) as [RedisServerHandle, RedisServerHandle];
  });

  afterEach(async () => {
    clients.splice(0).forEach((c) => c.disconnect());
    for (const close of closing.splice(0)) await close();
    await Promise.all([...replicas.splice(0).map((r) => r.stop()), ...(servers ?? []).map((s) => s.stop())]);
    servers = undefined;
  });

  const source = () => servers![0];
  const client = (to: RedisServerHandle | string) => {
    const c = new Redis(typeof to === 'string' ? to : to.url, { protocol: 2 });
    clients.push(c);
    return c;
  };

  return {
    servers: () => ({ source: servers![0], target: servers![1] }),
    client,
    dropClients: () => clients.splice(0).forEach((c) => c.disconnect()),
    async replica(primary, options = {}) {
      const started = await startReplica(primary);
      replicas.push(started);
      if (options.patient) await started.client.config('SET', 'repl-timeout', '3600');
      return started;
    },
    afterTest: (close) => void closing.push(close),
    async seed({ queued, retrying = 0 }) {
      const redis = client(source());
      const all: string[] = [];
      for (let i = 0; i < queued; i++) {
        const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` });
        await redis.lpush('queue:default', payload);
        all.push(jobEntry('queue:default', payload));
      }
      await redis.sadd('queues', 'default');
      for (let i = 0; i < retrying; i++) {
        const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${100 + i}]` });
        await redis.zadd('retry', String(2e9 + i), payload);
        all.push(jobEntry('retry', payload, String(2e9 + i)));
      }
      return all.sort();
    },
    async inFlight(runId) {
      const redis = client(source());
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
    },
    async transfer(input, via = {}) {
      const connect = { commandTimeoutMs: 4_000 };
      const connections = new UrlConnections({ source: { url: via.source ?? source().url, connect }, target: { url: via.target ?? servers![1].url, connect } });
      try {
        const executions = await runWorkflowLocally({ mode: 'transfer', target: 'target', pageSize: 250, ...input }, localTaskHandlers(connections), { retryIntervalMs: 0 });
        // Combined when read: an execution that failed before its summary has none to combine.
        return {
          executions,
          get summary() {
            return combineSummaries(executions.filter((e) => e.output).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));
          },
        };
      } finally {
        await connections.close();
      }
    },
  };
}
