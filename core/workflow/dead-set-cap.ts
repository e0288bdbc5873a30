import type { Connection } from './connections.js';

/**
 * Sidekiq's cap on its dead set: `dead_max_jobs`, 10,000 unless configured. Each job that dies is
 * added with a trim (Sidekiq 6.4 to 8, `DeadSet#kill`: ZADD, then `ZREMRANGEBYRANK dead 0
 * -dead_max_jobs`), which leaves the newest `dead_max_jobs - 1` entries, the new one included
 * (real Sidekiq 6.4: 10,008 entries and one kill leave 9,999).
 */
export const SIDEKIQ_DEAD_MAX_JOBS = 10_000;

/** `dead_timeout_in_seconds`, 180 days: the same trim drops every entry whose score is that old. */
export const SIDEKIQ_DEAD_TIMEOUT_SECONDS = 180 * 24 * 60 * 60;

/** A transfer's target whose dead set the next death there trims (RunSummary.deadSetOverCap). */
export interface DeadSetOverCap {
  /** Entries in the target's `dead` when the run ended. */
  readonly entries: number;
  /** How many of them the next death there drops, the oldest first, at the default cap and age. */
  readonly drops: number;
  /** A dry run's forecast: `drops` counts the cap only (the age of what a run would write is not read), a floor. */
  readonly atLeast?: true;
}

/**
 * The target's dead set when it holds `dead_max_jobs` (default) entries or more, else undefined
 * (`wouldWrite`: a dry run's count of the entries a run would write there, added).
 * A transfer writes the source's dead entries with ZADD and their old scores, never trimming: on
 * a target that already had dead jobs, the sum may pass the cap, and the next death there drops
 * the oldest, the moved entries first. One ZCARD; a key of another type is the set step's to
 * report, not this look's.
 */
export async function deadSetOverCap(target: Connection, wouldWrite = 0): Promise<DeadSetOverCap | undefined> {
  const key = target.keys.sortedSet('dead');
  const type = await target.redis.type(key);
  if (type !== 'zset' && type !== 'none') return undefined;
  // A dry run: what is there now, and what a run would write there (distinct entries: one already
  // there is a conflict a run leaves on the source, not counted as written).
  const entries = (type === 'zset' ? await target.redis.zcard(key) : 0) + wouldWrite;
  if (entries < SIDEKIQ_DEAD_MAX_JOBS) return undefined;
  // After the kill, the newest dead_max_jobs - 1 stay, the new entry one of them; and none older
  // than the timeout (ZREMRANGEBYSCORE -inf now-timeout, before the cap): the larger of the two.
  const byCap = entries - (SIDEKIQ_DEAD_MAX_JOBS - 2);
  if (wouldWrite > 0) return { entries, drops: byCap, atLeast: true };
  const byAge = await target.redis.zcount(key, '-inf', String(Date.now() / 1000 - SIDEKIQ_DEAD_TIMEOUT_SECONDS));
  return { entries, drops: Math.max(byCap, byAge) };
}
