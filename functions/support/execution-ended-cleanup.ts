import { classifyRedisError, RedisUnavailableError } from '../../core/redis/redis-errors.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { stopRunStep, type StopRunResult } from '../../core/workflow/steps/stop-run-step.js';
import { runLockKey, type LockHolder } from '../../core/redis/run-lock.js';
import { readEndedRun, type EndedRun, type ExecutionEnded } from './task-inputs.js';

export type ExecutionEndedOutput = { readonly status: ExecutionEnded['status']; readonly action: 'none'; readonly reason: string } | ({ readonly status: ExecutionEnded['status']; readonly action: 'stop' } & StopRunResult);

/** What the clean-up did, and the one line that says so (the Lambda logs it at `level`). */
export interface ExecutionEndedCleanUp {
  readonly output: ExecutionEndedOutput;
  readonly level: 'info' | 'warn';
  readonly message: string;
  /** The run cleaned up, when known (from the lock, when the event carried no input). */
  readonly runId?: string;
}

/**
 * The clean-up after an execution that did not succeed (the execution-ended function's, which the
 * local runner runs too): StopExecution (or a timeout) ends an execution without its "Release the
 * run lock" state, and a page Lambda already running would go on; a failure no Catch takes skips
 * it as well. ABORTED, TIMED_OUT and FAILED set the run's stop marker and release its lock
 * (stopRunStep), unless the run never took it or another execution's plan holds it now. A dry run
 * took no lock: nothing to do.
 */
export async function cleanUpEndedExecution(
  event: ExecutionEnded,
  connections: ConnectionProvider,
  connectionNames: readonly string[] = [],
  options: { readonly describeInput?: (executionArn: string) => Promise<string> } = {},
): Promise<ExecutionEndedCleanUp> {
  const { status } = event;
  const withoutInput = 'unknown' in event.run && event.run.withoutInput === true;
  // Without its input (over EventBridge's size limit): the input from DescribeExecution, or else the run by its lock.
  const described = withoutInput && options.describeInput ? await describedRun(event.executionArn, options.describeInput) : undefined;
  const found = withoutInput && !described ? await runPlannedBy(event.executionArn, connections, connectionNames) : undefined;
  const run = described?.run ?? found ?? event.run;
  if ('unknown' in run) return { output: { status, action: 'none', reason: run.unknown }, level: 'warn', message: `execution ${status}: its run is not known, nothing to clean up` };
  if (run.dryRun) return { output: { status, action: 'none', reason: 'dry run' }, level: 'info', message: `execution ${status}: a dry run takes no lock, nothing to clean up` };
  // An end that does not answer keeps the other end's clean-up from nothing (EndNotReachedError).
  // Stopped or timed out, its plan may still be running (a Lambda goes on), not yet holding the
  // lock: the run is stopped even so, the execution's end recorded (its own key, beside the marker;
  // also when a later start of the run holds the lock), and its late plan then takes no lock, even
  // after another end of the run (acquireRunLock-5.lua). A failed execution's plan has ended (no state sets a timeout).
  const planMayRun = status !== 'FAILED' && run.plannedBy !== undefined;
  const result = await stopRunStep(run, connections, { reason: status, onlyIfStarted: !planMayRun, recordEnd: planMayRun, reachableEnds: true, ...(event.endedAt !== undefined ? { endedAt: event.endedAt } : {}) });
  // Found by its lock on the connections that answered: the others may hold it too (retried).
  if (found?.unread) throw new ConnectionsNotReadError(event.executionArn, found.unread.unread, `On ${[run.source, ...(run.target ? [run.target] : [])].map((n) => `"${n}"`).join(' and ')}, where its lock named it: ${describe(result)}.`);
  const how = found ? '; its run found by the lock, which its plan took (the event carries no input)' : described ? '; its input read by DescribeExecution (the event carries none)' : '';
  return { output: { status, action: 'stop', ...result }, level: 'info', message: `execution ${status}: ${describe(result)}${how}`, runId: run.runId };
}

/**
 * The run of an execution whose event came without its input, from the input DescribeExecution
 * gives (whole: a root's or a continuation's, read as the event's would be). Undefined when the
 * API does not answer (no route from the VPC, no permission): the lock is looked at then.
 */
async function describedRun(executionArn: string, describeInput: (executionArn: string) => Promise<string>): Promise<{ run: EndedRun | { unknown: string } } | undefined> {
  try {
    return { run: readEndedRun(await describeInput(executionArn), executionArn) };
  } catch {
    return undefined;
  }
}

/**
 * The run whose lock the plan of `executionArn` took (the lock's `plannedBy`), on the connections
 * the deployment configures: how a root execution whose event came without its input (over
 * EventBridge's size limit; a large routing), and whose input DescribeExecution did not give, is
 * still cleaned up. Its ends are the connections whose lock names it, in their configured order
 * (the source first). Undefined when none does (a continuation, whose ARN no lock names; a lock of
 * an older version; another run's). A connection that does not answer is left out, and the run is
 * cleaned up where it was found; then ConnectionsNotReadError names it (retryable): the run may
 * hold its lock there too. When the run was found nowhere, that error alone.
 */
async function runPlannedBy(executionArn: string, connections: ConnectionProvider, names: readonly string[]): Promise<(EndedRun & { readonly unread?: ConnectionsNotReadError }) | undefined> {
  const ends: { name: string; holder: LockHolder }[] = [];
  const unread: { name: string; error: RedisUnavailableError }[] = [];
  for (const name of names) {
    try {
      const c = await connections.get(name);
      const record = await c.redis.get(runLockKey(c.keys.prefix)).catch((error: unknown) => {
        throw classifyRedisError(error, `Reading the run lock on ${c.name}`);
      });
      const holder = parseHolder(record);
      if (holder?.plannedBy === executionArn) ends.push({ name, holder });
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      unread.push({ name, error });
    }
  }
  const notRead = unread.length > 0 ? new ConnectionsNotReadError(executionArn, unread) : undefined;
  const [source, target] = ends;
  if (!source) {
    if (notRead) throw notRead;
    return undefined;
  }
  if (target && target.holder.runId !== source.holder.runId) return undefined;
  return { runId: source.holder.runId, mode: source.holder.operation, source: source.name, ...(target ? { target: target.name } : {}), dryRun: false, plannedBy: executionArn, ...(notRead ? { unread: notRead } : {}) };
}

/**
 * An execution ended without its input in the event, DescribeExecution did not give it, and the
 * run locks of some configured connections could not be read: the run may hold its lock there.
 * Retryable (the event's retry looks again); what was done elsewhere is said by the clean-up's
 * log line before it.
 */
export class ConnectionsNotReadError extends RedisUnavailableError {
  constructor(
    executionArn: string,
    readonly unread: readonly { name: string; error: RedisUnavailableError }[],
    done?: string,
  ) {
    super(
      `The execution ${executionArn} ended without its input in the event, and DescribeExecution did not give it; the run lock on ${unread.map((u) => `connection "${u.name}" (${u.error.message})`).join(' and ')} could not be read: a run of that execution may still hold its lock there until a later clean-up reaches it, or until it expires.${done ? ` ${done}` : ''}`,
      { cause: unread[0]!.error },
    );
  }
}

function parseHolder(record: string | null): LockHolder | undefined {
  if (record === null) return undefined;
  try {
    const holder = JSON.parse(record) as Partial<LockHolder>;
    return typeof holder.runId === 'string' && (holder.operation === 'reroute' || holder.operation === 'transfer') ? (holder as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

function describe(result: StopRunResult): string {
  if (!result.marked && !result.released && !result.superseded) return 'the run never took its lock (its plan refused it, or met another run): nothing to clean up';
  if (result.superseded && !result.released) return 'the run was started again since: left to its new execution';
  const lock = result.released ? 'run lock released' : 'no run lock of this run held';
  return `run stopped (stop marker set, ${lock}${result.released ? '' : '; a plan of this execution still running takes no lock'})`;
}
