import type { ChainableCommander, Redis, RedisKey } from 'ioredis';
import { copyReplicated, targetSocket } from './replicated-steps.js';
import { TargetLostDataError } from './target-identity.js';
import type { TransferContext } from './transfer-options.js';
import type { TransferCounters } from './transfer-counters.js';

/**
 * Why the source acknowledges a slice only once the target shows, after the copy, that the copy
 * is still there:
 *
 * The copy's reply says the jobs were written then. A target without replicas (no WAIT,
 * replica-wait.ts) that restarts without persistence, is flushed, or reloads an older snapshot
 * after that reply and before the acknowledge has lost the only copy, and the acknowledge would
 * then delete the jobs from the source's in-flight key: gone everywhere. So, after the copy (and
 * its WAIT, when the target has replicas), one read on the target per slice, never per job, asks
 * whether the batch's copy is still recorded in the run's ledger, which the copy script writes
 * in the same atomic call as the jobs (copyJobsToLists-n4.lua, copyEntriesToSet-6.lua): a ledger
 * that has it was not lost or rolled back past it, since a dataset loses or keeps a script's
 * writes whole, and in order (a snapshot or an append-only file is a prefix of the writes).
 * When it is not there, the slice, still held in flight on the source (nothing acknowledged it),
 * is written again through the same ledger (it writes whatever the target lacks), read again,
 * and only then acknowledged; the counters say how many jobs were written again (`recopied`), and
 * the run's summary says the target lost data (never "Complete"). Lost a second time: nothing is
 * acknowledged, the slice stays in flight, and the step fails (TargetLostDataError).
 *
 * What no read can close: the target losing its data after this read and before the acknowledge
 * runs on the source (about one round trip to the source), or at any time after it. That is the
 * loss of data acknowledged as written, as a non-persistent server loses any data; the run says
 * it when it sees it (the target's id, target-identity.ts: every page and the summary look).
 */
export type CopyRecorded = () => Promise<boolean>;

/**
 * Whether the target's ledger (KEYS of copyJobsToLists-n4.lua) still records a queue batch written
 * up to position `upTo` (the batch's base plus the jobs read): its number for the batch is at
 * least that. An older version's ledger of ids (a set, ledger-id.ts listEntryIds) records the last
 * of those jobs as `<batch>:<upTo - 1>`. One command, one round trip.
 */
export function queueCopyRecorded(target: Redis, ledger: RedisKey, batch: string, upTo: number): CopyRecorded {
  return async () => {
    const [written] = await readAlone(target, (p) => p.hget(ledger, batch));
    if (!(written instanceof Error)) return Number(written ?? 0) >= upTo;
    if (!/^WRONGTYPE/.test(written.message)) throw written;
    const [member] = await readAlone(target, (p) => p.sismember(ledger, `${batch}:${upTo - 1}`));
    if (member instanceof Error) throw member;
    return member === 1;
  };
}

/**
 * Whether the target's set ledger (copyEntriesToSet-6.lua) still records the slice's entries that
 * were not conflicts (`ids`, in the order they were written). When the write found none of them
 * already recorded (`duplicates` 0), every one was written by it, in order, so the last one's id
 * answers for all (a dataset keeps a prefix of the writes): one SISMEMBER. Otherwise (a retried
 * or resumed batch), every id: one SMISMEMBER. None: nothing to ask.
 */
export function setCopyRecorded(target: Redis, ledger: RedisKey, ids: readonly string[], duplicates: number): CopyRecorded {
  return async () => {
    if (ids.length === 0) return true;
    const [found] = await readAlone(target, (p) => (duplicates === 0 ? p.sismember(ledger, ids.at(-1)!) : p.smismember(ledger, ...ids)));
    if (found instanceof Error) throw found;
    return Array.isArray(found) ? found.every((f) => f === 1) : found === 1;
  };
}

/**
 * One read in a pipeline of its own, so that it shows as a round trip of its own where a test
 * records a slice's pipelines (test/support/recording-redis.ts). Its reply, or the error it met.
 */
async function readAlone(target: Redis, command: (pipeline: ChainableCommander) => ChainableCommander): Promise<[unknown]> {
  const replies = await command(target.pipeline()).exec();
  if (replies === null) throw new Error('pipeline aborted'); // only after a WATCH, which is never sent
  const [[error, reply]] = replies as [[Error | null, unknown]];
  return [error ?? reply];
}

/** The counters a write adds to, as they were before it (restored before writing again). */
function countersBefore(counters: TransferCounters): () => void {
  const { written, duplicates, conflicts } = counters;
  const writtenTo = { ...counters.writtenTo };
  const samples = counters.conflictSamples.length;
  return () => {
    Object.assign(counters, { written, duplicates, conflicts, writtenTo });
    counters.conflictSamples.splice(samples);
  };
}

/**
 * Writes a slice with `write` (which counts into `counters`), waits for the target's replicas,
 * and returns once the target still records the copy (see CopyRecorded): written again, once,
 * when it does not. `recorded(reply)` builds the read from what the write returned. The counters
 * say what the last write did, and `recopied` the `jobs` written again. Throws
 * TargetLostDataError, nothing acknowledged, when the copy is lost again.
 */
export async function copyKept<T>(
  context: Pick<TransferContext, 'source' | 'target' | 'sourceName' | 'targetName' | 'plannedReplicas' | 'askedReplicas' | 'replicationFences' | 'writtenElsewhere'>,
  sourceKey: string,
  jobs: number,
  counters: TransferCounters,
  write: () => Promise<T>,
  recorded: (reply: T, duplicates: number) => CopyRecorded,
): Promise<T> {
  const restore = countersBefore(counters);
  const duplicatesBefore = counters.duplicates;
  // A write that wrote no job (a retried slice: the ledger had them all) is no write for WAIT to
  // wait for on Redis 7.2 and later: its WAIT covers a fence (replica-wait.ts `wroteNothing`).
  let writtenBefore = counters.written;
  let wroteOn = targetSocket(context);
  let reply = await write();
  if (jobs === 0) return reply;
  await copyReplicated(context, sourceKey, wroteOn, counters.written === writtenBefore);
  if (await recorded(reply, counters.duplicates - duplicatesBefore)()) return reply;
  // Lost after the copy answered: still in flight on the source, written again.
  restore();
  writtenBefore = counters.written;
  wroteOn = targetSocket(context);
  reply = await write();
  await copyReplicated(context, sourceKey, wroteOn, counters.written === writtenBefore);
  if (!(await recorded(reply, counters.duplicates - duplicatesBefore)())) {
    throw new TargetLostDataError(
      `The target ${context.targetName ?? ''} lost the copy of ${jobs} job(s) of ${sourceKey} twice before the source acknowledged them (restarted empty, flushed or failed over); they stay in flight on the source, nothing acknowledged. Run the same command again once the target keeps its data.`.replace('target  ', 'target '),
    );
  }
  counters.recopied = (counters.recopied ?? 0) + jobs;
  return reply;
}
