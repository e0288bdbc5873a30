// A Lambda container keeps its connections at module scope and reuses them for every invocation
// (lambda-connections.ts), for as long as AWS keeps it warm: a run at GitLab's scale is thousands
// of page invocations on one client, with reconnections between them (a failover, an idle
// connection cut). Nothing an invocation adds to the client, its socket or the process may stay
// behind it: the listener counts after each run are those after the first, a client keeps no
// task's listener between invocations, and Node never warns (MaxListenersExceededWarning).
import type { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { jobsIn } from '../support/exact-jobs.js';
import { processWarnings } from '../support/process-warnings.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { runWorkflow } from './support/run-workflow.js';

const lambda = lambdaOnOwnServers();

/** Every event's listener count of `emitter`, by name. */
function listeners(emitter: EventEmitter): Record<string, number> {
  return Object.fromEntries(emitter.eventNames().map((name) => [String(name), emitter.listenerCount(name)]));
}

describe('a warm Lambda container, its connections reused by every invocation', () => {
  it('five transfers, the connections cut between them: the same listeners on the clients, their sockets and the process after each as after the first, none left by a task, and no warning', { timeout: 120_000 }, async () => {
    const { source, target, h } = lambda;
    const clients = async () => Promise.all(['source', 'target'].map(async (name) => (await h.connections.get(name)).redis));
    const counts = async () => {
      const [s, t] = await clients();
      const socket = (c: Redis) => listeners((c as unknown as { stream: EventEmitter }).stream);
      return { source: listeners(s!), sourceSocket: socket(s!), target: listeners(t!), targetSocket: socket(t!), process: listeners(process) };
    };
    const warnings = processWarnings();
    const out = lambda.captureOutput();
    const seen: Awaited<ReturnType<typeof counts>>[] = [];
    const ids: string[][] = [];
    for (let run = 1; run <= 5; run++) {
      const jobs = Array.from({ length: 60 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${run},${i}]` }));
      await source.rpush('queue:default', ...jobs);
      await source.sadd('queues', 'default');
      const done = await runWorkflow(h, { runId: `warm-${run}`, mode: 'transfer', target: 'target', pageSize: 10, pagesPerInvocation: 1 });
      expect(done.summary.complete).toBe(true);
      expect(done.invocations.reduce((a, b) => a + b, 0)).toBeGreaterThan(5);
      seen.push(await counts());
      // Cut the container's connections: the next run's first calls reconnect.
      const [s, t] = await clients();
      const id = await Promise.all([s!.client('ID'), t!.client('ID')]).then((both) => both.map(String));
      ids.push(id);
      await source.client('KILL', 'ID', id[0]!);
      await target.client('KILL', 'ID', id[1]!);
    }
    out.stop();
    expect(await jobsIn(source)).toEqual([]);
    expect(await jobsIn(target)).toHaveLength(300);
    // Reconnected before each run after the first: five connections on each side.
    expect(new Set(ids.map(([s]) => s)).size).toBe(5);
    expect(new Set(ids.map(([, t]) => t)).size).toBe(5);
    expect(seen.slice(1)).toEqual(Array(4).fill(seen[0]));
    // Between invocations a client carries only connect-redis.ts's own 'error' listener: no task's.
    expect([seen[0]!.source, seen[0]!.target]).toEqual([{ error: 1 }, { error: 1 }]);
    expect(await warnings.stop()).toEqual([]);
  });
});
