import type { Redis } from 'ioredis';

export interface LuaDurations {
  /** EVALSHA calls that ran (from INFO commandstats). */
  readonly calls: number;
  /** Of which the slow log recorded (those that took at least the threshold). */
  readonly logged: number;
  readonly thresholdMicros: number;
  readonly meanMicros: number;
  /** p99 over all calls (unlogged ones count as below the threshold). */
  readonly p99Micros: number;
  readonly maxMicros: number;
  readonly over2ms: number;
  /** The longest plain command (not a script, not run by one) in the same log, for comparison. */
  readonly maxOtherMicros: number;
}

export const SLOWLOG_MAX_LEN = 200_000;

/**
 * Redis 7 also logs the commands a script runs, so a threshold of 0 would log two entries per job
 * (ZREM, ZADD…) — flooding the log and slowing the very calls being timed. 100 µs logs every full
 * Lua batch (each takes several hundred µs) and hardly any single command.
 */
export const LUA_LOG_THRESHOLD_MICROS = 100;

/** A fresh slow log at the threshold that catches our Lua calls, and fresh command statistics. */
export async function recordLuaCalls(redis: Redis): Promise<void> {
  await redis.config('SET', 'slowlog-log-slower-than', String(LUA_LOG_THRESHOLD_MICROS));
  await redis.slowlog('RESET');
  await redis.config('RESETSTAT');
}

/** Back to Redis's default threshold (10 ms), so that other runs pay no logging cost. */
export async function recordSlowCommandsOnly(redis: Redis): Promise<void> {
  await redis.config('SET', 'slowlog-log-slower-than', '10000');
  await redis.slowlog('RESET');
}

/**
 * Execution time of the EVALSHA calls since `recordLuaCalls` (Redis's own measure of each
 * command, network excluded): how long a single Lua call kept Redis from serving anyone else.
 */
export async function luaDurations(redis: Redis): Promise<LuaDurations> {
  const entries = (await redis.slowlog('GET', '-1')) as [number, number, number, (string | Buffer)[]][];
  const name = (e: (typeof entries)[number]) => String(e[3]?.[0] ?? '').toUpperCase();
  const logged = entries.filter((e) => name(e) === 'EVALSHA').map((e) => Number(e[2]));
  const others = entries.filter((e) => !['EVALSHA', 'SLOWLOG', 'CONFIG', 'ZREM', 'ZADD', 'LREM', 'RPUSH', 'LPUSH', 'SADD'].includes(name(e)));
  const stats = /cmdstat_evalsha:calls=(\d+),usec=(\d+),usec_per_call=[\d.]+,rejected_calls=\d+,failed_calls=(\d+)/.exec(await redis.info('commandstats'));
  const calls = stats ? Number(stats[1]) - Number(stats[3]) : logged.length;
  logged.sort((a, b) => a - b);
  // The k-th largest of all calls is the k-th largest logged one, as long as it was logged.
  const rank = Math.ceil(0.01 * calls);
  const p99 = rank <= logged.length ? logged[logged.length - rank]! : LUA_LOG_THRESHOLD_MICROS;
  return {
    calls,
    logged: logged.length,
    thresholdMicros: LUA_LOG_THRESHOLD_MICROS,
    meanMicros: stats ? Number(stats[2]) / Math.max(1, Number(stats[1])) : 0,
    p99Micros: p99,
    maxMicros: logged.at(-1) ?? 0,
    over2ms: logged.filter((us) => us > 2_000).length,
    maxOtherMicros: Math.max(0, ...others.map((e) => Number(e[2]))),
  };
}
