import type { RedisKey } from 'ioredis';
import { InputError } from '../errors/input-error.js';
import { nameFromBytes, redisKey } from '../redis/key-name.js';
import { RESERVED_RUN_IDS, reservedRunIdProblem } from '../config/reserved-run-ids.js';

/** Run ids become part of key names: keep them to characters that cannot be confused with a separator. */
export function assertRunId(runId: string): string {
  if (!/^[A-Za-z0-9_.-]{1,80}$/.test(runId)) {
    throw new InputError(`Invalid run id ${JSON.stringify(runId)}: use 1–80 letters, digits, '_', '.' or '-'`);
  }
  const reserved = reservedRunIdProblem(runId);
  if (reserved !== undefined) throw new InputError(`Invalid run id ${reserved}`);
  return runId;
}

/**
 * Where a transfer keeps its state, all outside `queue:*` so that no Sidekiq fetcher, poller or
 * key scan ever mistakes it for work:
 * - on the source, one in-flight key per source key: `<prefix>sidekiq-migrate:<run>:inflight:<key>`,
 *   and beside it, while it holds entries, the id of the batch they form: `…:<run>:batch:<key>`;
 * - on the target, one ledger per source key, what of the claimed entries was written (ledger-id.ts;
 *   a queue's: how many of each batch's jobs, a set's: the entries' ids):
 *   `<prefix>sidekiq-migrate:<run>:ledger:<key>`.
 * `<key>` is the source key without its prefix (`queue:default`, `retry`), its queue name a
 * lossless string (key-name.ts): a name that is not UTF-8 gives the key its exact bytes.
 */
export const inflightKey = (sourcePrefix: string, runId: string, sourceKey: string): RedisKey =>
  redisKey(`${sourcePrefix}sidekiq-migrate:${runId}:inflight:${sourceKey}`);

export const ledgerKey = (targetPrefix: string, runId: string, sourceKey: string): RedisKey =>
  redisKey(`${targetPrefix}sidekiq-migrate:${runId}:ledger:${sourceKey}`);

/**
 * The id of the batch an in-flight key holds (ledger-id.ts), beside it on the source and deleted
 * with it. Deliberately not named `…:inflight:…`: the in-flight pattern must not find it.
 */
export const batchKey = (sourcePrefix: string, runId: string, sourceKey: string): RedisKey => redisKey(`${sourcePrefix}sidekiq-migrate:${runId}:batch:${sourceKey}`);

/**
 * The entries of a source set that this run gave back because their bytes were already in the
 * target set (conflicts): SHA-1 digests, so that the run does not claim them again.
 */
export const conflictsKey = (sourcePrefix: string, runId: string, sourceKey: string): RedisKey => redisKey(`${sourcePrefix}sidekiq-migrate:${runId}:conflicts:${sourceKey}`);

/**
 * A slice's claim chain (claim-calls.ts): which call of the slice claimed its full share last, so
 * that the next call of the same pipeline claims only after it. Short-lived (a TTL of a minute;
 * the slice's last call deletes it); not named `…:inflight:…` either.
 */
export const claimChainKey = (sourcePrefix: string, runId: string, sourceKey: string): RedisKey => redisKey(`${sourcePrefix}sidekiq-migrate:${runId}:claim-chain:${sourceKey}`);

/**
 * A queue's or a set's pass's count of the originals it has not claimed yet, with the execution
 * that wrote it (claimQueueJobs-14.lua KEYS[7], claimSetEntries-16.lua KEYS[10]): `<count>
 * <generation>` (a whole-queue pass: then a newline and its mark, the bytes of the newest original,
 * `front`: not claimed yet), no TTL, deleted when the pass is done; not named `…:inflight:…`. A
 * class-selective set pass keeps its bound there instead, `<highest score at the start>
 * <generation>` (selective-set-transfer.ts startCursor), a class-selective queue pass its start,
 * `<length at the start> <jobs claimed since> <generation>` (claimSelectedQueueJobs-11.lua KEYS[6];
 * an `append` pass: then a newline and its mark, the newest original).
 */
export const originalsKey = (sourcePrefix: string, runId: string, sourceKey: string): RedisKey => redisKey(`${sourcePrefix}sidekiq-migrate:${runId}:originals:${sourceKey}`);

/**
 * The seal of a set's in-flight key (claim-calls.ts claimSetSlice): `<slice token>:<size>`, which
 * lets the slice's acknowledge delete the in-flight set instead of sending its members back
 * (acknowledge.ts). Short-lived (a TTL; the acknowledge deletes it); not named `…:inflight:…`.
 */
export const inflightSealKey = (sourcePrefix: string, runId: string, sourceKey: string): RedisKey => redisKey(`${sourcePrefix}sidekiq-migrate:${runId}:seal:${sourceKey}`);

/**
 * A set batch's record of the written entries acknowledged while others of the batch stayed in
 * flight (their ledger ids, `<batch>:<sha1>`): a claim steps over entries of the same bytes while
 * that batch lives, which the ledger would take for the ones written (acknowledgeSetBatch-10.lua).
 * Deleted with the batch id; not named `…:inflight:…`.
 */
export const acknowledgedKey = (sourcePrefix: string, runId: string, sourceKey: string): RedisKey => redisKey(`${sourcePrefix}sidekiq-migrate:${runId}:acknowledged:${sourceKey}`);

/** The pattern that finds every run's in-flight keys on a source. */
export const inflightPattern = (escapedSourcePrefix: string): string => `${escapedSourcePrefix}sidekiq-migrate:*:inflight:*`;

/**
 * Splits an in-flight key (bytes, as SCAN returns them) back into its run id and source key (a
 * queue's name lossless: key-name.ts), or null if it is not one.
 */
export function parseInflightKey(sourcePrefix: string, key: Buffer | string): { runId: string; sourceKey: string } | null {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const prefix = Buffer.from(sourcePrefix, 'utf8');
  if (!bytes.subarray(0, prefix.length).equals(prefix)) return null;
  const rest = bytes.subarray(prefix.length);
  // latin1 maps each byte to one character: the ASCII parts match, offsets stay byte offsets.
  const match = /^sidekiq-migrate:([A-Za-z0-9_.-]+):inflight:(queue:)?/.exec(rest.toString('latin1'));
  // A name the tool keeps keys of its own under is no run's (reserved-run-ids.ts): the quarantine
  // list of a queue named `inflight:…` is not in flight.
  if (!match || match[0].length === rest.length || RESERVED_RUN_IDS.has(match[1]!)) return null;
  const tail = rest.subarray(match[0].length);
  const sourceKey = match[2] ? `queue:${nameFromBytes(tail)}` : tail.toString('utf8');
  return { runId: match[1]!, sourceKey };
}
