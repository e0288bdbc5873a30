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
   * The ended execution's plan may still be running (stopped or timed out: a Lambda goes on):
   * record its end under its own key (RunLock.endRun `recordEnd`), so that plan takes no lock.
   * Not for a failed execution (its plan ended) nor a local interrupt: they write nothing beyond
   * the stop itself, so that a refused run's clean-up still touches nothing.
   */
  readonly recordEnd?: boolean;
  /**
   * A transfer one of whose ends does not answer (the execution-ended clean-up, the state
   * machine's "Release the run lock after a failure"): the end that answers is still cleaned up,
   * then TargetNotReachedError or SourceNotReachedError names the one that was not, retryably.
   * Safe: a transfer's pages renew the run's lock on both ends every page, and a stop marker on
   * either end ends them at that renewal; what a lock on one end keeps out is what releasing both,
   * the other end answering, lets in at once. The unreached end's lock stays, so a run that needs
   * that end is still refused until a later clean-up reaches it or it expires. Default: both ends
   * or nothing.
   */
  readonly reachableEnds?: boolean;
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
  if (!options.reachableEnds || !settings.target) {
    const ends = await Promise.all([settings.source, ...(settings.target ? [settings.target] : [])].map((name) => connections.get(name)));
    return stopOn(ends, settings, options);
  }
  const roles = [
    { role: 'source', name: settings.source },
    { role: 'target', name: settings.target },
  ] as const;
  const reached: { role: EndRole; c: Connection }[] = [];
  const unreached: { role: EndRole; name: string; how: 'connect' | 'reply'; error: RedisUnavailableError }[] = [];
  for (const { role, name } of roles) {
    try {
      reached.push({ role, c: await connections.get(name) });
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      unreached.push({ role, name, how: 'connect', error });
    }
  }
  // Neither end answers: nothing was done, the first end's error says why.
  if (reached.length === 0) throw unreached[0]!.error;
  const sourceReached = reached[0]!.role === 'source';
  if (options.onlyIfStarted && !(await startedOn(settings.runId, reached.map((r) => r.c), sourceReached))) {
    if (unreached.length === 0) return NOTHING_DONE;
    // Not started on the end that answers: the other may still hold the run (nothing is known of it).
    throw unreached[0]!.error;
  }
  const done: { role: EndRole; name: string; result: StopRunResult }[] = [];
  for (const { role, c } of reached) {
    try {
      done.push({ role, name: c.name, result: await stopOn([c], settings, { ...options, onlyIfStarted: false }) });
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      unreached.push({ role, name: c.name, how: 'reply', error });
    }
  }
  const result = combine(done.map((d) => d.result));
  if (unreached.length === 0) return result;
  const [missed] = unreached;
  // Neither end done: nothing is known to have been done, the first error says why.
  if (done.length === 0) throw missed!.error;
  const [did] = done;
  throw missed!.role === 'target' ? new TargetNotReachedError(settings, did!, missed!.how, missed!.error) : new SourceNotReachedError(settings, did!, missed!.how, missed!.error);
}

type EndRole = 'source' | 'target';

function combine(results: readonly StopRunResult[]): StopRunResult {
  return { marked: results.some((r) => r.marked), released: results.some((r) => r.released), superseded: results.some((r) => r.superseded) };
}

const NOTHING_DONE: StopRunResult = { marked: false, released: false, superseded: false };

/** Ends the run on `ends` (the source first). */
async function stopOn(ends: readonly Connection[], settings: Pick<RunSettings, 'runId' | 'plannedAt' | 'plannedBy'>, options: StopRunOptions): Promise<StopRunResult> {
  if (options.onlyIfStarted && !(await startedOn(settings.runId, ends, true))) return NOTHING_DONE;
  const mark = options.mark ?? true;
  const outcomes: EndRunOutcome[] = [];
  // An execution superseded by a later start of the run (the lock names another plan, or a later plannedAt) leaves it alone.
  for (const c of ends) outcomes.push(await RunLock.endRun(c.redis, c.keys.prefix, settings.runId, { ...options, mark, ...generationOf(settings) }));
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
 * A transfer's clean-up that did one end's part and not the other's (reachableEnds): retryable
 * (the event's retry, or the state's, does the missed end's part then, and the done one's again,
 * harmlessly). Its message says what was done on the end that answered, and what stays on the
 * other until when.
 */
export abstract class EndNotReachedError extends RedisUnavailableError {
  constructor(
    settings: Pick<RunSettings, 'runId'>,
    readonly done: { readonly role: EndRole; readonly name: string; readonly result: StopRunResult },
    readonly missed: EndRole,
    how: 'connect' | 'reply',
    cause: RedisUnavailableError,
  ) {
    const minutes = RUN_LOCK_TTL_MS / 60_000;
    const onMissed =
      how === 'connect'
        ? `On the ${missed} nothing was done: its run lock stays`
        : `On the ${missed} the call that ends the run got no reply (it may or may not have run there): unless it did, the ${missed}'s run lock stays`;
    super(
      `${cause.message}\nThe run ${settings.runId} is ${endPart(done.result, done.role, done.name)}. ${onMissed} until a later clean-up of the run reaches it, or until it expires, ${minutes} minutes after the run last renewed it (a page still running renews it once more at most, at the end of its page in progress); until then a run that needs the ${missed} is refused as locked.`,
      { cause },
    );
  }
}

/** The target was not reached; the source was cleaned up. */
export class TargetNotReachedError extends EndNotReachedError {
  constructor(settings: Pick<RunSettings, 'runId'>, done: EndNotReachedError['done'], how: 'connect' | 'reply', cause: RedisUnavailableError) {
    super(settings, done, 'target', how, cause);
  }
}

/** The source was not reached; the target was cleaned up. */
export class SourceNotReachedError extends EndNotReachedError {
  constructor(settings: Pick<RunSettings, 'runId'>, done: EndNotReachedError['done'], how: 'connect' | 'reply', cause: RedisUnavailableError) {
    super(settings, done, 'source', how, cause);
  }
}

function endPart(r: StopRunResult, role: EndRole, name: string): string {
  if (r.superseded && !r.released) return `left alone on the ${role} ${name}: the run was started again since, and its new execution holds the lock there`;
  if (!r.marked && !r.released) return `not found on the ${role} ${name} (it never took its lock there): nothing to do there`;
  return `stopped on the ${role} ${name} (stop marker set, ${r.released ? 'run lock released' : 'no run lock of this run held there'}): its pages still running end at their next page`;
}

/**
 * Whether the run got past taking its lock: it holds one on either end (a plan in progress, or
 * pages), or its executions are recorded on the source (ends[0] when `sourceAmong`; written once it
 * has planned, gone when its last execution summarized). A plan that failed released its locks and
 * deleted them.
 */
async function startedOn(runId: string, ends: readonly Connection[], sourceAmong: boolean): Promise<boolean> {
  const [source] = ends;
  if (sourceAmong && (await source!.redis.exists(runExecutionsKey(source!.keys.prefix, runId))) === 1) return true;
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
  // An end that does not answer keeps the other's release from nothing (EndNotReachedError, retried).
  const result = await stopRunStep(input.settings, connections, { reason: 'FAILED', reachableEnds: true });
  return { released: result.released };
}
