import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { stopRunStep, type StopRunResult } from '../../core/workflow/steps/stop-run-step.js';
import type { ExecutionEnded } from './task-inputs.js';

export type ExecutionEndedOutput = { readonly status: ExecutionEnded['status']; readonly action: 'none'; readonly reason: string } | ({ readonly status: ExecutionEnded['status']; readonly action: 'stop' } & StopRunResult);

/** What the clean-up did, and the one line that says so (the Lambda logs it at `level`). */
export interface ExecutionEndedCleanUp {
  readonly output: ExecutionEndedOutput;
  readonly level: 'info' | 'warn';
  readonly message: string;
}

/**
 * The clean-up after an execution that did not succeed (the execution-ended function's, which the
 * local runner runs too): StopExecution (or a timeout) ends an execution without its "Release the
 * run lock" state, and a page Lambda already running would go on; a failure no Catch takes skips
 * it as well. ABORTED, TIMED_OUT and FAILED set the run's stop marker and release its lock
 * (stopRunStep), unless the run never took it or another execution's plan holds it now. A dry run
 * took no lock: nothing to do.
 */
export async function cleanUpEndedExecution(event: ExecutionEnded, connections: ConnectionProvider): Promise<ExecutionEndedCleanUp> {
  const { status, run } = event;
  if ('unknown' in run) return { output: { status, action: 'none', reason: run.unknown }, level: 'warn', message: `execution ${status}: its run is not known, nothing to clean up` };
  if (run.dryRun) return { output: { status, action: 'none', reason: 'dry run' }, level: 'info', message: `execution ${status}: a dry run takes no lock, nothing to clean up` };
  const result = await stopRunStep(run, connections, { reason: status, onlyIfStarted: true, ...(event.endedAt !== undefined ? { endedAt: event.endedAt } : {}) });
  return { output: { status, action: 'stop', ...result }, level: 'info', message: `execution ${status}: ${describe(result)}` };
}

function describe(result: StopRunResult): string {
  if (!result.marked && !result.released && !result.superseded) return 'the run never took its lock (its plan refused it, or met another run): nothing to clean up';
  if (result.superseded && !result.released) return 'the run was started again since: left to its new execution';
  const lock = result.released ? 'run lock released' : 'no run lock of this run held';
  return `run stopped (stop marker set, ${lock})`;
}
