import type { Redis, RedisKey } from 'ioredis';
import { leftoversLook, lookForLeftovers, type LeftoverLook } from '../drain/leftover-keys.js';
import type { ScanBound } from '../redis/bounded-scan.js';
import { redisKey } from '../redis/key-name.js';
import { LuaScript } from '../redis/lua-script.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';

/**
 * A source's index of the transfers' in-flight keys: a set of their key names (bytes, as the
 * in-flight keys are), `<prefix>sidekiq-migrate:inflight-keys` beside the run lock. Every claim
 * adds its in-flight key's name in the call that writes the key, at its end when the key holds
 * anything (after its own writes: a first write refused on a full Redis then refuses the whole
 * call, never a claim without its name; claimQueueJobs-14.lua, claimSetEntries-16.lua,
 * claimSelectedQueueJobs-11.lua, claimSelectedSetEntries-11.lua KEYS[last]): so an in-flight key this version wrote, and a crash
 * left, is always named here. The acknowledge that deletes or empties an in-flight key takes its
 * name out in the same call (acknowledgeQueueBatch-4.lua, acknowledgeSetBatch-10.lua KEYS[last]),
 * and only then: a key left holding jobs stays named, and a claim that writes it again names it
 * again in its own call. So the index names what is in flight now, not every key a run ever wrote
 * (before, a run of 10,000 queues left 10,000 names until its summary: bench/README.md,
 * audit-ackindex). Names of keys gone otherwise (an older version's acknowledge) are taken out by
 * forgetGoneInflightKeys-1.lua, which looks at each key in the same call: never while the key
 * exists. Not `…:inflight:…`: the in-flight pattern does not find it, and no run's key is it.
 *
 * Why: the last summary of a transfer looks for in-flight keys on its target (a transfer out of
 * it, interrupted: the target of this run was, or is, the source of another, such as a shard moved
 * back). It walked the target's whole keyspace for them (a SCAN, a thousand calls a million keys),
 * which on a shared Redis of millions of keys ran past its time and said it was cut short, leaving
 * operators without an answer (bench/README.md, audit-inflight). Now it reads this set.
 *
 * A key an older version wrote has no name here. The set also holds INFLIGHT_WALKED once one walk
 * of the whole keyspace named every in-flight key there: until then (a Redis an older version
 * claimed from, one never looked at, or one that lost this key: deleted, restored from an older
 * snapshot) the look walks the keyspace as before and names what it finds. The mark is in the same
 * key as the names, so whatever loses the names loses the mark with them.
 */
export const inflightIndexKey = (prefix: string): string => `${prefix}sidekiq-migrate:inflight-keys`;

/** The index's mark that a walk of the whole keyspace named every in-flight key there (no in-flight key is this name: each begins with the prefix and `sidekiq-migrate:`). */
export const INFLIGHT_WALKED = 'walked';

/** The index as it is now: the names (bytes) and whether the mark is there. One SMEMBERS. */
export async function readInflightIndex(redis: Redis, prefix: string): Promise<{ readonly names: Buffer[]; readonly walked: boolean }> {
  const members = await redis.smembersBuffer(inflightIndexKey(prefix));
  const mark = Buffer.from(INFLIGHT_WALKED, 'utf8');
  return { names: members.filter((m) => !m.equals(mark)), walked: members.some((m) => m.equals(mark)) };
}

const forgetGone = new LuaScript('forgetGoneInflightKeys-1');

/** Names per call of forgetGoneInflightKeys-1.lua. */
const NAMES_PER_CALL = 100;

/**
 * Takes out of the index every name whose in-flight key is gone (forgetGoneInflightKeys-1.lua: one
 * look and take-out per call, never a name whose key exists). One SMEMBERS, then a call a hundred
 * names, only when it names any. Returns how many it took out.
 */
export async function forgetGoneInflightKeys(redis: Redis, prefix: string): Promise<number> {
  const { names } = await readInflightIndex(redis, prefix);
  let gone = 0;
  for (let i = 0; i < names.length; i += NAMES_PER_CALL) {
    gone += Number(await forgetGone.run(redis, { keys: [inflightIndexKey(prefix), ...names.slice(i, i + NAMES_PER_CALL)], args: [] }));
  }
  return gone;
}

/** Names per SADD when a walk names what it found. */
const NAMES_PER_SADD = 1000;

/**
 * The in-flight keys of every run on this Redis (a transfer's look at its target: those of a
 * transfer out of it), each with its type and size, as lookForLeftovers finds them. With the
 * index's mark: the keys the index names, looked at (TYPE, LLEN, ZCARD, a pipeline a thousand),
 * no SCAN, whatever else the keyspace holds; a name whose key is gone finds nothing. Without it:
 * one walk of the keyspace as before (bounded by `bound`, `cutShort` when it stopped early); when
 * the walk reached the end and `mark` allows (a run that may write there), every key it found is
 * named in the index and then the mark written, in that order (a kill in between leaves names
 * without the mark: walked again next time). A claim meanwhile names its own key in its own call.
 * `walked`: whether it walked the keyspace.
 */
export async function lookForInflightKeys(redis: Redis, keys: SidekiqKeys, bound: ScanBound, options: { readonly mark: boolean }): Promise<LeftoverLook & { readonly walked: boolean }> {
  const index = await readInflightIndex(redis, keys.prefix);
  if (index.walked) {
    const look = leftoversLook(redis, keys, { quarantine: false, inflight: true });
    for (let i = 0; i < index.names.length; i += NAMES_PER_SADD) await look.onPage(index.names.slice(i, i + NAMES_PER_SADD));
    return { ...(await look.result({ pages: 0 })), walked: false };
  }
  const look = await lookForLeftovers(redis, keys, { quarantine: false, inflight: true }, bound);
  if (look.cutShort === undefined && options.mark) await markWalked(redis, keys.prefix, look.inflight.map((l) => redisKey(l.key)));
  return { ...look, walked: true };
}

/**
 * Names what a whole walk found, then the mark, in that order. Best effort: the look has its answer
 * already, and these are the only writes of a look. A Redis that refuses them (full: noeviction at
 * its maxmemory, where a move that filled its target ends; a read-only replica; an ACL) failed the
 * summary that looked, after every page was done (inflight-index-full-target.test.ts). Refused
 * part-way, it leaves names without the mark: the next look walks again.
 */
async function markWalked(redis: Redis, prefix: string, names: readonly RedisKey[]): Promise<void> {
  const indexKey = inflightIndexKey(prefix);
  try {
    for (let i = 0; i < names.length; i += NAMES_PER_SADD) await redis.sadd(indexKey, ...names.slice(i, i + NAMES_PER_SADD));
    await redis.sadd(indexKey, INFLIGHT_WALKED);
  } catch {
    // Not marked: the next look walks the keyspace again.
  }
}
