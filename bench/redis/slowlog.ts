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
  /**
   * Plain commands (sent by a client, not run by a script: ZSCAN, LRANGE, SMISMEMBER…) over
   * 2 ms, and per command name their calls, p99 and longest: they hold every other client as
   * long as a Lua call does (issue #18), so they are held to the same ceiling.
   */
  readonly plainOver2ms: number;
  readonly plain: readonly PlainCommandDurations[];
}

export interface PlainCommandDurations {
  readonly name: string;
  /** Calls that ran (INFO commandstats; a name a script also runs counts those too: an upper bound). */
  readonly calls: number;
  /** p99 over all calls, unlogged ones counted as below the threshold (then the threshold). */
  readonly p99Micros: number;
  readonly maxMicros: number;
  readonly over2ms: number;
}

/** The slow log's record of the commands a script runs: Redis 7 names their client `?:0`. */
const SCRIPT_CLIENT = '?:0';
/** Our own reads of the log and settings, not the run's. */
const OURS = new Set(['SLOWLOG', 'CONFIG', 'INFO']);

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
  const entries = (await redis.slowlog('GET', '-1')) as [number, number, number, (string | Buffer)[], string?][];
  const name = (e: (typeof entries)[number]) => String(e[3]?.[0] ?? '').toUpperCase();
  const byClient = entries.filter((e) => e[4] !== SCRIPT_CLIENT && !OURS.has(name(e)));
  const logged = byClient.filter((e) => name(e) === 'EVALSHA').map((e) => Number(e[2]));
  const others = new Map<string, number[]>();
  for (const e of byClient) if (name(e) !== 'EVALSHA') others.set(name(e), [...(others.get(name(e)) ?? []), Number(e[2])]);
  const commandstats = await redis.info('commandstats');
  const stats = /cmdstat_evalsha:calls=(\d+),usec=(\d+),usec_per_call=[\d.]+,rejected_calls=\d+,failed_calls=(\d+)/.exec(commandstats);
  const calls = stats ? Number(stats[1]) - Number(stats[3]) : logged.length;
  const plain = [...others].map(([command, durations]) => {
    const ran = new RegExp(`^cmdstat_${command.toLowerCase()}:calls=(\\d+)`, 'm').exec(commandstats);
    return { name: command, calls: ran ? Number(ran[1]) : durations.length, ...tail(durations, ran ? Number(ran[1]) : durations.length) };
  });
  plain.sort((a, b) => b.maxMicros - a.maxMicros);
  return {
    calls,
    logged: logged.length,
    thresholdMicros: LUA_LOG_THRESHOLD_MICROS,
    meanMicros: stats ? Number(stats[2]) / Math.max(1, Number(stats[1])) : 0,
    ...tail(logged, calls),
    maxOtherMicros: plain[0]?.maxMicros ?? 0,
    plainOver2ms: plain.reduce((n, p) => n + p.over2ms, 0),
    plain,
  };
}

/** p99, longest and count over 2 ms of `calls` calls of which `logged` are the slow log's (the rest below its threshold). */
function tail(logged: number[], calls: number): { p99Micros: number; maxMicros: number; over2ms: number } {
  const sorted = [...logged].sort((a, b) => a - b);
  // The k-th largest of all calls is the k-th largest logged one, as long as it was logged.
  const rank = Math.ceil(0.01 * calls);
  return {
    p99Micros: rank <= sorted.length ? sorted[sorted.length - rank]! : LUA_LOG_THRESHOLD_MICROS,
    maxMicros: sorted.at(-1) ?? 0,
    over2ms: sorted.filter((us) => us > 2_000).length,
  };
}

/** The plain commands of `durations` as a report line gives them: the slowest first, each with its p99 and longest. */
export function describePlain(durations: LuaDurations, most = 5): string {
  const shown = durations.plain.slice(0, most).map((p) => `${p.name} ${p.calls} calls p99 ${p.p99Micros} max ${p.maxMicros} µs${p.over2ms > 0 ? `, ${p.over2ms} over 2 ms` : ''}`);
  return shown.length === 0 ? `none over ${durations.thresholdMicros} µs` : shown.join('; ');
}
