import type { Redis } from 'ioredis';
import type { RedisCommand } from '../redis/lua-script.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import type { RunSettings } from './work-item.js';
import type { Superseded } from './run-tally.js';

/**
 * What the last execution's summary did when it finished the run, kept for a retry of that very
 * summary. Step Functions retries a Summarize whose answer it never got (Lambda.ServiceException,
 * Lambda.SdkClientException, a timeout of the invoke) with the same input; by then the first
 * attempt may have released the lock and deleted the run's list. The retry found the lock gone
 * and said `releasedLock: false`; and with the list gone it took the queues the run had listed for
 * retired queues it had not, counting the jobs the run left there (unmapped, unparsable) as
 * arrivals. With this record the retry knows the finish was its own, and what it found then.
 *
 * `<prefix>sidekiq-migrate:<runId>:finished`, a string (JSON) written in the same round trip as
 * the finish, ahead of it (finishRun's `before`): it exists whenever the finish happened. Read only
 * by the summary of the same execution of the same start of the run (name, plannedAt, plannedBy);
 * expires an hour later (a Retry comes within minutes). Small: queue names and counts of the
 * retired queues where jobs arrived, no job.
 */
export const runFinishKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:finished`;

/** How long the record outlives the finish. */
export const RUN_FINISH_TTL_SECONDS = 3600;

export interface RunFinishRecord {
  readonly execution: string;
  readonly plannedAt: number | null;
  readonly plannedBy: string | null;
  /** Jobs on retired queues the run had no item for, and on its queues after their item ended (summarize-step.ts). */
  readonly idleArrivals: Record<string, number>;
  readonly lateArrivals: Record<string, number>;
  /** A transfer's entries added to its sets after their pass ended (absent in an older version's record). */
  readonly setArrivals?: Record<string, number>;
  /** Whether the finish released the source's lock: written once it did (absent: it was sent, its reply not known). */
  readonly released?: boolean;
}

/** The command that keeps the record, to send ahead of the finish. */
export function runFinishRecordCommand(prefix: string, settings: RunSettings, execution: string, arrivals: Pick<RunFinishRecord, 'idleArrivals' | 'lateArrivals' | 'setArrivals'>): RedisCommand {
  const record: RunFinishRecord = { execution, plannedAt: settings.plannedAt ?? null, plannedBy: settings.plannedBy ?? null, ...arrivals };
  return ['SET', runFinishKey(prefix, settings.runId), JSON.stringify(record), 'EX', RUN_FINISH_TTL_SECONDS];
}

/** The record of this execution's finish, when an earlier attempt of its summary finished the run; else undefined. */
export async function readRunFinishRecord(redis: Redis, prefix: string, settings: RunSettings, execution: string): Promise<RunFinishRecord | undefined> {
  const text = await redis.get(runFinishKey(prefix, settings.runId));
  if (text === null) return undefined;
  try {
    const record = JSON.parse(text) as RunFinishRecord;
    const same = record.execution === execution && record.plannedAt === (settings.plannedAt ?? null) && record.plannedBy === (settings.plannedBy ?? null);
    return same ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Adds what the finish answered to its record (best effort: a record without it reads as released, the lock gone). */
export async function recordRunFinishReply(redis: Redis, prefix: string, settings: RunSettings, execution: string, arrivals: Pick<RunFinishRecord, 'idleArrivals' | 'lateArrivals' | 'setArrivals'>, released: boolean): Promise<void> {
  const record: RunFinishRecord = { execution, plannedAt: settings.plannedAt ?? null, plannedBy: settings.plannedBy ?? null, ...arrivals, released };
  await redis.set(runFinishKey(prefix, settings.runId), JSON.stringify(record), 'EX', RUN_FINISH_TTL_SECONDS).catch(() => undefined);
}

/**
 * When a later start of the run (`start --resume`) finished it: that start's plannedAt (and its
 * execution's ARN, plannedBy, when the record names it), read from its last execution's record (kept RUN_FINISH_TTL_SECONDS); undefined when the record names this
 * start, an earlier one, none, or is gone. Later as the run lock judges it (lib/run-generation.lua
 * laterStart): a later plannedAt, or the same one from another execution (both named). How a
 * continuation of a superseded execution whose plan runs only once that start has ended the run
 * (its lock released: the lock no longer tells) still knows it was superseded, not that the run
 * lost its lock (plan-step.ts holdAndAdd).
 */
export async function laterStartThatFinished(redis: Redis, prefix: string, settings: Pick<RunSettings, 'runId' | 'plannedAt' | 'plannedBy'>): Promise<Superseded | undefined> {
  if (settings.plannedAt === undefined) return undefined;
  let text: string | null;
  try {
    text = await redis.get(runFinishKey(prefix, settings.runId));
  } catch (error) {
    throw classifyRedisError(error, `Reading run ${settings.runId}'s finish record`);
  }
  if (text === null) return undefined;
  let record: Partial<RunFinishRecord>;
  try {
    record = JSON.parse(text) as Partial<RunFinishRecord>;
  } catch {
    return undefined;
  }
  const at = record.plannedAt;
  if (typeof at !== 'number') return undefined;
  // That start's execution, named to the operator (`watch` it): the lock that named it is gone.
  const later: Superseded = { laterPlannedAt: at, ...(typeof record.plannedBy === 'string' && record.plannedBy !== '' ? { laterPlannedBy: record.plannedBy } : {}) };
  if (at > settings.plannedAt) return later;
  const other = typeof settings.plannedBy === 'string' && settings.plannedBy !== '' && typeof record.plannedBy === 'string' && record.plannedBy !== settings.plannedBy;
  return at === settings.plannedAt && other ? later : undefined;
}
