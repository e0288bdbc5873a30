import { Redis } from 'ioredis';
import type { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { jidOf, newJid, queueOf, sidekiqPayload } from './sidekiq-jobs.js';

// Sidekiq 6.4's scheduler script: take the single lowest due member, atomically.
const ZPOPBYSCORE = `
local key, now = KEYS[1], ARGV[1]
local jobs = redis.call("zrangebyscore", key, "-inf", now, "limit", 0, 1)
if jobs[1] then
  redis.call("zrem", key, jobs[1])
  return jobs[1]
end`;

/**
 * The Sidekiq behaviours a migration runs alongside, each one step at a time so that a test can
 * place them between any two of our Redis calls, or loop them concurrently:
 * - the poller moving a due `schedule`/`retry` entry to the list its `queue` field names
 *   (popped, then pushed in a second round trip, as Sidekiq 6 does);
 * - a fetcher popping one job from any of its queues;
 * - a stale producer still pushing to an old queue.
 * It records what it consumed and produced (jids, and the exact bytes), so that a test can account
 * for every job byte for byte.
 */
export class SidekiqSimulator {
  readonly consumed: string[] = [];
  readonly produced: string[] = [];
  readonly consumedPayloads: Buffer[] = [];
  readonly producedPayloads: string[] = [];
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly keys: SidekiqKeys,
    private readonly listensTo: readonly string[],
  ) {
    this.redis = new Redis(url, { protocol: 2 });
  }

  async pollOnce(now: number): Promise<boolean> {
    let moved = false;
    for (const set of ['retry', 'schedule'] as const) {
      const job = (await this.redis.eval(ZPOPBYSCORE, 1, this.keys.sortedSet(set), String(now))) as string | null;
      if (job === null) continue;
      const queue = queueOf(job) ?? 'default';
      await this.redis.pipeline().sadd(this.keys.queues, queue).lpush(this.keys.queue(queue), job).exec();
      moved = true;
    }
    return moved;
  }

  async fetchOnce(): Promise<boolean> {
    for (const queue of this.listensTo) {
      const job = await this.redis.rpopBuffer(this.keys.queue(queue));
      if (job !== null) {
        this.consumed.push(jidOf(job));
        this.consumedPayloads.push(job);
        return true;
      }
    }
    return false;
  }

  async produceOnce(queue: string, className: string): Promise<void> {
    const jid = newJid();
    const payload = sidekiqPayload({ className, queue, jid });
    await this.redis.lpush(this.keys.queue(queue), payload);
    this.produced.push(jid);
    this.producedPayloads.push(payload);
  }

  /** All three, once each. */
  async stepAll(now: number, staleQueue: string, className: string): Promise<void> {
    await this.pollOnce(now);
    await this.fetchOnce();
    await this.produceOnce(staleQueue, className);
  }

  close(): void {
    this.redis.disconnect();
  }
}

/**
 * Sidekiq on both sides of a transfer, each fleet looping on its own until `stop()` (which waits
 * for their last step; closing them is the caller's): the old fleet, on `urls.source`, polls and
 * fetches, and pushes a job of class A to the stale queue `default` unless `oldFleetProduces` is
 * false; the new fleet, on `urls.target`, does all three. Both fetch from `default` and `low`.
 */
export function sidekiqOnBothSides(
  urls: { readonly source: string; readonly target: string },
  keys: SidekiqKeys,
  now: number,
  { oldFleetProduces = true }: { readonly oldFleetProduces?: boolean } = {},
): { oldFleet: SidekiqSimulator; newFleet: SidekiqSimulator; stop: () => Promise<void> } {
  const oldFleet = new SidekiqSimulator(urls.source, keys, ['default', 'low']);
  const newFleet = new SidekiqSimulator(urls.target, keys, ['default', 'low']);
  let running = true;
  const loops = [
    (async () => {
      while (running) {
        await oldFleet.pollOnce(now);
        await oldFleet.fetchOnce();
        if (oldFleetProduces) await oldFleet.produceOnce('default', 'A');
      }
    })(),
    (async () => {
      while (running) await newFleet.stepAll(now, 'default', 'A');
    })(),
  ];
  return {
    oldFleet,
    newFleet,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
