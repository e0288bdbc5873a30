import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { epochSeconds } from './epoch-seconds.js';

/** A Sidekiq process as its heartbeat describes it. */
export interface SidekiqProcess {
  readonly identity: string;
  /** Seconds since its last heartbeat; null when its hash is gone (it stopped or died > 60 s ago). */
  readonly beatAgeSeconds: number | null;
  /** Quiet processes (TSTP, or stopping) fetch nothing. */
  readonly quiet: boolean;
  readonly queues: readonly string[];
  readonly live: boolean;
  /**
   * A live process not heard from for more than SILENT_BEATS of its beats: how long (seconds), the
   * shorter of what its `beat` and its hash's expiry say (a killed process's hash lives 60 s after
   * its last beat, and the check counts it live until then). Absent when it beats.
   */
  readonly silentSeconds?: number;
  /** With silentSeconds: in how many seconds its heartbeat hash expires (its PTTL), after which it is no longer live. */
  readonly heartbeatExpiresInSeconds?: number;
  /** How often it beats: 5 s (Sidekiq 6.x, whose `info` names no version), 10 s (7 and later). */
  readonly beatEverySeconds: number;
}

/**
 * How many beats a live process may miss before the check says it may have been killed: Sidekiq
 * 6.4 beats every 5 s (launcher.rb, BEAT_PAUSE, plus the beat's own work), 7 and later every 10 s.
 */
export const SILENT_BEATS = 3;

/** Seconds a Sidekiq heartbeat hash lives after a beat (every version: `expire(key, 60)`). */
const HEARTBEAT_TTL_SECONDS = 60;

export interface ProcessCensus {
  readonly processes: readonly SidekiqProcess[];
  /** Queue → number of live, not quiet processes fetching from it. */
  readonly listeners: ReadonlyMap<string, number>;
  /** Of those, the processes that beat (no silentSeconds): a queue in `listeners` but not here is heard only by processes that may have been killed. */
  readonly beatingListeners: ReadonlyMap<string, number>;
}

/**
 * Who is listening: members of `processes` whose heartbeat hash still exists and whose `beat` is
 * recent (Sidekiq beats every 5–10 s and the hash expires after 60 s), minus quiet ones; their
 * `info.queues` or `info.capsules` name the queues they fetch from. (A stopped process removes itself from
 * `processes`, but its hash lingers until it expires: the beat age tells.)
 */
export async function censusProcesses(redis: Redis, keys: SidekiqKeys, nowSeconds: number, staleAfterSeconds = 60): Promise<ProcessCensus> {
  const identities = await redis.smembers(keys.processes);
  const pipeline = redis.pipeline();
  for (const identity of identities) {
    pipeline.hmget(`${keys.prefix}${identity}`, 'info', 'beat', 'quiet');
    pipeline.pttl(`${keys.prefix}${identity}`);
  }
  const replies = identities.length === 0 ? [] : ((await pipeline.exec()) ?? []);
  const processes: SidekiqProcess[] = identities.map((identity, i) => {
    const [error, fields] = replies[2 * i] ?? [null, [null, null, null]];
    if (error) throw error;
    const [ttlError, pttl] = replies[2 * i + 1] ?? [null, -2];
    if (ttlError) throw ttlError;
    const [info, beat, quiet] = fields as [string | null, string | null, string | null];
    const beatAt = epochSeconds(beat);
    const beatAgeSeconds = beatAt === null ? null : Math.max(0, nowSeconds - beatAt);
    const queues = parseQueues(info);
    // Silent by both clocks: the beat's (the Sidekiq host's, which may be set apart from the
    // check's) and Redis's own (the hash's expiry, reset to 60 s at each beat). A hash without an
    // expiry, or with a longer one than Sidekiq sets, says nothing of silence.
    const ttlSeconds = Number(pttl) / 1000;
    const sinceExpirySet = ttlSeconds >= 0 && ttlSeconds <= HEARTBEAT_TTL_SECONDS ? HEARTBEAT_TTL_SECONDS - ttlSeconds : 0;
    // Live by either clock: a host whose clock is behind the check's by more than the stale age
    // stamps every `beat` old, while Redis renews its hash at each beat. Taken for gone, its
    // running jobs were counted nowhere and the check said DRAINED over them (audit-drain).
    const renewed = ttlSeconds > 0 && ttlSeconds <= HEARTBEAT_TTL_SECONDS && sinceExpirySet <= staleAfterSeconds;
    const live = beatAgeSeconds !== null && (beatAgeSeconds <= staleAfterSeconds || renewed);
    const beatEverySeconds = beatIntervalOf(info);
    // A beat in the future: the host's clock is ahead of the check's, and its age says nothing (it
    // would read 0 however long the process has been silent): the expiry alone tells.
    const ahead = beatAt !== null && beatAt > nowSeconds;
    const silence = !live || beatAgeSeconds === null ? 0 : ahead ? sinceExpirySet : Math.min(beatAgeSeconds, sinceExpirySet);
    const silent = silence > SILENT_BEATS * beatEverySeconds;
    return { identity, beatAgeSeconds, quiet: quiet === 'true', queues, live, beatEverySeconds, ...(silent ? { silentSeconds: silence, heartbeatExpiresInSeconds: Math.max(0, ttlSeconds) } : {}) };
  });
  const listeners = new Map<string, number>();
  const beatingListeners = new Map<string, number>();
  for (const p of processes) {
    if (!p.live || p.quiet) continue;
    for (const q of new Set(p.queues)) {
      listeners.set(q, (listeners.get(q) ?? 0) + 1);
      if (p.silentSeconds === undefined) beatingListeners.set(q, (beatingListeners.get(q) ?? 0) + 1);
    }
  }
  return { processes, listeners, beatingListeners };
}

/** How often a process beats, by the version its `info` names: 6.x names none and beats every 5 s; 7 and later every 10 s. */
function beatIntervalOf(info: string | null): number {
  if (info === null) return 5;
  try {
    const version = (JSON.parse(info) as { version?: unknown }).version;
    const major = typeof version === 'string' ? Number.parseInt(version, 10) : NaN;
    return major >= 7 ? 10 : 5;
  } catch {
    return 5;
  }
}

/**
 * The queues a heartbeat's `info` says the process fetches from, whichever Sidekiq wrote it:
 * `queues` (6.x: names, older ones "name,weight"; 7.x and 8.x: the union over capsules), and
 * `capsules` (8.0.9 and later: name → `{concurrency, mode, weights: {queue → weight}}`), which
 * 8.0.9 made the place of record and 9.0 keeps alone (`queues` and `weights` are deprecated).
 * Reading both means a heartbeat with capsules only is still a listener.
 */
function parseQueues(info: string | null): string[] {
  if (info === null) return [];
  let parsed: { queues?: unknown; capsules?: unknown };
  try {
    parsed = JSON.parse(info) as typeof parsed;
  } catch {
    return [];
  }
  const queues = new Set<string>();
  if (Array.isArray(parsed.queues)) {
    for (const q of parsed.queues) if (typeof q === 'string') queues.add(q.split(',')[0]!);
  }
  if (isRecord(parsed.capsules)) {
    for (const capsule of Object.values(parsed.capsules)) {
      if (isRecord(capsule) && isRecord(capsule.weights)) for (const q of Object.keys(capsule.weights)) queues.add(q);
    }
  }
  return [...queues];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
