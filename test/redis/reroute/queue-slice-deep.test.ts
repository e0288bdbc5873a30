import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { drivePages } from '../../../core/reroute/drive-pages.js';
import { rerouteQueueSlice, type QueueCursor } from '../../../core/reroute/queue-slice.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { connectShared, sharedRedisUrl, uniquePrefix } from '../../support/redis.js';
import { jidOf, sidekiqPayload } from '../../support/sidekiq-jobs.js';

// Every Sidekiq client waits while a Lua call runs (issue #18: no call over 2 ms). A queue whose
// jobs mostly stay (unmapped, or already on their queue: a live queue a few classes leave) puts
// each window deep in the list, and each job's LREM walked from the nearer end past every job to
// it, ~70 ns a job: a re-route of a 100,000-job queue of which a tenth moved took 40 s, its Lua
// calls 91 ms at the median and up to 985 ms (bench/README.md, audit-scale). Deep in the list, a
// call now takes the jobs it finds in its span with one LREM (of markers it put in their places):
// MONITOR shows each LREM a script sends.
const redis = connectShared();

describe('a queue slice deep in a long list removes its jobs with one walk a call', () => {
  for (const placement of ['front', 'append'] as const) {
    it(`${placement}: 3,000 jobs of which a tenth move: one LREM a call, every job once, every order kept`, { timeout: 60_000 }, async () => {
      const keys = new SidekiqKeys(uniquePrefix());
      const source = keys.queue('old');
      // Oldest first; jobs of class M move, jobs of class S have no destination and stay. Two moving
      // jobs share their bytes (a job enqueued twice with one jid): both move, one each.
      const twin = sidekiqPayload({ className: 'M', queue: 'old', args: '["twin"]', jid: 'ab'.repeat(12) });
      const payloads = Array.from({ length: 3000 }, (_, i) => (i === 1500 || i === 1510 ? twin : sidekiqPayload({ className: i % 10 === 3 ? 'M' : 'S', queue: 'old', args: `[${i}]` })));
      await redis.sadd(keys.queues, 'old');
      for (let i = 0; i < payloads.length; i += 500) await redis.lpush(source, ...payloads.slice(i, i + 500));
      const monitor = new Redis(sharedRedisUrl(), { maxRetriesPerRequest: 1 });
      const watching = await monitor.monitor();
      const lrems: string[] = [];
      let calls = 0;
      watching.on('monitor', (_time: string, args: string[], from: string) => {
        if (from !== 'lua' && args[0]?.toLowerCase() === 'evalsha' && args[3] === source) calls++;
        if (from === 'lua' && args[0]?.toLowerCase() === 'lrem' && args[1] === source) lrems.push(args[3]!);
      });
      const result = await drivePages(
        (cursor) => rerouteQueueSlice({ redis, keys, plan: classRoutingPlan(new Map([['M', 'new']])), queue: 'old', cursor, sliceSize: 500, placement, dryRun: false, luaBatch: 50 }),
        null as QueueCursor | null,
      );
      await redis.ping();
      await new Promise((resolve) => setTimeout(resolve, 50));
      watching.disconnect();
      monitor.disconnect();

      expect(result.done).toBe(true);
      expect(result.counters.moved).toBe(302);
      expect(result.counters.unmapped).toBe(2698);
      // The jobs that stay, in their order; the moved ones on their new queue, in their order (oldest first).
      const left = (await redis.lrange(source, 0, -1)).reverse();
      expect(left).toEqual(payloads.filter((p) => p.includes('"class":"S"')));
      const moved = (await redis.lrange(keys.queue('new'), 0, -1)).reverse().map(jidOf);
      expect(moved).toEqual(payloads.filter((p) => p.includes('"class":"M"')).map(jidOf));
      // Deep calls walk once: an LREM of their marker. Calls near an end (the first and last
      // windows, within 256 jobs of one) remove job by job, as before.
      const markers = lrems.filter((m) => m.startsWith('sidekiq-migrate:reroute-marker:'));
      // 302 jobs in calls of at most 50 (split at the windows' edges): 7 or 8 calls, of which only
      // those within 256 jobs of an end (~100 jobs' worth) remove job by job; each deep one found
      // all of its jobs in its span (no LREM of a job's own). Before: 302 LREMs, one a job.
      expect(calls).toBeGreaterThanOrEqual(7);
      expect(markers.length).toBeGreaterThanOrEqual(5);
      expect(lrems.length - markers.length).toBeLessThanOrEqual(100);
    });
  }

  for (const placement of ['front', 'append'] as const) {
    it(`${placement}: a fetcher popping the tail and a producer pushing at the head all along: every job exactly once`, { timeout: 60_000 }, async () => {
      const keys = new SidekiqKeys(uniquePrefix());
      const source = keys.queue('old');
      const payloads = Array.from({ length: 4000 }, (_, i) => sidekiqPayload({ className: i % 7 === 3 ? 'M' : 'S', queue: 'old', args: `[${i}]` }));
      await redis.sadd(keys.queues, 'old');
      for (let i = 0; i < payloads.length; i += 500) await redis.lpush(source, ...payloads.slice(i, i + 500));
      const other = new Redis(sharedRedisUrl(), { maxRetriesPerRequest: 1 });
      const popped: string[] = [];
      const pushed: string[] = [];
      let running = true;
      let n = 0;
      // Sidekiq's BRPOP at the tail, then a producer's LPUSH at the head.
      const popAndPush = async () => {
        const i = n++;
        const job = await other.rpop(source);
        if (job !== null) popped.push(job);
        const late = sidekiqPayload({ className: i % 2 ? 'M' : 'S', queue: 'old', args: `["late${i}"]` });
        pushed.push(late);
        await other.lpush(source, late);
      };
      // All along, as fast as they come, and, so that some surely land between slices however fast
      // the pass runs on a given machine, three of each before every slice.
      const live = (async () => {
        while (running) await popAndPush();
      })();
      const result = await drivePages(
        async (cursor) => {
          for (let j = 0; j < 3; j++) await popAndPush();
          return rerouteQueueSlice({ redis, keys, plan: classRoutingPlan(new Map([['M', 'new']])), queue: 'old', cursor, sliceSize: 300, placement, dryRun: false, luaBatch: 50 });
        },
        null as QueueCursor | null,
      );
      running = false;
      await live;
      other.disconnect();
      expect(result.done).toBe(true);
      expect(popped.length).toBeGreaterThan(10);
      // Every job, the originals and those pushed meanwhile, exactly once: on the old queue, on the
      // new one (its queue rewritten), or taken by the fetcher.
      const rewritten = (job: string) => job.replace('"queue":"new"', '"queue":"old"');
      const after = [...(await redis.lrange(source, 0, -1)), ...(await redis.lrange(keys.queue('new'), 0, -1)).map(rewritten), ...popped].sort();
      expect(after).toEqual([...payloads, ...pushed].sort());
      // Each job the pass moved is one it examined: an original, or one pushed meanwhile.
      expect(result.counters.moved).toBe((await redis.llen(keys.queue('new'))));
    });
  }
});

