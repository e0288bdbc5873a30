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
}

export interface ProcessCensus {
  readonly processes: readonly SidekiqProcess[];
  /** Queue → number of live, not quiet processes fetching from it. */
  readonly listeners: ReadonlyMap<string, number>;
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
  for (const identity of identities) pipeline.hmget(`${keys.prefix}${identity}`, 'info', 'beat', 'quiet');
  const replies = identities.length === 0 ? [] : ((await pipeline.exec()) ?? []);
  const processes: SidekiqProcess[] = identities.map((identity, i) => {
    const [error, fields] = replies[i] ?? [null, [null, null, null]];
    if (error) throw error;
    const [info, beat, quiet] = fields as [string | null, string | null, string | null];
    const beatAt = epochSeconds(beat);
    const beatAgeSeconds = beatAt === null ? null : Math.max(0, nowSeconds - beatAt);
    const queues = parseQueues(info);
    const live = beatAgeSeconds !== null && beatAgeSeconds <= staleAfterSeconds;
    return { identity, beatAgeSeconds, quiet: quiet === 'true', queues, live };
  });
  const listeners = new Map<string, number>();
  for (const p of processes) {
    if (!p.live || p.quiet) continue;
    for (const q of new Set(p.queues)) listeners.set(q, (listeners.get(q) ?? 0) + 1);
  }
  return { processes, listeners };
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
