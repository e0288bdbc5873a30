import type { Redis } from 'ioredis';
import { InputError } from '../errors/input-error.js';

/** Redis's refusal of a call on keys in different hash slots, and a cluster's redirections. */
export const CROSS_SLOT = /^(CROSSSLOT|MOVED|ASK)\b/;

/** What a CROSSSLOT (or a cluster's MOVED/ASK) means, and what to use instead. */
export const SHARDED_MEANING =
  'it is sharded (a Redis Enterprise database with several shards behind its proxy, or a cluster proxy), which Sidekiq does not support, and each of our moves is one call on several keys. Use a single-shard database.';

/** CRC16/XMODEM, as Redis Cluster hashes a key (`CLUSTER KEYSLOT`). */
function crc16(bytes: Buffer): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The hash slot of a key: of its first non-empty `{…}` when it has one, as Redis Cluster does. */
export function hashSlot(key: string): number {
  const bytes = Buffer.from(key);
  const open = bytes.indexOf('{');
  if (open >= 0) {
    const close = bytes.indexOf('}', open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % 16384;
  }
  return crc16(bytes) % 16384;
}

/**
 * Two keys of ours under `prefix` in different hash slots, or null when the prefix holds a hash
 * tag (`{gitlab}:`): then every key under it is in one slot, and a sharded server takes our calls.
 */
export function keysInTwoSlots(prefix: string): [string, string] | null {
  const first = `${prefix}sidekiq-migrate:slot-check:0`;
  for (let i = 1; i <= 64; i++) {
    const other = `${prefix}sidekiq-migrate:slot-check:${i}`;
    if (hashSlot(other) !== hashSlot(first)) return [first, other];
  }
  return null;
}

/**
 * Refuses, before anything is touched, a server that hides its shards behind a proxy reporting
 * `cluster_enabled:0` (Redis Enterprise): it refuses every call on keys in different hash slots,
 * which each of our Lua moves is. Asked with a script call that runs nothing (an unknown script
 * id, on two keys of ours that do not exist in two slots): a single Redis answers NOSCRIPT, a
 * sharded one CROSSSLOT. A user that may not send EVALSHA (a drain check's reader) is asked with
 * EXISTS on the same two keys. Any other answer says nothing of sharding: the permission check
 * that follows names what is missing.
 */
export async function assertNotSharded(redis: Redis, prefix: string, where: string): Promise<void> {
  const keys = keysInTwoSlots(prefix);
  if (keys === null) return;
  const probes: [string, ...string[]][] = [['EVALSHA', '0'.repeat(40), '2', ...keys], ['EXISTS', ...keys]];
  for (const probe of probes) {
    try {
      await redis.call(...probe);
      return;
    } catch (error) {
      const message = String((error as Error)?.message ?? error);
      if (CROSS_SLOT.test(message)) throw new InputError(`${where}: the server refuses a call on keys in different hash slots (${message}): ${SHARDED_MEANING} Nothing was touched.`, { cause: error });
      if (!/^NOPERM/.test(message)) return;
    }
  }
}
