import { RedisUnavailableError } from '../../redis/redis-errors.js';
import { RunLock, type EndRunOutcome } from '../../redis/run-lock.js';
import type { Connection, ConnectionProvider } from '../connections.js';
import { runExecutionsKey } from '../run-executions.js';
import { generationOf } from '../run-generation.js';
import { RUN_LOCK_TTL_MS } from './plan-step.js';
import type { RunSettings } from '../work-item.js';

export interface StopRunOptions {
  /**
   * Set the run's stop marker (default true): an execution that was stopped, timed out or failed
   * may leave Lambdas running that must move nothing more. False: release only.
   */
  readonly mark?: boolean;
  /**
   * When the ended execution ended (epoch ms): if the run was started again after that, the new
   * execution holds the lock and nothing is done. Unknown: always clean up.
   */
  readonly endedAt?: number;
  /** Why, kept in the marker for an operator (e.g. "ABORTED"). */
  readonly reason?: string;
  /**
   * Only where the run got past taking its lock (the clean-up after an execution's end, which may
   * be a plan that refused its input or met another run's lock): a run that holds no lock of its
   * own and has no executions recorded on its source never started a page, nothing of it runs,
   * and nothing is written (bad input touches nothing).
   */
  readonly onlyIfStarted?: boolean;
  /**
   * A transfer whose target does not answer (the execution-ended clean-up): its source is still
   * cleaned up, then TargetNotReachedError says so. Safe: the source's stop marker ends the run's
   * pages at their next renewal, and what its lock there keeps out is what releasing both locks,
   * the target answering, lets in at once; the target's lock stays, so a run that needs the target
   * is still refused until a later clean-up reaches it or it expires. Default: both ends or nothing.
   */
  readonly sourceWithoutTarget?: boolean;
}

export interface StopRunResult {
  /** The stop marker was set (on every Redis of the run where nothing newer holds the lock). */
  readonly marked: boolean;
  /** This run's lock was released on at least one Redis. */
  readonly released: boolean;
  /** A newer execution of the run holds the lock (on at least one Redis): left alone there. */
  readonly superseded: boolean;
}

/**
 * "Stop the run": what StopExecution cannot do, since it ends the state machine without running
 * its clean-up states. Sets the run's stop marker on the source (and target), so that a page
 * step still running ends after its page, and releases the run lock where this run holds it.
 * A dry run takes no lock and writes nothing: nothing to do. Starting the run again with the
 * same run id resumes it (its plan step clears the marker).
 */
export async function stopRunStep(
  settings: Pick<RunSettings, 'runId' | 'source' | 'target' | 'dryRun' | 'plannedAt' | 'plannedBy'>,
  connections: ConnectionProvider,
  options: StopRunOptions = {},
): Promise<StopRunResult> {
  if (settings.dryRun) return NOTHING_DONE;
  if (!options.sourceWithoutTarget || !settings.target) {
    const ends = await Promise.all([settings.source, ...(settings.target ? [settings.target] : [])].map((name) => connections.get(name)));
    return stopOn(ends, settings, options);
  }
  const source = await connections.get(settings.source);
  let target: Connection;
  try {
    target = await connections.get(settings.target);
  } catch (error) {
    if (!(error instanceof RedisUnavailableError)) throw error;
    throw new TargetNotReachedError(settings, source, await stopOn([source], settings, options), 'connect', error);
  }
  return stopOn([source, target], settings, options, (onSource, error) => new TargetNotReachedError(settings, source, onSource, 'reply', error));
}

const NOTHING_DONE: StopRunResult = { marked: false, released: false, superseded: false };

/**
 * Ends the run on `ends` (the source first). `targetFailed`: a target that stops answering after
 * the source was done fails as it says, with the source's outcome.
 */
async function stopOn(
  ends: readonly Connection[],
  settings: Pick<RunSettings, 'runId' | 'plannedAt' | 'plannedBy'>,
  options: StopRunOptions,
  targetFailed?: (onSource: StopRunResult, error: RedisUnavailableError) => Error,
): Promise<StopRunResult> {
  if (options.onlyIfStarted && !(await startedOn(settings.runId, ends))) return NOTHING_DONE;
  const mark = options.mark ?? true;
  const outcomes: EndRunOutcome[] = [];
  for (const c of ends) {
    // An execution superseded by a later start of the run (the lock names another plan, or a later plannedAt) leaves it alone.
    try {
      outcomes.push(await RunLock.endRun(c.redis, c.keys.prefix, settings.runId, { ...options, mark, ...generationOf(settings) }));
    } catch (error) {
      if (!targetFailed || outcomes.length === 0 || !(error instanceof RedisUnavailableError)) throw error;
      throw targetFailed(resultOf(outcomes, mark), error);
    }
  }
  return resultOf(outcomes, mark);
}

function resultOf(outcomes: readonly EndRunOutcome[], mark: boolean): StopRunResult {
  return {
    marked: mark && outcomes.some((o) => o !== 'superseded'),
    released: outcomes.includes('released'),
    superseded: outcomes.includes('superseded'),
  };
}

/**
 * A transfer's clean-up that did its source's part and not its target's (sourceWithoutTarget):
 * retryable (the event's retry does the target's part then, and the source's again, harmlessly).
 * Its message says what was done on the source, and what stays on the target until when.
 */
export class TargetNotReachedError extends RedisUnavailableError {
  constructor(
    settings: Pick<RunSettings, 'runId'>,
    source: Connection,
    readonly onSource: StopRunResult,
    how: 'connect' | 'reply',
    cause: RedisUnavailableError,
  ) {
    const minutes = RUN_LOCK_TTL_MS / 60_000;
    const onTarget =
      how === 'connect'
        ? 'On the target nothing was done: its run lock stays'
        : "On the target the call that ends the run got no reply (it may or may not have run there): unless it did, the target's run lock stays";
    super(
      `${cause.message}\nThe run ${settings.runId} is ${sourcePart(onSource, source.name)}. ${onTarget} until a later clean-up of the run reaches it, or until it expires, ${minutes} minutes after the run last renewed it (a page still running renews it once more at most, at the end of its page in progress); until then a run that needs the target is refused as locked.`,
      { cause },
    );
  }
}

function sourcePart(r: StopRunResult, name: string): string {
  if (r.superseded && !r.released) return `left alone on the source ${name}: the run was started again since, and its new execution holds the lock there`;
  if (!r.marked && !r.released) return `not found on the source ${name} (it never took its lock there): nothing to do there`;
  return `stopped on the source ${name} (stop marker set, ${r.released ? 'run lock released' : 'no run lock of this run held there'}): its pages still running end at their next page`;
}

/**
 * Whether the run got past taking its lock: it holds one on either end (a plan in progress, or
 * pages), or its executions are recorded on the source (ends[0]; written once it has planned, gone
 * when its last execution summarized). A plan that failed released its locks and deleted them.
 */
async function startedOn(runId: string, ends: readonly Connection[]): Promise<boolean> {
  const [source] = ends;
  if ((await source!.redis.exists(runExecutionsKey(source!.keys.prefix, runId))) === 1) return true;
  for (const c of ends) if (await RunLock.namesRun(c.redis, c.keys.prefix, runId)) return true;
  return false;
}

/**
 * "Release the run lock after a failure": the execution failed, but its page Lambdas may still be
 * running (a Distributed Map that fails stops its child executions, not an invocation in progress,
 * which pages on to its deadline). Released only, the lock would be taken again at their next
 * renewal and held for its whole time to live; so the run is stopped as `stop` stops it. Running
 * it again under the same run id resumes it (its plan step clears the marker).
 */
export async function releaseAfterFailureStep(input: { readonly settings: RunSettings }, connections: ConnectionProvider): Promise<{ released: boolean }> {
  const result = await stopRunStep(input.settings, connections, { reason: 'FAILED' });
  return { released: result.released };
}
