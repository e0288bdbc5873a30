import { stopRunStep, type StopRunResult } from '../core/workflow/steps/stop-run-step.js';
import { connections } from './support/container.js';
import { createHandler } from './support/create-handler.js';
import { logger } from './support/powertools.js';
import { parseExecutionEndedEvent, scopeOfExecutionEnded, type ExecutionEnded } from './support/task-inputs.js';

export type ExecutionEndedOutput = { readonly status: ExecutionEnded['status']; readonly action: 'none'; readonly reason: string } | ({ readonly status: ExecutionEnded['status']; readonly action: 'stop' | 'release' } & StopRunResult);

/**
 * Not a Task of the state machine: the target of an EventBridge rule on its executions' ends.
 * StopExecution (or a timeout) ends an execution without running its "Release the run lock"
 * state, and a page Lambda already running would go on: ABORTED and TIMED_OUT set the run's stop
 * marker and release its lock (stopRunStep); FAILED only releases (the failure path normally
 * did already; its steps have ended). Dry runs took no lock: nothing to do. Logs one line.
 */
export const handler = createHandler(
  {
    task: 'execution-ended',
    scope: scopeOfExecutionEnded,
    parse: parseExecutionEndedEvent,
    run: async (event): Promise<ExecutionEndedOutput> => {
      const { status, executionArn, run } = event;
      if ('unknown' in run) {
        logger.warn(`execution ${status}: its run is not known, nothing to clean up`, { status, executionArn, reason: run.unknown });
        return { status, action: 'none', reason: run.unknown };
      }
      if (run.dryRun) {
        logger.info(`execution ${status}: a dry run takes no lock, nothing to clean up`, { status, executionArn });
        return { status, action: 'none', reason: 'dry run' };
      }
      const action = status === 'FAILED' ? 'release' : 'stop';
      const result = await stopRunStep(run, connections, { mark: action === 'stop', reason: status, ...(event.endedAt !== undefined ? { endedAt: event.endedAt } : {}) });
      logger.info(`execution ${status}: ${describe(action, result)}`, { status, executionArn, ...result });
      return { status, action, ...result };
    },
  },
  connections,
);

function describe(action: 'stop' | 'release', result: StopRunResult): string {
  if (result.superseded && !result.released) return 'the run was started again since: left to its new execution';
  const lock = result.released ? 'run lock released' : 'no run lock of this run held';
  return action === 'stop' ? `run stopped (stop marker set, ${lock})` : lock;
}
