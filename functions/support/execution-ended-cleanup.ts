import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { stopRunStep, type StopRunResult } from '../../core/workflow/steps/stop-run-step.js';
import { runLockKey, type LockHolder } from '../../core/redis/run-lock.js';
import type { EndedRun, ExecutionEnded } from './task-inputs.js';

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
export async function cleanUpEndedExecution(event: ExecutionEnded, connections: ConnectionProvider, connectionNames: readonly string[] = []): Promise<ExecutionEndedCleanUp> {
  const { status } = event;
  const found = 'unknown' in event.run && event.run.withoutInput ? await runPlannedBy(event.executionArn, connections, connectionNames) : undefined;
  const run = found ?? event.run;
  if ('unknown' in run) return { output: { status, action: 'none', reason: run.unknown }, level: 'warn', message: `execution ${status}: its run is not known, nothing to clean up` };
  if (run.dryRun) return { output: { status, action: 'none', reason: 'dry run' }, level: 'info', message: `execution ${status}: a dry run takes no lock, nothing to clean up` };
  // A target that does not answer keeps the source's clean-up from nothing (TargetNotReachedError).
  const result = await stopRunStep(run, connections, { reason: status, onlyIfStarted: true, sourceWithoutTarget: true, ...(event.endedAt !== undefined ? { endedAt: event.endedAt } : {}) });
  const how = found ? '; its run found by the lock, which its plan took (the event carries no input)' : '';
  return { output: { status, action: 'stop', ...result }, level: 'info', message: `execution ${status}: ${describe(result)}${how}`, runId: run.runId };
}

/**
 * The run whose lock the plan of `executionArn` took (the lock's `plannedBy`), on the connections
 * the deployment configures: how a root execution whose event came without its input (over
 * EventBridge's size limit; a large routing) is still cleaned up. Its ends are the connections
 * whose lock names it, in their configured order (the source first). Undefined when none does (a
 * continuation, whose ARN no lock names; a lock of an older version; another run's).
 */
async function runPlannedBy(executionArn: string, connections: ConnectionProvider, names: readonly string[]): Promise<EndedRun | undefined> {
  const ends: { name: string; holder: LockHolder }[] = [];
  for (const name of names) {
    const c = await connections.get(name);
    const holder = parseHolder(await c.redis.get(runLockKey(c.keys.prefix)));
    if (holder?.plannedBy === executionArn) ends.push({ name, holder });
  }
  const [source, target] = ends;
  if (!source || (target && target.holder.runId !== source.holder.runId)) return undefined;
  return { runId: source.holder.runId, mode: source.holder.operation, source: source.name, ...(target ? { target: target.name } : {}), dryRun: false, plannedBy: executionArn };
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
  return `run stopped (stop marker set, ${lock})`;
}
