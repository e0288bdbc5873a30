import type { Redis, RedisKey } from 'ioredis';
import { isPlainName, nameBytes } from '../redis/key-name.js';
import { LuaScript } from '../redis/lua-script.js';
import { generationArg, generationFieldsOf } from '../redis/generation-arg.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import { runLockKey } from '../redis/run-lock.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { inspectJob } from '../payload/inspect-job.js';
import { MAX_SAMPLES, reportedSample } from '../reroute/reroute-counters.js';
import type { CarriedJob } from './carry-job.js';
import { claimRefusal } from './claim-refusal.js';
import type { TransferCounters } from './transfer-counters.js';
import { ledgerIndexKey } from './ledger-index.js';
import { MAX_JOBS_PER_WRITE, type TransferContext } from './transfer-options.js';

const copyJobsToLists = new LuaScript('copyJobsToLists-n4', { encodeCalls: true });
const copyEntriesToSet = new LuaScript('copyEntriesToSet-6', { encodeCalls: true });

/**
 * The run lock on the target that a write looks at before it writes anything (lib/claim-lock.lua):
 * a page task renews the run's locks once a page of several slices, so a lock another run took
 * between two slices (once this run's expired) is seen here, before the slice writes to a target
 * that run now owns, not at the page's end. `runId`: the run writing, whose lock it is (a resume
 * writes other runs' leftovers under their ledgers, but under its own lock).
 */
export interface TargetLock {
  readonly key: RedisKey;
  /** The target's index of ledgers (ledger-index.ts), which every write names its ledger in. */
  readonly ledgers: RedisKey;
  readonly runId: string;
  /** When the writing execution planned (the lock's plannedAt): refused once a later execution holds the lock. */
  readonly plannedAt?: number;
  /** The execution whose plan took the lock (its plannedBy): refused when the lock names another with the same plannedAt. */
  readonly plannedBy?: string;
  /** Where, for the message: "on target redis://…". */
  readonly where: string;
}

/** The target lock of the run `context` writes for. */
export function targetLockOf(context: Pick<TransferContext, 'targetKeys' | 'runId' | 'plannedAt' | 'plannedBy' | 'targetName'>): TargetLock {
  return {
    key: runLockKey(context.targetKeys.prefix),
    ledgers: ledgerIndexKey(context.targetKeys.prefix),
    runId: context.runId,
    ...generationFieldsOf(context),
    where: `on target ${context.targetName ?? ''}`.trimEnd(),
  };
}

/** A write call's reply when the lock was another run's (-3) or a later execution's (-4): nothing written. */
const REFUSED = new Map([
  [-3, 'lock-lost'],
  [-4, 'superseded'],
] as const);

/**
 * Throws when a call of the slice was refused for the lock: the error a claim refused for the same
 * reason throws (claim-refusal.ts), fatal. The calls before it (another client may take the lock
 * between two calls of one pipeline) wrote through the ledger; the slice stays in flight on the
 * source, and the resume writes the rest, nothing twice (see inCalls).
 */
function refuseIfLocked(replies: readonly number[][], lock: TargetLock): void {
  for (const reply of replies) {
    const refused = REFUSED.get(reply[0] as -3 | -4);
    if (refused !== undefined) throw claimRefusal(refused, lock.runId, lock.where);
  }
}

/**
 * Where the jobs a queue write is given sit in their batch: the batch id (without `+base`,
 * ledger-id.ts parseBatch) and the position of the first one (`base`: the claim read it with the
 * jobs). The run's ledger counts a batch's jobs written from position 0 (copyJobsToLists-n4.lua).
 */
export interface BatchPosition {
  readonly id: string;
  readonly first: number;
}

/**
 * Why a slice is written in several Lua calls (MAX_JOBS_PER_WRITE each, transfer-options.ts: one
 * call of 250 kept the target busy too long), and why that is as safe as one call:
 *
 * - Each call is atomic (guards.lua: it checks its keys before its first write) and idempotent
 *   through the run's ledger: a job the ledger counts as written (a queue batch's first jobs, up to
 *   its number; a set entry's id) is never written again. Calling again with
 *   the same jobs — a retry, or the resume of an interrupted run (resume-inflight.ts writes
 *   through these same functions) — writes exactly the ones missing and counts the others as
 *   duplicates.
 * - The source acknowledges the slice only after these functions returned, i.e. after every call
 *   succeeded (runAll throws when one failed). A crash, a lost connection or a failed call after
 *   some calls ran leaves the whole slice in flight on the source, so the next attempt or the
 *   resume writes what is missing: nothing lost, nothing twice.
 * - The calls go out in order in one pipeline (one round trip, as the single call did): Redis runs
 *   them one after the other, so every job lands where and in the order one call put it, and the
 *   counters are the sums of the replies. Other clients may run commands between two calls, as
 *   they may between two slices.
 * - An error surfaces as before: runAll throws the first failed call's error, which the callers
 *   classify (classifyRedisError). Every call names every key of the slice, so a key of the wrong
 *   type refuses the first call and nothing is written, as before. An OOM or BUSY reply can hit one
 *   call and not the next; queued jobs keep their order even then (copyJobsToLists-n4.lua refuses a
 *   call whose previous job was not written), and set entries are ordered by their scores.
 */
function inCalls<T>(items: readonly T[]): T[][] {
  const calls: T[][] = [];
  for (let i = 0; i < items.length; i += MAX_JOBS_PER_WRITE) calls.push(items.slice(i, i + MAX_JOBS_PER_WRITE));
  return calls;
}

/**
 * Pushes a queue batch's jobs (consecutive positions from `batch.first`) to their queues on the
 * target, in the given order, each at most once per ledger: calls of at most MAX_JOBS_PER_WRITE
 * jobs, in order, in one pipeline (see inCalls). The ledger keeps one number a batch, how many of
 * its jobs are written, not one id a job (copyJobsToLists-n4.lua).
 */
export async function writeJobsToQueues(
  target: Redis,
  keys: SidekiqKeys,
  ledger: RedisKey,
  push: 'RPUSH' | 'LPUSH',
  batch: BatchPosition,
  jobs: readonly CarriedJob[],
  counters: TransferCounters,
  lock: TargetLock,
): Promise<void> {
  if (jobs.length === 0) return;
  // Destination numbers (1-based) in order of first appearance. Plain loops and pushes, no spreads
  // or closures: a spread here deoptimised the function ("wrong map") twice a move (issue #18).
  const destinations = new Map<string, number>();
  const names: string[] = [];
  for (const job of jobs) {
    if (destinations.has(job.queue)) continue;
    names.push(job.queue);
    destinations.set(job.queue, names.length);
  }
  // Names added to `queues` are the queues' bytes, as in their keys. Every call names every
  // destination of the slice (its type is checked before the first call writes anything).
  const head: (string | Buffer | number)[] = [push, names.length];
  const callKeys: RedisKey[] = [ledger, keys.queues, lock.key, lock.ledgers];
  for (const name of names) {
    head.push(isPlainName(name) ? name : nameBytes(name));
    callKeys.push(keys.queue(name));
  }
  const parts = inCalls(jobs);
  const calls: { keys: RedisKey[]; args: (string | Buffer | number)[] }[] = [];
  for (let c = 0; c < parts.length; c++) {
    // Every call after the first is refused unless the job before its first one was written.
    const args = head.slice();
    args.push(batch.id, batch.first + c * MAX_JOBS_PER_WRITE, c === 0 ? '' : 'after', lock.runId, generationArg(lock));
    for (const job of parts[c]!) args.push(job.payload, destinations.get(job.queue)!);
    calls.push({ keys: callKeys, args });
  }
  // Each reply: [duplicates, written to destination 1, written to destination 2, ...].
  const replies = (await copyJobsToLists.runAll(target, calls).catch(onTheTarget)) as number[][];
  refuseIfLocked(replies, lock);
  for (let c = 0; c < replies.length; c++) {
    const reply = replies[c]!;
    counters.duplicates += reply[0]!;
    for (let d = 1; d < reply.length; d++) {
      const n = reply[d]!;
      counters.written += n;
      if (n > 0) counters.writtenTo[names[d - 1]!] = (counters.writtenTo[names[d - 1]!] ?? 0) + n;
    }
  }
}

/** A claimed set entry: `member` as claimed on the source, `payload` as it is written. */
export interface LedgeredEntry {
  readonly id: string;
  readonly member: Buffer;
  readonly payload: Buffer;
  readonly score: string;
}

/**
 * Adds entries to a sorted set on the target with their scores, each at most once per ledger and
 * never over an equal member (ZADD NX), in calls of at most MAX_JOBS_PER_WRITE entries in one
 * pipeline (see inCalls). Returns the entries that conflicted: their bytes were
 * already in the set, so they were not written; the acknowledge gives them back to the source.
 */
export async function writeEntriesToSet(
  target: Redis,
  setKey: string,
  setName: string,
  ledger: RedisKey,
  entries: readonly LedgeredEntry[],
  counters: TransferCounters,
  lock: TargetLock,
): Promise<LedgeredEntry[]> {
  if (entries.length === 0) return [];
  const callKeys = [ledger, setKey, lock.key, lock.ledgers];
  const calls = inCalls(entries).map((part) => {
    const args: (string | number | Buffer)[] = [lock.runId, generationArg(lock)];
    for (const e of part) args.push(e.id, e.payload, e.score);
    return { keys: callKeys, args };
  });
  const conflicts: LedgeredEntry[] = [];
  // Each reply: [written, duplicates, ...positions of the conflicts, from this call's first entry].
  const replies = (await copyEntriesToSet.runAll(target, calls).catch(onTheTarget)) as number[][];
  refuseIfLocked(replies, lock);
  for (let c = 0; c < replies.length; c++) {
    const reply = replies[c]!;
    const written = reply[0]!;
    counters.written += written;
    counters.duplicates += reply[1]!;
    if (written > 0) counters.writtenTo[setName] = (counters.writtenTo[setName] ?? 0) + written;
    for (let i = 2; i < reply.length; i++) conflicts.push(entries[c * MAX_JOBS_PER_WRITE + reply[i]! - 1]!);
  }
  counters.conflicts += conflicts.length;
  for (const c of conflicts.slice(0, MAX_SAMPLES - counters.conflictSamples.length)) {
    const job = inspectJob(c.member);
    counters.conflictSamples.push(reportedSample({ jid: job.kind === 'job' ? job.jid : null, className: job.kind === 'job' ? job.className : null, reason: `already in ${setName} on the target` }));
  }
  return conflicts;
}

/**
 * A full target is said to be the target: "out of memory" alone would leave the operator to guess
 * which of the two servers to free. Other errors go up as they came (the callers classify them).
 */
function onTheTarget(error: unknown): never {
  if (error instanceof Error && error.message.startsWith('OOM')) {
    throw classifyRedisError(error, 'Writing to the target (the slice stays in flight on the source)');
  }
  throw error;
}
