import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';

/**
 * The longest a drain check waits for heartbeats: two beats of Sidekiq 7 and later (a beat every
 * 10 s; 6.x every 5 s) and some. A live process that has not beaten twice by then is not beating
 * as Sidekiq does (busy Redis, a stalled process): the check says it is not sure, never drained.
 */
export const BEAT_WAIT_CAP_MS = 30_000;

/** How often the wait reads the processes' `beat` fields (one round trip for all of them). */
const POLL_MS = 250;

export interface BeatWaitOptions {
  /** Epoch ms by which the wait ends whatever (the check's own time: --time-limit, the function's timeout). */
  readonly until?: number;
  /** Said once, when the check starts waiting: the operator sees why it has not answered yet. */
  readonly onWait?: (line: string) => void;
  readonly clock?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly pollMs?: number;
}

export interface BeatWaitOutcome {
  readonly waitedMs: number;
  /** Processes that had not beaten twice when the wait's time ran out. */
  readonly late: readonly string[];
  /** Processes that left `processes` meanwhile (they stopped: what they ran went back on its queue, or ended). */
  readonly stopped: readonly string[];
}

/**
 * Waits until each of `identities` has written its `beat` twice after this call's first read of
 * them. Sidekiq writes what its threads run (`IDENTITY:workers`/`:work`) from a copy it takes just
 * before it writes `beat`: the first new beat's copy may precede the moment the check found the
 * lists empty (by the few milliseconds between the copy and `beat`), the second's cannot. A job
 * fetched before that moment and still running is then in its process's heartbeat.
 */
export async function awaitTwoBeats(redis: Redis, keys: SidekiqKeys, identities: readonly string[], options: BeatWaitOptions = {}): Promise<BeatWaitOutcome> {
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const poll = options.pollMs ?? POLL_MS;
  const started = clock();
  const until = Math.min(options.until ?? Infinity, started + BEAT_WAIT_CAP_MS);
  const first = await readBeats(redis, keys, identities);
  const last = new Map(identities.map((id) => [id, first.beats.get(id) ?? null]));
  const changes = new Map(identities.map((id) => [id, 0]));
  const stopped = new Set(identities.filter((id) => !first.members.has(id)));
  const pending = () => identities.filter((id) => !stopped.has(id) && (changes.get(id) ?? 0) < 2);
  while (pending().length > 0 && clock() + poll <= until) {
    await sleep(poll);
    const now = await readBeats(redis, keys, pending());
    for (const id of pending()) {
      if (!now.members.has(id)) {
        stopped.add(id);
        continue;
      }
      const beat = now.beats.get(id) ?? null;
      if (beat !== null && beat !== last.get(id)) {
        changes.set(id, (changes.get(id) ?? 0) + 1);
        last.set(id, beat);
      }
    }
  }
  return { waitedMs: clock() - started, late: pending(), stopped: [...stopped] };
}

/** The `beat` of each process, and which of them are still members of `processes` (a stopping Sidekiq removes itself). */
async function readBeats(redis: Redis, keys: SidekiqKeys, identities: readonly string[]): Promise<{ beats: Map<string, string | null>; members: Set<string> }> {
  const pipeline = redis.pipeline();
  pipeline.smembers(keys.processes);
  for (const id of identities) pipeline.hget(`${keys.prefix}${id}`, 'beat');
  const replies = (await pipeline.exec()) ?? [];
  const [error, members] = replies[0] ?? [new Error('no reply')];
  if (error) throw error;
  const beats = new Map<string, string | null>();
  identities.forEach((id, i) => {
    const [e, beat] = replies[i + 1] ?? [new Error('no reply')];
    if (e) throw e;
    beats.set(id, beat as string | null);
  });
  return { beats, members: new Set(members as string[]) };
}
