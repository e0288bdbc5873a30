import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { heartbeat } from './sidekiq-heartbeat.js';

/**
 * A scripted Sidekiq process that keeps beating as a real one does (sidekiq-heartbeat.ts's hash,
 * `beat` rewritten every `everyMs`), and writes what its threads run to `IDENTITY:workers` at each
 * beat, from the copy taken at the beat before (`lag: 1`, the worst case of Sidekiq's copy taken
 * just before a fetch and its `beat` written just after) or at this one. `take` is a fetch (BRPOP):
 * the job leaves its list and shows in the heartbeat only at a later beat. Stop it by `stop()`.
 */
export interface BeatingProcess {
  readonly identity: string;
  /** Runs a job from now on (its payload, the queue it was taken from). */
  take(queue: string, payload: string): void;
  /** Beats written so far. */
  beats(): number;
  /** No more beats; `leave` also removes it from `processes` and its busy threads, as a stopping Sidekiq does. */
  stop(options?: { leave?: boolean }): Promise<void>;
}

export function beatingProcess(redis: Redis, keys: SidekiqKeys, identity: string, queues: readonly string[], options: { everyMs: number; lag?: 0 | 1; quiet?: boolean }): BeatingProcess {
  const running = new Map<string, { queue: string; payload: string }>();
  let copy = new Map(running);
  let beats = 0;
  let stopped = false;
  let pending: Promise<void> = Promise.resolve();
  const beat = async () => {
    const now = options.lag === 1 ? copy : new Map(running);
    copy = new Map(running);
    const workers = `${keys.prefix}${identity}:workers`;
    await redis.del(workers);
    for (const [tid, job] of now) await redis.hset(workers, tid, JSON.stringify({ queue: job.queue, payload: job.payload, run_at: Math.floor(Date.now() / 1000) }));
    if (now.size > 0) await redis.expire(workers, 60);
    await heartbeat(redis, keys, identity, queues, { beatAt: Date.now() / 1000, quiet: options.quiet ?? false, beating: false });
    beats++;
  };
  const tick = () => {
    if (stopped) return;
    pending = beat().then(() => {
      if (!stopped) timer = setTimeout(tick, options.everyMs);
    });
  };
  let timer: NodeJS.Timeout | undefined;
  tick();
  return {
    identity,
    take(queue, payload) {
      running.set(`tid${running.size}`, { queue, payload });
    },
    beats: () => beats,
    async stop(stopOptions = {}) {
      stopped = true;
      clearTimeout(timer);
      await pending;
      if (stopOptions.leave) {
        await redis.srem(keys.processes, identity);
        await redis.del(`${keys.prefix}${identity}:workers`);
      }
    },
  };
}
