import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { classifyRedisError } from '../redis/redis-errors.js';
import type { DrainReport } from './drain-report.js';

/** What the next check compares with: enough for rate, ETA, "no progress" and arrivals. */
export type RememberedCheck = Pick<DrainReport, 'checkedAt' | 'remaining' | 'readyNow'>;

/** Long enough to span a paused schedule over a weekend, short enough to leave nothing behind. */
const REMEMBER_SECONDS = 3 * 24 * 3600;

/**
 * The key a check remembers itself under: one per key prefix and per scope, because a check
 * scoped to retired queues counts a different `remaining` than a whole-Redis check, and a rate
 * between the two would be nonsense.
 */
export function rememberedCheckKey(prefix: string, retiredQueues: readonly string[] | undefined): string {
  const scope = retiredQueues?.length ? createHash('sha256').update([...retiredQueues].sort().join('\n')).digest('hex').slice(0, 12) : 'all';
  return `${prefix}sidekiq-migrate:drain-check:${scope}`;
}

/**
 * The last check of this scope, if one was remembered. A scheduled check has no operator to pass
 * `--previous`: without this, it could never say "draining at N jobs/s", "no progress" or "jobs
 * still arrive on retired queues".
 */
export async function recallCheck(redis: Redis, key: string): Promise<RememberedCheck | undefined> {
  let text: string | null;
  try {
    text = await redis.get(key);
  } catch (error) {
    throw classifyRedisError(error, `Reading the last drain check (${key})`);
  }
  if (text === null) return undefined;
  try {
    const parsed = JSON.parse(text) as RememberedCheck;
    return typeof parsed.checkedAt === 'number' && typeof parsed.remaining === 'number' && typeof parsed.readyNow === 'number' ? parsed : undefined;
  } catch {
    // Not ours to read: the check runs without a previous one, and overwrites it.
    return undefined;
  }
}

/** Remembers this check for the next one: the check's only write, one small key with a TTL. */
export async function rememberCheck(redis: Redis, key: string, report: DrainReport): Promise<void> {
  const remembered: RememberedCheck = { checkedAt: report.checkedAt, remaining: report.remaining, readyNow: report.readyNow };
  try {
    await redis.set(key, JSON.stringify(remembered), 'EX', REMEMBER_SECONDS);
  } catch (error) {
    throw classifyRedisError(error, `Remembering this drain check (${key})`);
  }
}
