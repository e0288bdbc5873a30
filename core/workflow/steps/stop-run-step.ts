import { RunLock, type EndRunOutcome } from '../../redis/run-lock.js';
import type { Connection, ConnectionProvider } from '../connections.js';
import { runExecutionsKey } from '../run-executions.js';
import { generationOf } from '../run-generation.js';
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
  if (settings.dryRun) return { marked: false, released: false, superseded: false };
  const ends = await Promise.all([settings.source, ...(settings.target ? [settings.target] : [])].map((name) => connections.get(name)));
  if (options.onlyIfStarted && !(await startedOn(settings.runId, ends))) return { marked: false, released: false, superseded: false };
  const mark = options.mark ?? true;
  const outcomes: EndRunOutcome[] = [];
  for (const c of ends) {
    // An execution superseded by a later start of the run (the lock names another plan, or a later plannedAt) leaves it alone.
    outcomes.push(await RunLock.endRun(c.redis, c.keys.prefix, settings.runId, { ...options, mark, ...generationOf(settings) }));
  }
  return {
    marked: mark && outcomes.some((o) => o !== 'superseded'),
    released: outcomes.includes('released'),
    superseded: outcomes.includes('superseded'),
  };
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
