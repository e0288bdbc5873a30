import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';

/**
 * Registers a Sidekiq process the way its heartbeat does (Sidekiq 6.4, see the payload fixture
 * 12-process-info.json): member of `processes`, hash `IDENTITY` with `info`, `beat`, `quiet`,
 * expiring after 60 s. The process then keeps beating, as a running Sidekiq does: its `beat` moves
 * on by the time passed (from `beatAt`) every BEAT_MS while its hash exists and the client is
 * connected. A drain check that finds nothing left waits for live processes to beat twice
 * (core/drain/confirm-drained.ts). `beating: false` is a process that stopped beating (a hung or
 * killed one, or a test that snapshots every key and value).
 */
export async function heartbeat(
  redis: Redis,
  keys: SidekiqKeys,
  identity: string,
  queues: readonly string[],
  options: { beatAt: number; quiet?: boolean; millis?: boolean; info?: string; beating?: boolean; stale?: boolean },
): Promise<void> {
  // `info` replaces the 6.4-shaped JSON, e.g. with a fixture of test/fixtures/sidekiq-heartbeats/ (then `queues` is ignored).
  const info = options.info ?? JSON.stringify({ hostname: identity.split(':')[0], started_at: options.beatAt - 100, pid: 1, tag: '', concurrency: 5, queues, labels: [], identity });
  const key = `${keys.prefix}${identity}`;
  stopBeating(redis, key);
  await redis.sadd(keys.processes, identity);
  const beat = (at: number) => (options.millis ? String(Math.round(at * 1000)) : String(at));
  await redis.hset(key, 'info', info, 'beat', beat(options.beatAt), 'quiet', String(options.quiet ?? false), 'busy', '0');
  // `stale`: a process gone by Redis's clock too (a real one's hash expires 60 s after its last
  // beat): no expiry renewed by a beat, so only its old `beat` speaks. A hash whose 60 s expiry was
  // just set is a live process whose host clock is behind (live-processes.ts).
  if (!options.stale) await redis.expire(key, 60);
  if (options.beating === false) return;
  const started = Date.now();
  const timer = setInterval(() => {
    if (redis.status !== 'ready') return stopBeating(redis, key);
    // Only while its hash is there (a test that deletes or flushes it ends the process).
    redis.eval(BEAT_IF_THERE, 1, key, beat(options.beatAt + (Date.now() - started) / 1000)).then(
      (beaten) => beaten === 0 && stopBeating(redis, key),
      () => stopBeating(redis, key),
    );
  }, BEAT_MS);
  timer.unref();
  beaters.set(beaterKey(redis, key), timer);
}

/** Often enough that a drain check's wait (two beats, read every 250 ms) ends within about a second. */
const BEAT_MS = 100;

const BEAT_IF_THERE = "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'beat', ARGV[1]) return 1 end return 0";

const beaters = new Map<string, NodeJS.Timeout>();
const clientIds = new WeakMap<Redis, number>();
let nextClient = 0;

function beaterKey(redis: Redis, key: string): string {
  if (!clientIds.has(redis)) clientIds.set(redis, nextClient++);
  return `${clientIds.get(redis)}\n${key}`;
}

function stopBeating(redis: Redis, key: string): void {
  const id = beaterKey(redis, key);
  clearInterval(beaters.get(id));
  beaters.delete(id);
}
