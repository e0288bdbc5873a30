import type { Redis } from 'ioredis';
import type { KeyspaceCut, ScanBound, ScanExtent } from '../redis/bounded-scan.js';
import { walkForLooks, type PageLook } from '../redis/shared-walk.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import type { InflightLeftover } from '../transfer/resume-inflight.js';
import { leftoversLook, lookForLeftovers } from './leftover-keys.js';

/** A quarantine list (`<prefix>sidekiq-migrate:quarantine:QUEUE`) and how many jobs it holds. */
export interface QuarantineList {
  /** As text, the queue's name lossless (key-name.ts): `redisKey(key)` is the key. */
  readonly key: string;
  /** The queue its jobs came from. */
  readonly queue: string;
  readonly size: number;
}

/**
 * Every non-empty quarantine list under the prefix, sorted by key. Their jobs are ones nobody will
 * run (no Sidekiq process fetches from them), and no transfer carries them: a Redis holding any is
 * not drained. The whole keyspace, however long it takes: a look with a time bound is
 * lookForLeftovers (leftover-keys.ts).
 */
export async function findQuarantineLists(redis: Redis, keys: SidekiqKeys): Promise<QuarantineList[]> {
  return (await lookForLeftovers(redis, keys, { quarantine: true, inflight: false })).quarantine;
}

/** Quarantine lists and in-flight keys a drain check's look did not know (quarantineListsSince), and whether the walk reached the end. */
export interface LateQuarantine {
  readonly lists: QuarantineList[];
  /** In-flight keys of transfers (resume-inflight.ts) not among `known`. */
  readonly inflight: InflightLeftover[];
  readonly cutShort?: KeyspaceCut;
}

/**
 * The non-empty quarantine lists and the in-flight keys not among `known` (the keys, as text, the
 * check's walk found), walked for again, within `bound`. In-flight keys alike: the look reads only
 * those the walk found (the index of in-flight keys, inflight-index.ts, is not read there), and a
 * transfer's claim after the walk moved jobs from a queue into a key it did not read (the queue
 * then empty): with that transfer interrupted, the check said DRAINED with jobs in flight. Call it after the atomic look at the places the check found
 * empty (one-look.ts): no index names the quarantine lists, so that look reads only those the walk
 * found, and a list a concurrent `run --unmapped quarantine` created after the walk (its jobs
 * taken from a queue the check read before they came, or from one it does not read) was in no
 * count: the check said DRAINED with jobs in it. A job quarantined before the atomic look is in
 * the list this walk finds (nothing takes jobs out of a quarantine list but an operator); one
 * quarantined after it was in its queue at that look. Cut short by the time, there may be more:
 * the caller says so, and is never `drained`.
 */
export async function quarantineListsSince(redis: Redis, keys: SidekiqKeys, known: readonly string[], bound: ScanBound): Promise<LateQuarantine> {
  const look = quarantineListsSinceLook(redis, keys, known);
  const [extent] = await walkForLooks(redis, [look], bound, look.doing);
  return look.result(extent!);
}

/**
 * quarantineListsSince as a look a shared walk feeds (shared-walk.ts): drain-check's walk for
 * sidekiq-cron namespaces, after its atomic look, feeds it too, where a walk of its own visited
 * every key of the database once more (3,000,000 keys: 41-51 s became 59-62 s, bench/README.md
 * audit-reviewa). Its keys only (`<prefix>sidekiq-migrate:quarantine:`), then `result` of the
 * walk's extent for it.
 */
export function quarantineListsSinceLook(redis: Redis, keys: SidekiqKeys, known: readonly string[]): PageLook & { readonly doing: string; result(extent: ScanExtent): Promise<LateQuarantine> } {
  const look = leftoversLook(redis, keys, { quarantine: true, inflight: true });
  const seen = new Set(known);
  return {
    ...look,
    result: async (extent) => {
      const found = await look.result(extent);
      const lists = found.quarantine.filter((l) => !seen.has(l.key));
      const inflight = found.inflight.filter((l) => !seen.has(l.key));
      return found.cutShort ? { lists, inflight, cutShort: found.cutShort } : { lists, inflight };
    },
  };
}
