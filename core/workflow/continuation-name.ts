import { createHash } from 'node:crypto';
import type { RunSettings } from './work-item.js';

/** The longest execution name StartExecution takes. */
export const MAX_EXECUTION_NAME_LENGTH = 80;

/** Characters of the run id kept in the name, for a reader of the console; the digest is what makes it unique. */
const RUN_ID_CHARS = 40;

/**
 * The execution name under which a continuation is started (the state machine passes it to
 * StartExecution as `Name`): the same for every attempt at starting one continuation, and
 * different for every other, so that a StartExecution retried after an error whose answer may
 * have been lost (it started the execution) cannot start a second one. Step Functions treats a
 * StartExecution with the name and input of an open execution as idempotent: it answers with that
 * execution and starts nothing; another input, or the name of an execution that has ended, fails
 * with ExecutionAlreadyExists (and a name is taken for 90 days).
 *
 * Derived from the run, its start (`plannedAt`/`plannedBy`, or a dry run's `planId`: a later start
 * of the same run, `start --resume`, names its continuations afresh) and the continuation's place in
 * the run (`place`: run-executions.ts itemContinuationName / listContinuationName, which tells one
 * continuation of an item from the next by the execution it continues). At most 80 characters,
 * letters, digits, `-` and `_` only: `<run id, `.` as `_`, 40 at most>-<i|l>-<32 hex digits of SHA-256>`.
 */
export function continuationExecutionName(settings: Pick<RunSettings, 'runId' | 'plannedAt' | 'plannedBy' | 'planId'>, kind: 'item' | 'list', place: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([settings.runId, settings.plannedAt ?? null, settings.plannedBy ?? null, settings.planId ?? null, place]))
    .digest('hex')
    .slice(0, 32);
  return `${continuationNamePrefix(settings.runId)}-${kind === 'item' ? 'i' : 'l'}-${digest}`;
}

/** The run's part of its continuations' names: the run id, `.` as `_`, 40 characters at most (not unique to the run). */
export function continuationNamePrefix(runId: string): string {
  return runId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, RUN_ID_CHARS);
}
