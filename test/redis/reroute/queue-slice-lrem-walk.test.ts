import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { drivePages } from '../../../core/reroute/drive-pages.js';
import { rerouteQueueSlice, type Placement, type QueueCursor } from '../../../core/reroute/queue-slice.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { connectShared, sharedRedisUrl, uniquePrefix } from '../../support/redis.js';
import { jidOf, queueOf, sidekiqPayload } from '../../support/sidekiq-jobs.js';

// Every Sidekiq client waits while a Lua call runs (issue #18: no call over 2 ms). Each job's LREM
// walks the source list from the end the call chose until it meets the job: past the jobs of the
// slice's window still on the list when it chose the wrong end. The last slice of a `front` pass
// (nothing below its window) sent its calls to the tail while it removed jobs from the head side
// first: the first call's LREMs walked past the whole rest of the window (1,000 jobs by default).
// MONITOR shows each LREM a script sends; replayed on the list as seeded, it says how far each one
// walked.
const redis = connectShared();
const BATCH = 20;

async function runWatched(placement: Placement, jobs: number, sliceSize: number) {
  const keys = new SidekiqKeys(uniquePrefix());
  const source = keys.queue('old');
  const payloads = Array.from({ length: jobs }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  // LPUSH in enqueue order: the newest job at the head, as Sidekiq's clients leave it.
  await redis.sadd(keys.queues, 'old');
  await redis.lpush(source, ...payloads);
  const list = (await redis.lrange(source, 0, -1)).map(jidOf); // head to tail

  const monitor = new Redis(sharedRedisUrl(), { maxRetriesPerRequest: 1 });
  const watching = await monitor.monitor();
  const removals: { fromHead: boolean; jid: string }[] = [];
  watching.on('monitor', (_time: string, args: string[], source_: string) => {
    if (source_ === 'lua' && args[0]?.toLowerCase() === 'lrem' && args[1] === source) removals.push({ fromHead: Number(args[2]) > 0, jid: jidOf(args[3]!) });
  });
  const result = await drivePages(
    (cursor) => rerouteQueueSlice({ redis, keys, plan: classRoutingPlan(new Map([['A', 'new']])), queue: 'old', cursor, sliceSize, placement, dryRun: false, luaBatch: BATCH }),
    null as QueueCursor | null,
  );
  await redis.ping(); // MONITOR has seen every command sent before this one's reply
  await new Promise((resolve) => setTimeout(resolve, 50));
  watching.disconnect();
  monitor.disconnect();

  // How many other jobs each LREM passed before it met its own.
  const walks = removals.map(({ fromHead, jid }) => {
    const at = list.indexOf(jid);
    expect(at).toBeGreaterThanOrEqual(0);
    list.splice(at, 1);
    return fromHead ? at : list.length - at;
  });
  return { keys, payloads, result, walks };
}

describe('a queue slice sends each Lua call to the end of the list nearer its own jobs', () => {
  for (const placement of ['front', 'append'] as const) {
    it(`${placement}: no LREM walks past more jobs than a call holds, and every job moves once, in order`, async () => {
      const { keys, payloads, result, walks } = await runWatched(placement, 600, 200);
      expect(result.done).toBe(true);
      expect(result.counters.moved).toBe(600);
      expect(walks).toHaveLength(600);
      expect(Math.max(...walks)).toBeLessThan(BATCH);
      // The exact jobs, rewritten, in the order a fetcher takes them (oldest first).
      const fetched = (await redis.lrange(keys.queue('new'), 0, -1)).reverse();
      expect(fetched.map(jidOf)).toEqual(payloads.map(jidOf));
      expect(new Set(fetched.map(queueOf))).toEqual(new Set(['new']));
      expect(await redis.exists(keys.queue('old'))).toBe(0);
    });
  }
});
