import type { Redis } from 'ioredis';
import { InputError } from '../errors/input-error.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';

/**
 * Refuses retired queues given as key names: `queue:old` (or `resque:gitlab:queue:old` under that
 * prefix) where this Redis has no queue of that name — no list, not in `queues` — but has one
 * named `old`. Scoped to such a name, a check found nothing and said "DRAINED — 0 job(s) left",
 * exit 0, over the jobs of `old`: a pipeline gating on it retired a Redis that still held them.
 * A retired queue this Redis simply never had is no slip (a routing change retires many queues an
 * instance never used) and is counted as any other. `run --rename queue:old=new` names the same
 * slip (plan-step.ts, renames without queue).
 */
export async function refuseRetiredKeyNames(redis: Redis, keys: SidekiqKeys, retired: readonly string[]): Promise<void> {
  const heads = [...new Set([`${keys.prefix}queue:`, 'queue:'])];
  const candidates = retired.flatMap((given) => {
    const head = heads.find((h) => given.startsWith(h) && given.length > h.length);
    return head === undefined ? [] : [{ given, name: given.slice(head.length) }];
  });
  if (candidates.length === 0) return;
  let replies: [Error | null, unknown][];
  try {
    const pipeline = redis.pipeline();
    for (const { given, name } of candidates) {
      pipeline.exists(keys.queue(given)).sismember(keys.queues, given).exists(keys.queue(name)).sismember(keys.queues, name);
    }
    replies = (await pipeline.exec()) ?? [];
  } catch (error) {
    throw classifyRedisError(error, 'Looking up the retired queues');
  }
  const found = (i: number) => {
    const [error, value] = replies[i] ?? [new Error('no reply'), 0];
    if (error) throw classifyRedisError(error, 'Looking up the retired queues');
    return Number(value) > 0;
  };
  const slips = candidates.filter((_, c) => !found(4 * c) && !found(4 * c + 1) && (found(4 * c + 2) || found(4 * c + 3)));
  if (slips.length === 0) return;
  throw new InputError(
    slips
      .map(({ given, name }) => `Retired queue "${given}": this Redis has no queue of that name (no list, and not in its set of queues), but has a queue "${name}": give queue names, not keys (no "queue:" in front).`)
      .join('\n') + ' Nothing was counted.',
  );
}
