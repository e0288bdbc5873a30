import type { Redis, RedisKey } from 'ioredis';
import { LuaScript, type LuaCall } from '../redis/lua-script.js';
import { MAX_JOBS_PER_CLAIM_CALL } from './transfer-options.js';

const acknowledgeQueueBatch = new LuaScript('acknowledgeQueueBatch-4', { encodeCalls: true });
const acknowledgeSetBatch = new LuaScript('acknowledgeSetBatch-10', { encodeCalls: true });

/** How long a run remembers the set entries it gave back as conflicts (as long as its ledgers). */
export const CONFLICTS_TTL_SECONDS = 7 * 24 * 3600;

/**
 * The acknowledge of a queue slice: removes from the in-flight list exactly the jobs that were
 * written — its first ones, up to `upTo` (the batch's base plus the jobs read) — and only while it
 * still holds that batch. Jobs claimed into it meanwhile by another attempt stay in flight. The
 * call that deletes the list takes its name out of the source's index of in-flight keys
 * (`inflightIndex`, inflight-index.ts), in the same call (acknowledgeQueueBatch-4.lua).
 */
export async function acknowledgeQueueJobs(source: Redis, inflight: RedisKey, batchKey: RedisKey, batch: string, upTo: number, inflightIndex: RedisKey): Promise<void> {
  await acknowledgeQueueBatch.run(source, { keys: [inflight, batchKey, inflightIndex], args: [batch, upTo] });
}

/**
 * The acknowledge of a set slice: removes the written entries from the in-flight set and gives
 * the conflicts back to the source set with their scores (recorded under `conflicts`, so that the
 * run does not claim them again), only while the in-flight set still holds `batch`.
 *
 * Sealed (issue #18): when the slice's claim left a seal (claim-calls.ts SetSliceClaim.seal), every
 * entry it held was written (now or before) and none conflicted, one call sends the seal and no
 * member: if the in-flight set still holds exactly the slice's entries (acknowledgeSetBatch-10.lua),
 * it is deleted. Otherwise that call writes nothing (-1), and the members are sent as below. A
 * crash between the two leaves the slice in flight, as a crash before any acknowledge does.
 *
 * By members: in calls of at most MAX_JOBS_PER_CLAIM_CALL entries, in one pipeline: a call of 250
 * took ~0.4 ms (scripts/measure-transfer-claims.ts), and every client of the source waits while one
 * runs. Each entry's acknowledge stands alone (remove it, or give it back, while the batch is the
 * same), so a call that fails leaves the others' right; what it did not acknowledge stays in
 * flight for the next attempt. The call that empties the in-flight set deletes the batch id (and
 * the seal), after which a later call finds nothing of its own in flight and does nothing. The
 * call that leaves the in-flight set gone (sealed or by members) takes its name out of the source's
 * index of in-flight keys (`keys.inflightIndex`, inflight-index.ts), in the same call.
 *
 * Returns 'sealed' when the sealed call was enough (it deleted the slice, or found its batch
 * already gone, when a by-members call would have done nothing either), else 'by members'.
 *
 * `sent`: called once, right after the first acknowledge pipeline is written to the connection
 * (before its reply), to write the next slice's claim behind it (claim-ahead.ts).
 */
export async function acknowledgeSetEntries(
  source: Redis,
  keys: { readonly inflight: RedisKey; readonly batch: RedisKey; readonly source: RedisKey; readonly conflicts: RedisKey; readonly seal: RedisKey; readonly acknowledged: RedisKey; readonly inflightIndex: RedisKey },
  batch: string,
  written: readonly Buffer[],
  conflicts: readonly Buffer[],
  seal?: string,
  sent?: () => void,
): Promise<'sealed' | 'by members'> {
  let afterSent = sent;
  const callKeys = [keys.inflight, keys.batch, keys.source, keys.conflicts, keys.seal, keys.acknowledged, keys.inflightIndex];
  // The seal names how many entries the slice held: all of them must have been written.
  if (seal !== undefined && conflicts.length === 0 && written.length === Number(seal.slice(seal.lastIndexOf(':') + 1))) {
    const sealed = acknowledgeSetBatch.runAll(source, [{ keys: callKeys, args: [batch, CONFLICTS_TTL_SECONDS, 0, seal] }]);
    afterSent?.();
    afterSent = undefined;
    const [[acknowledged]] = (await sealed) as [[number]];
    if (acknowledged !== -1) return 'sealed';
  }
  // The written entries, then the conflicts, cut in calls: each call's written ones, then its conflicts.
  const total = written.length + conflicts.length;
  const entry = (i: number) => (i < written.length ? written[i]! : conflicts[i - written.length]!);
  const calls: LuaCall[] = [];
  // Even with nothing to acknowledge, one call: it deletes a batch id whose in-flight set is empty.
  for (let i = 0; i === 0 || i < total; i += MAX_JOBS_PER_CLAIM_CALL) {
    const end = Math.min(total, i + MAX_JOBS_PER_CLAIM_CALL);
    const args: (string | number | Buffer)[] = [batch, CONFLICTS_TTL_SECONDS, Math.max(0, Math.min(end, written.length) - i), ''];
    for (let j = i; j < end; j++) args.push(entry(j));
    calls.push({ keys: callKeys, args });
  }
  const byMembers = acknowledgeSetBatch.runAll(source, calls);
  afterSent?.();
  await byMembers;
  return 'by members';
}
