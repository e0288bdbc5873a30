import type { ChainableCommander, Redis, RedisKey } from 'ioredis';
import { displayName, redisKey } from '../redis/key-name.js';
import { PlanResumeTooLongError } from '../errors/plan-resume-too-long-error.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import { SORTED_SET_NAMES, type SortedSetName } from '../redis/sidekiq-keys.js';
import { lookForLeftovers } from '../drain/leftover-keys.js';
import { carryQueuedJobs, ledgerScheduledEntries } from './carry-job.js';
import { emptyTransferCounters, tallyCarried, type TransferCounters } from './transfer-counters.js';
import { acknowledgeQueueJobs } from './acknowledge.js';
import { inflightIndexKey } from './inflight-index.js';
import { batchTarget, newBatchId, parseBatch } from './ledger-id.js';
import { readTargetId, refuseForeignLeftovers, type ForeignLeftover } from './target-identity.js';
import { settleLedger } from './retire-ledger.js';
import { copyAndAcknowledgeSet } from './set-transfer.js';
import { batchKey, ledgerKey, originalsKey } from './transfer-keys.js';
import { claimReplicated } from './replicated-steps.js';
import { copyKept, queueCopyRecorded } from './copy-kept.js';
import { DEFAULT_LEDGER_TTL_SECONDS, type TransferContext } from './transfer-options.js';
import { targetLockOf, writeJobsToQueues } from './write-to-target.js';

/** An in-flight key left on the source by an interrupted run. */
export interface InflightLeftover {
  /** As text, a queue's name lossless (key-name.ts): `redisKey(key)` is the key. */
  readonly key: string;
  readonly runId: string;
  /** The source key it was claimed from (`queue:default`, `retry`). */
  readonly sourceKey: string;
  readonly type: 'list' | 'zset';
  readonly size: number;
}

/**
 * Every run's in-flight keys on a source (the `sidekiq-migrate:*:inflight:*` keys), sorted by key.
 * The whole keyspace, however long it takes: a resume must see them all. A look with a time bound
 * is lookForLeftovers (leftover-keys.ts).
 */
export async function findInflightLeftovers(context: Pick<TransferContext, 'source' | 'sourceKeys'>): Promise<InflightLeftover[]> {
  return (await lookForLeftovers(context.source, context.sourceKeys, { quarantine: false, inflight: true })).inflight;
}

/**
 * Another run's leftover: that run is over (its lock is gone or this run's), and so is its pass,
 * whose count of originals goes too (claimQueueJobs-14.lua KEYS[7]). Deleted once the leftover's
 * ledger is settled (retired, or none), after its jobs were written and acknowledged: a kill
 * before leaves the count beside the ledger without a TTL, and the next plan's walk of the source
 * finds the count and retires both (other-runs-passes.ts). (Deleted before the write, as it was, a
 * kill between the acknowledge and the ledger's TTL left the ledger with no TTL and nothing on the
 * source naming it: only the last summary's look over the target, cut short among many keys, found
 * it, or not.) Not this run's own: a plan that paused here may have been superseded by a later
 * start whose pass now goes by that count (its first claim writes over an earlier start's, and its
 * end deletes it).
 */
async function forgetOtherRunsPass(context: TransferContext, leftover: InflightLeftover): Promise<void> {
  if (leftover.runId !== context.runId) await context.source.del(originalsKey(context.sourceKeys.prefix, leftover.runId, leftover.sourceKey));
}

/**
 * Finishes what interrupted runs left in flight — this run's or another's — before anything new
 * is claimed: writes each leftover to the target through the ledger of the run that claimed it,
 * under the ids that run gave its entries (its batch id, stored beside the in-flight key, and
 * their positions or digests: ledger-id.ts), so that what it already wrote is not written again;
 * then acknowledges exactly what it wrote (set conflicts go back to their set), and gives that
 * ledger its TTL when nothing of it is left in flight (retire-ledger.ts).
 *
 * The batch id and the entries are read in one MULTI, so that they always belong together.
 * A leftover without a batch id (claimed by a version before batch ids; ours always store one
 * with a non-empty in-flight key) is first given one (readAdopting), then written in full under
 * ids its ledger cannot know: a job that version wrote just before it was interrupted would
 * arrive twice, none is lost.
 */
export async function resumeInflight(given: TransferContext, placement: 'front' | 'append' = 'front', options: ResumeOptions = {}): Promise<TransferCounters> {
  // Claimed (perhaps copied) by an earlier attempt, on a connection of its own: each WAIT covers a
  // write of this run's own on the connection it runs on (replica-wait.ts `writtenElsewhere`).
  const context: TransferContext = { ...given, writtenElsewhere: true };
  const counters = emptyTransferCounters();
  const leftovers = options.leftovers ?? (await findInflightLeftovers(context));
  const here = await refuseLeftoversForOtherTargets(context, leftovers);
  if (context.dryRun) return countLeftovers(leftovers, counters);
  const ttl = context.ledgerTtlSeconds ?? DEFAULT_LEDGER_TTL_SECONDS;
  const aj = context.rewriteActiveJobQueueName ?? true;
  // Written under this run's lock on the target, whichever run claimed them.
  const targetLock = targetLockOf(context);
  const clock = options.clock ?? Date.now;
  const started = clock();
  let finished = 0;
  for (const [index, leftover] of leftovers.entries()) {
    const inflight = redisKey(leftover.key);
    // Out of time: stopped between two keys, each finished one whole; the first whatever the time,
    // so that each try of the plan gets further (PlanResumeTooLongError is retried).
    if (finished > 0 && isResumableLeftover(leftover) && options.until !== undefined && clock() >= options.until) {
      const rest = leftovers.slice(index).filter(isResumableLeftover);
      const progress = { finished, jobs: counters.resumed, left: rest.length, leftJobs: rest.reduce((sum, l) => sum + l.size, 0) };
      throw new PlanResumeTooLongError(`source ${context.sourceName ?? 'Redis'}`, progress, (clock() - started) / 1000);
    }
    if (options.beforeLeftover && isResumableLeftover(leftover)) await options.beforeLeftover(leftover);
    try {
      // Routed as the run that claimed them routed what it wrote of the same batch (its ledger
      // skips those): not by this run's routing, which may differ (another command, another store).
      const plan = context.leftoverRouting ? await context.leftoverRouting(leftover.runId) : context.plan;
      const ledger = ledgerKey(context.targetKeys.prefix, leftover.runId, leftover.sourceKey);
      // The batch id the claiming run gave these entries: the ids its ledger knows them by.
      const batch = batchKey(context.sourceKeys.prefix, leftover.runId, leftover.sourceKey);
      if (isQueueLeftover(leftover)) {
        const queue = leftover.sourceKey.slice('queue:'.length);
        const [stored, held] = await readAdopting(context.source, batch, (t) => t.lrangeBuffer(inflight, 0, -1));
        refuseIfClaimedElsewhere(context, leftover, stored, held.length, here);
        const { id: batchId, base } = parseBatch(stored);
        const jobs = carryQueuedJobs(held, queue, plan, aj);
        tallyCarried(counters, jobs);
        // The claim (by an earlier attempt) and an adoption are on the source's replicas before
        // the copy is written, and the copy on the target's before the acknowledge (replicated-steps.ts).
        if (held.length > 0) await claimReplicated(context, leftover.sourceKey);
        // In-flight lists keep claim order, so the push that matches the claim keeps job order.
        // The copy still on the target (and its replicas) before the acknowledge (copy-kept.ts).
        const write = () => writeJobsToQueues(context.target, context.targetKeys, ledger, placement === 'front' ? 'RPUSH' : 'LPUSH', { id: batchId, first: base }, jobs, counters, targetLock);
        await copyKept(context, leftover.sourceKey, held.length, counters, write, () => queueCopyRecorded(context.target, ledger, batchId, base + held.length));
        counters.resumed += jobs.length;
        if (held.length > 0) {
          await acknowledgeQueueJobs(context.source, inflight, batch, batchId, base + held.length, inflightIndexKey(context.sourceKeys.prefix));
        }
      } else if (isSetLeftover(leftover)) {
        const set = leftover.sourceKey as SortedSetName;
        const [batchId, flat] = await readAdopting(context.source, batch, (t) => t.zrangeBuffer(inflight, 0, '-1', 'WITHSCORES'));
        refuseIfClaimedElsewhere(context, leftover, batchId, flat.length / 2, here);
        const held = [];
        for (let i = 0; i < flat.length; i += 2) held.push({ member: flat[i]!, score: flat[i + 1]!.toString('latin1') });
        const entries = ledgerScheduledEntries(held, batchId, plan, aj);
        tallyCarried(counters, entries);
        // As for a queue; copyAndAcknowledgeSet waits for the target's replicas.
        if (entries.length > 0) await claimReplicated(context, set);
        await copyAndAcknowledgeSet({ ...context, runId: leftover.runId, conflictsRunId: context.runId, targetLock }, set, batchId, entries, counters);
        counters.resumed += entries.length;
      } else {
        continue; // not a shape we write: left for an operator, and reported by the drain check
      }
      if (await settleLedger(context.source, context.target, inflight, ledger, ttl, targetLock.ledgers)) await forgetOtherRunsPass(context, leftover);
      finished++;
    } catch (error) {
      throw classifyRedisError(error, `Resuming ${displayName(leftover.key)}`);
    }
  }
  return counters;
}

/** How a resume is told more than its context. */
export interface ResumeOptions {
  /**
   * Called before each leftover it resumes, before anything of it is read or written; throws to stop
   * the resume there (the plan step: its run's lock is no longer its plan's, plan-step.ts).
   */
  readonly beforeLeftover?: (leftover: InflightLeftover) => Promise<void>;
  /** Every run's in-flight keys on the source, sorted by key, as the caller found them (the plan's walk: plan-walk.ts); a walk of the keyspace otherwise. */
  readonly leftovers?: readonly InflightLeftover[];
  /**
   * Epoch ms after which no further leftover is started (the first always is): the resume then
   * stops with PlanResumeTooLongError, saying what it finished and what is left. It runs inside
   * the plan task, which has its function's timeout. Default: none.
   */
  readonly until?: number;
  readonly clock?: () => number;
}

/**
 * Refuses a leftover whose batch, as read with its entries, was claimed for another target than
 * this run's: refuseLeftoversForOtherTargets looked before the loop, but the key may hold another batch by
 * the time it is read (a later start of the run, with another target, claimed into it while this
 * resume was paused).
 */
function refuseIfClaimedElsewhere(context: TransferContext, leftover: InflightLeftover, stored: string, size: number, here: string | null | undefined): void {
  const target = stored === '' ? null : batchTarget(stored);
  if (target === null || here === undefined || target === here) return;
  const batchText = displayName(`${context.sourceKeys.prefix}sidekiq-migrate:${leftover.runId}:batch:${leftover.sourceKey}`);
  refuseForeignLeftovers([{ batchKey: batchText, runId: leftover.runId, size, targetId: target }], here, context.targetName);
}

/**
 * Refuses, before anything is written, leftovers whose batch was claimed for another target than
 * this run's (target-identity.ts). A batch that names no target (adopted, or claimed by an older
 * version) cannot be checked and is resumed as before. Returns the target's id (null: not named
 * yet; undefined: nothing to resume, not read). Reads only (an MGET, and the target's id when the
 * context does not carry it): the plan step asks before it takes any lock or names the target, so
 * that a refused move leaves both servers as they were (plan-step.ts); the resume asks again.
 */
export async function refuseLeftoversForOtherTargets(context: LeftoverTargetContext, leftovers: readonly InflightLeftover[]): Promise<string | null | undefined> {
  const resumable = leftovers.filter((l) => isQueueLeftover(l) || isSetLeftover(l));
  if (resumable.length === 0) return undefined;
  const batchOf = (l: InflightLeftover) => batchKey(context.sourceKeys.prefix, l.runId, l.sourceKey);
  try {
    const stored = await context.source.mget(...resumable.map(batchOf));
    const here = context.targetId ?? (await readTargetId(context.target, context.targetKeys));
    const foreign: ForeignLeftover[] = [];
    resumable.forEach((l, i) => {
      const target = stored[i] ? batchTarget(stored[i]!) : null;
      const batchText = displayName(`${context.sourceKeys.prefix}sidekiq-migrate:${l.runId}:batch:${l.sourceKey}`);
      if (target !== null && target !== here) foreign.push({ batchKey: batchText, runId: l.runId, size: l.size, targetId: target });
    });
    refuseForeignLeftovers(foreign, here, context.targetName);
    return here;
  } catch (error) {
    throw classifyRedisError(error, 'Checking which target the jobs in flight were claimed for');
  }
}

/** What refuseLeftoversForOtherTargets reads: the two servers, and the target's id if already known. */
export type LeftoverTargetContext = Pick<TransferContext, 'source' | 'target' | 'sourceKeys' | 'targetKeys' | 'targetId' | 'targetName'>;

/** Whether a resume writes this leftover: one of the two shapes a claim leaves (others are left for an operator). */
export const isResumableLeftover = (l: InflightLeftover): boolean => isQueueLeftover(l) || isSetLeftover(l);

/** An in-flight list of a queue's jobs: the shape a queue's claim leaves. */
const isQueueLeftover = (l: InflightLeftover) => l.type === 'list' && l.sourceKey.startsWith('queue:');
/** An in-flight sorted set of a Sidekiq set's entries: the shape a set's claim leaves. */
const isSetLeftover = (l: InflightLeftover) => l.type === 'zset' && (SORTED_SET_NAMES as readonly string[]).includes(l.sourceKey);

/**
 * A dry run writes nothing, but says what a run would finish first: every leftover of a shape it
 * writes, counted as resumed (not as written: the ledger may know some of them already), so that
 * its summary never leaves them out.
 */
function countLeftovers(leftovers: readonly InflightLeftover[], counters: TransferCounters): TransferCounters {
  for (const leftover of leftovers) if (isQueueLeftover(leftover) || isSetLeftover(leftover)) counters.resumed += leftover.size;
  return counters;
}

/**
 * The batch id of a leftover and its entries (`read` reads the in-flight key). One without a batch
 * id is adopted into a new batch first (SET NX: a batch id stored meanwhile wins), because an
 * acknowledge removes only the entries of the batch it names: without one they would be written
 * by every resume and stay in flight for ever.
 */
async function readAdopting(source: Redis, batch: RedisKey, read: (transaction: ChainableCommander) => ChainableCommander): Promise<[string, Buffer[]]> {
  const first = await readBatch(read(source.multi().get(batch)));
  if (first[0] !== '' || first[1].length === 0) return first;
  await source.set(batch, newBatchId(), 'NX');
  return readBatch(read(source.multi().get(batch)));
}

/** The replies of `MULTI GET batch, <read in-flight key> EXEC`: the batch id ('' if none) and the entries. */
async function readBatch(transaction: ChainableCommander): Promise<[string, Buffer[]]> {
  const replies = await transaction.exec();
  if (replies === null) throw new Error('MULTI aborted'); // only after a WATCH, which we never send
  for (const [error] of replies) if (error) throw error;
  const [[, batchId], [, entries]] = replies as [[null, string | null], [null, Buffer[]]];
  return [batchId ?? '', entries];
}
