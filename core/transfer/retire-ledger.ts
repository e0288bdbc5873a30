import type { Redis, RedisKey } from 'ioredis';
import { LuaScript } from '../redis/lua-script.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { ledgerIndexKey } from './ledger-index.js';
import { inflightKey, ledgerKey } from './transfer-keys.js';
import { DEFAULT_LEDGER_TTL_SECONDS } from './transfer-options.js';

const retireScript = new LuaScript('retireLedger-4');

/** Ledgers looked at per round trip of each phase (retireRunLedgers). */
const RETIRE_CHUNK = 1000;

/**
 * Gives a run's ledger its time to live once nothing it records can be in flight any more: its
 * run's in-flight key for that source key is gone (every batch acknowledged).
 *
 * Until then the ledger has no TTL (the copy scripts PERSIST it), because under the volatile-*
 * eviction policies (ElastiCache's default is volatile-lru) Redis evicts keys with a TTL first,
 * and a ledger evicted while its entries are in flight would let a resume write them twice.
 * Once retired, evicting it is harmless: batches claimed later get new ids, and the copy that
 * records them takes the TTL off again, in the same script.
 *
 * The in-flight key is on the source, the ledger on the target: no one step sees both. A plain
 * "EXISTS on the source, then EXPIRE on the target" gave a TTL to a ledger recording jobs in
 * flight whenever a batch was claimed and copied between the two calls (another execution of the
 * run working the same key — a later start while a plan paused after its look, an item's
 * continuation — or a process paused between them): the copy's PERSIST came before the EXPIRE.
 * So it goes in three steps, in this order (retireLedger-4.lua says why that is enough):
 *   1. the target: how the ledger is now ('look': no TTL, its type, how many entries, one of them);
 *   2. the source: no in-flight key for it (every batch claimed so far was acknowledged);
 *   3. the target: the TTL, only if the ledger is exactly as step 1 saw it ('retire').
 * A batch claimed after step 2 records a new entry when it is copied: before step 3, the ledger
 * changed and is left without a TTL; after it, the copy's PERSIST takes the TTL off. A batch
 * claimed before step 2 and still in flight makes step 2 refuse. A crash between any two steps
 * leaves the ledger without a TTL (only ever the safe side): the next retire gives it.
 *
 * The target's index of ledgers (`index`, ledger-index.ts) loses the ledger's name in step 3's call
 * (or in step 1's, when the ledger has a TTL already or is gone): retireLedger-4.lua.
 *
 * Returns whether it gave the TTL (false: nothing written but the index).
 */
export async function retireLedger(source: Redis, target: Redis, inflight: RedisKey, ledger: RedisKey, ttlSeconds: number, index: RedisKey): Promise<boolean> {
  const { retired } = await retireAll(source, target, [{ inflight, ledger }], ttlSeconds, index);
  return retired[0]!;
}

/** Whether the ledger is settled after retireLedger's steps: none, one with a TTL, or given it now (retireRunLedgers). */
export async function settleLedger(source: Redis, target: Redis, inflight: RedisKey, ledger: RedisKey, ttlSeconds: number, index: RedisKey): Promise<boolean> {
  const { settled } = await retireAll(source, target, [{ inflight, ledger }], ttlSeconds, index);
  return settled[0]!;
}

/**
 * `retireLedger` for each source key (`queue:NAME`, `retry`) a run worked on. Returns, per source
 * key, whether its ledger is settled now: none there, one with a TTL already, or given it here
 * (false: one without a TTL left as it is, something of it in flight or written meanwhile). A
 * count of the run's pass over that key (transfer-keys.ts originalsKey) may go only once its
 * ledger is settled: it is what the next plan's walk of the source finds them by (older-starts.ts,
 * other-runs-passes.ts), where a look for ledgers over the target's keyspace may be cut short.
 */
export async function retireRunLedgers(
  context: { readonly source: Redis; readonly target: Redis; readonly sourceKeys: SidekiqKeys; readonly targetKeys: SidekiqKeys; readonly runId: string },
  sourceKeys: readonly string[],
  ttlSeconds: number,
): Promise<boolean[]> {
  const pairs = sourceKeys.map((key) => ({ inflight: inflightKey(context.sourceKeys.prefix, context.runId, key), ledger: ledgerKey(context.targetKeys.prefix, context.runId, key) }));
  const index = ledgerIndexKey(context.targetKeys.prefix);
  const settled: boolean[] = [];
  for (let i = 0; i < pairs.length; i += RETIRE_CHUNK) settled.push(...(await retireAll(context.source, context.target, pairs.slice(i, i + RETIRE_CHUNK), ttlSeconds, index)).settled);
  return settled;
}

/**
 * A pass's end, before its count (transfer-keys.ts originalsKey) goes: its ledger retired first
 * (the three steps above; nothing of it in flight by then, its last batch acknowledged). The other
 * way round, a process killed between the two left the ledger without a TTL and nothing on the
 * source to find it by: its queue empty by then, the resumed plan had no item for it and its walk
 * of the source no count; only the last summary's look over the target's keyspace, cut short among
 * many keys, found it, or not (then for good: cli-resumed-cleanup-whole.test.ts). Killed here, the
 * count stays, and the next plan's walk finds it (older-starts.ts, other-runs-passes.ts). The
 * count goes whatever this found (a copy of another start meanwhile keeps the ledger without a TTL:
 * that start's own end retires it). A dry run keeps neither.
 */
export async function retireBeforePassEnd(
  request: { readonly source: Redis; readonly target: Redis; readonly sourceKeys: SidekiqKeys; readonly targetKeys: SidekiqKeys; readonly runId: string; readonly dryRun: boolean; readonly ledgerTtlSeconds?: number },
  sourceKey: string,
): Promise<void> {
  if (request.dryRun) return;
  await retireRunLedgers(request, [sourceKey], request.ledgerTtlSeconds ?? DEFAULT_LEDGER_TTL_SECONDS);
}

/**
 * The three steps for many ledgers, each step one round trip for all of them: the order that
 * makes each ledger's retirement safe holds per ledger (its look, then its in-flight key, then
 * its retire), whatever happens to the others in between.
 */
async function retireAll(source: Redis, target: Redis, pairs: readonly { inflight: RedisKey; ledger: RedisKey }[], ttlSeconds: number, index: RedisKey): Promise<{ retired: boolean[]; settled: boolean[] }> {
  const looks = (await retireScript.runAll(
    target,
    pairs.map(({ ledger }) => ({ keys: [ledger, index], args: ['look'] })),
  )) as [number, number, Buffer, Buffer?][];
  // Only a ledger with entries and no TTL has anything to retire (-2: none; a TTL: retired already).
  const candidates = pairs.flatMap((pair, i) => (looks[i]![0] === -1 && looks[i]![3] !== undefined ? [{ ...pair, at: i, size: looks[i]![1], kind: looks[i]![2], id: looks[i]![3] }] : []));
  const retired = pairs.map(() => false);
  // Settled without a step on the source: no ledger (-2), or one with a TTL (a retired one, or one eviction may take already).
  const settled = pairs.map((_, i) => looks[i]![0] !== -1);
  if (candidates.length === 0) return { retired, settled };
  const pipeline = source.pipeline();
  for (const { inflight } of candidates) pipeline.exists(inflight);
  const replies = (await pipeline.exec()) ?? [];
  const idle = candidates.filter((_, i) => {
    const [error, exists] = replies[i] ?? [new Error('no reply to EXISTS')];
    if (error) throw error;
    return exists === 0;
  });
  const done = await retireScript.runAll(
    target,
    idle.map(({ ledger, size, id, kind }) => ({ keys: [ledger, index], args: ['retire', ttlSeconds, size, id, kind] })),
  );
  idle.forEach(({ at }, i) => (retired[at] = settled[at] = done[i] === 1));
  return { retired, settled };
}
