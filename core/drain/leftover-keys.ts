import type { Redis } from 'ioredis';
import { keyspaceCut, type KeyspaceCut, type ScanBound, type ScanExtent } from '../redis/bounded-scan.js';
import { walkForLooks, type PageLook } from '../redis/shared-walk.js';
import { nameFromBytes } from '../redis/key-name.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { escapeGlob } from '../reroute/discover-queues.js';
import { inflightPattern, parseInflightKey } from '../transfer/transfer-keys.js';
import type { InflightLeftover } from '../transfer/resume-inflight.js';
import type { QuarantineList } from './quarantine-lists.js';

/** What a look for the keys our runs leave behind is for: quarantine lists, in-flight keys, or both. */
export interface LeftoverKinds {
  readonly quarantine: boolean;
  readonly inflight: boolean;
}

/**
 * What runs left under the prefix that no Sidekiq process runs: non-empty quarantine lists
 * (quarantine-lists.ts) and in-flight keys of interrupted transfers (resume-inflight.ts), each
 * sorted by key. `cutShort` when the look stopped at its bound before the end of the keyspace:
 * there may be more than it found.
 */
export interface LeftoverLook {
  readonly quarantine: QuarantineList[];
  readonly inflight: InflightLeftover[];
  readonly cutShort?: KeyspaceCut;
}

/**
 * Both kinds live under `<prefix>sidekiq-migrate:`, so one SCAN finds both: half the walks of the
 * keyspace that two looks, one a kind, cost (each walk visits every key of the database). One
 * pipeline of TYPE, LLEN and ZCARD per page of keys found.
 */
export async function lookForLeftovers(redis: Redis, keys: SidekiqKeys, kinds: LeftoverKinds, bound: ScanBound = {}): Promise<LeftoverLook> {
  const look = leftoversLook(redis, keys, kinds);
  const [extent] = await walkForLooks(redis, [look], bound, look.doing);
  return look.result(extent!);
}

/**
 * lookForLeftovers as a look a shared walk feeds (shared-walk.ts): its pages, then `result` of the
 * walk's extent for it.
 */
export function leftoversLook(redis: Redis, keys: SidekiqKeys, kinds: LeftoverKinds): PageLook & { readonly doing: string; result(extent: ScanExtent): Promise<LeftoverLook> } {
  const prefix = keys.prefix;
  const quarantinePrefix = `${prefix}sidekiq-migrate:quarantine:`;
  const quarantineHead = Buffer.from(quarantinePrefix, 'utf8');
  const escaped = escapeGlob(prefix);
  const match = kinds.quarantine && kinds.inflight ? `${escaped}sidekiq-migrate:*` : kinds.quarantine ? `${escapeGlob(quarantinePrefix)}*` : inflightPattern(escaped);
  const quarantine = new Map<string, QuarantineList>();
  const inflight = new Map<string, InflightLeftover>();
  const what = !kinds.inflight ? `quarantine lists (${quarantinePrefix}*)` : !kinds.quarantine ? 'in-flight jobs of interrupted transfers' : `quarantine lists and in-flight jobs of interrupted transfers (${prefix}sidekiq-migrate:*)`;
  const doing = `Looking for ${what}`;
  const onPage = async (page: Buffer[]): Promise<void> => {
    // A key may be both (a run named `quarantine`): each kind judges it as its own look did.
    const found = page.map((bytes) => ({
      bytes,
      queue: kinds.quarantine && bytes.subarray(0, quarantineHead.length).equals(quarantineHead) ? nameFromBytes(bytes.subarray(quarantineHead.length)) : undefined,
      parsed: kinds.inflight ? parseInflightKey(prefix, bytes) : null,
    }));
    const wanted = found.filter((f) => f.queue !== undefined || f.parsed !== null);
    if (wanted.length === 0) return;
    const pipeline = redis.pipeline();
    for (const f of wanted) pipeline.type(f.bytes).llen(f.bytes).zcard(f.bytes);
    const replies = (await pipeline.exec()) ?? [];
    for (const [i, f] of wanted.entries()) {
      const [[typeError, type], list, zset] = [replies[3 * i] ?? [new Error('no reply')], replies[3 * i + 1]!, replies[3 * i + 2]!];
      if (typeError) throw typeError;
      // The size by its type: the other command's WRONGTYPE means nothing.
      const [sizeError, size] = type === 'list' ? list : type === 'zset' ? zset : [null, 0];
      if (sizeError) throw sizeError;
      if (f.queue !== undefined && type === 'list' && Number(size) > 0) {
        const key = `${quarantinePrefix}${f.queue}`;
        quarantine.set(key, { key, queue: f.queue, size: Number(size) });
      }
      if (f.parsed !== null && (type === 'list' || type === 'zset')) {
        const key = `${prefix}sidekiq-migrate:${f.parsed.runId}:inflight:${f.parsed.sourceKey}`;
        inflight.set(key, { key, ...f.parsed, type, size: Number(size) });
      }
    }
  };
  return {
    heads: [`${prefix}sidekiq-migrate:`],
    match,
    doing,
    onPage: async (page) => {
      try {
        await onPage(page);
      } catch (error) {
        throw classifyRedisError(error, doing);
      }
    },
    result: async (extent) => {
      const byKey = <T extends { key: string }>(m: Map<string, T>) => [...m.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const look = { quarantine: byKey(quarantine), inflight: byKey(inflight) };
      try {
        return extent.cutShort ? { ...look, cutShort: await keyspaceCut(redis, extent.pages) } : look;
      } catch (error) {
        throw classifyRedisError(error, doing);
      }
    },
  };
}
