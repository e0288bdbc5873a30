import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';

/**
 * Registers a Sidekiq process the way its heartbeat does (Sidekiq 6.4, see the payload fixture
 * 12-process-info.json): member of `processes`, hash `IDENTITY` with `info`, `beat`, `quiet`,
 * expiring after 60 s.
 */
export async function heartbeat(
  redis: Redis,
  keys: SidekiqKeys,
  identity: string,
  queues: readonly string[],
  options: { beatAt: number; quiet?: boolean; millis?: boolean; info?: string },
): Promise<void> {
  // `info` replaces the 6.4-shaped JSON, e.g. with a fixture of test/fixtures/sidekiq-heartbeats/ (then `queues` is ignored).
  const info = options.info ?? JSON.stringify({ hostname: identity.split(':')[0], started_at: options.beatAt - 100, pid: 1, tag: '', concurrency: 5, queues, labels: [], identity });
  await redis.sadd(keys.processes, identity);
  const beat = options.millis ? String(Math.round(options.beatAt * 1000)) : String(options.beatAt);
  await redis.hset(`${keys.prefix}${identity}`, 'info', info, 'beat', beat, 'quiet', String(options.quiet ?? false), 'busy', '0');
  await redis.expire(`${keys.prefix}${identity}`, 60);
}
