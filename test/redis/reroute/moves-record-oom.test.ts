// A re-route page records what it moves (sidekiq-migrate:RUN:moves, move-record.ts) so that
// `rollback` can put the jobs back: "never a move without its record". The record's SADD is a
// command Redis refuses when its memory is full (noeviction), while the page's Lua calls are not
// (their first write is an LREM or a ZREM, which Redis lets through, and a script that has written
// may go on writing). Memory that fills between two pages (Sidekiq's producers go on pushing) must
// not leave a page moved without its record (a rollback would find no record of those classes and
// leave their jobs where the run put them): each call writes the record itself, after its moves.
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { runLockKey } from '../../../core/redis/run-lock.js';
import type { ConnectionProvider } from '../../../core/workflow/connections.js';
import { pageStep } from '../../../core/workflow/steps/page-step.js';
import { planStep } from '../../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../../core/workflow/url-connections.js';
import type { WorkItem } from '../../../core/workflow/work-item.js';
import { jobEntry, jobsIn } from '../../support/exact-jobs.js';
import { privateRedis } from '../../support/private-redis.js';
import { loadScripts } from '../../support/recording-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const server = privateRedis();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
  await server.client().config('SET', 'maxmemory', '0');
});

const budget = { deadline: Date.now() + 600_000 };
const PAGE = 20;
const WRITES = new Set([new LuaScript('rerouteQueueJobs-n4').sha, new LuaScript('rerouteSetEntries-n6').sha]);

/**
 * The provider's connections, with memory made full (maxmemory 1 byte, noeviction) on the source
 * just before the `nth` pipeline of re-route writes goes out: sent first on the same connection,
 * Redis runs it before them.
 */
function fillingMemoryBefore(provider: UrlConnections, nth: number): ConnectionProvider {
  let pipelines = 0;
  return {
    get: async (name) => {
      const connection = await provider.get(name);
      const redis = new Proxy(connection.redis, {
        get(target, prop) {
          const value = Reflect.get(target, prop) as unknown;
          if (prop !== 'pipeline') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          return () => {
            const pipeline = target.pipeline();
            const exec = pipeline.exec.bind(pipeline);
            pipeline.exec = () => {
              const queued = (pipeline as unknown as { _queue: { name: string; args: unknown[] }[] })._queue;
              if (queued.some((c) => c.name === 'evalsha' && WRITES.has(String(c.args[0]))) && ++pipelines === nth) {
                void target.config('SET', 'maxmemory', '1');
              }
              return exec();
            };
            return pipeline;
          };
        },
      });
      return { ...connection, redis };
    },
  };
}

/** `count` jobs, each of a class of its own (C0, C1…), on queue:old or in schedule; the mapping that sends them all to `new`. */
async function seed(client: Redis, kind: 'queue' | 'set', count: number): Promise<{ seeded: string[]; mapping: Record<string, string> }> {
  const seeded: string[] = [];
  const mapping: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const payload = sidekiqPayload({ className: `C${i}`, queue: 'old', args: `[${i}]`, jid: `j${i}` });
    mapping[`C${i}`] = 'new';
    if (kind === 'queue') {
      await client.lpush('queue:old', payload);
      seeded.push(jobEntry('queue:old', payload));
    } else {
      await client.zadd('schedule', 2e9 + i, payload);
      seeded.push(jobEntry('schedule', payload, String(2e9 + i)));
    }
  }
  await client.sadd('queues', 'old');
  return { seeded: seeded.sort(), mapping };
}

/** Pages `item` until done, as the state machine retries a failed task with its input. */
async function pageUntilDone(settings: Parameters<typeof pageStep>[0]['settings'], first: WorkItem, provider: ConnectionProvider, onError: () => Promise<void>): Promise<void> {
  let item = first;
  for (let attempt = 0; !item.done; attempt++) {
    if (attempt > 50) throw new Error('the item never finished');
    try {
      item = await pageStep({ settings, item }, provider, budget);
    } catch {
      await onError();
    }
  }
}

describe("a re-route page whose moves record Redis refuses (memory full)", () => {
  // 300 scheduled entries: more than a sorted set keeps as a listpack, so that ZSCAN pages it.
  for (const [kind, count] of [['queue', 3 * PAGE], ['set', 300]] as const) {
    it(`${kind}: moves nothing unrecorded, so the rollback puts every job back where it was`, async () => {
      const client = server.client();
      const { seeded, mapping } = await seed(client, kind, count);
      await client.config('SET', 'maxmemory-policy', 'noeviction');
      await loadScripts(client);
      connections = new UrlConnections({ source: { url: server.url() } });
      const run = await planStep({ runId: 'run-1', mode: 'reroute', routing: { kind: 'mapping', mapping }, sets: ['schedule'], pageSize: PAGE }, connections);
      const item = run.work.batch.find((i) => i.kind === kind)!;

      // Memory fills just before the task's second page writes; freed, the task is tried again.
      const provider = fillingMemoryBefore(connections, 2);
      await pageUntilDone(run.settings, item, provider, async () => {
        await client.config('SET', 'maxmemory', '0');
      });
      const movedAway = (await jobsIn(client)).filter((e) => e.startsWith(kind === 'queue' ? 'queue:new' : 'schedule'));
      expect(movedAway).toHaveLength(count);

      // The run's lock expired (a rollback waits for it), then its rollback, to the end.
      await client.del(runLockKey(''));
      const back = await planStep({ runId: 'back-1', mode: 'reroute', routing: { kind: 'rollback', of: 'run-1' }, sets: ['schedule'], pageSize: PAGE }, connections);
      for (const backItem of back.work.batch) {
        await pageUntilDone(back.settings, backItem, connections, () => Promise.reject(new Error('a rollback page failed')));
      }

      expect(await jobsIn(client)).toEqual(seeded);
    });
  }
});
