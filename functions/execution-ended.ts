import { stopRunStep, type StopRunResult } from '../core/workflow/steps/stop-run-step.js';
import { connections } from './support/container.js';
import { createHandler } from './support/create-handler.js';
import { logger } from './support/powertools.js';
import { parseExecutionEndedEvent, scopeOfExecutionEnded, type ExecutionEnded } from './support/task-inputs.js';

export type ExecutionEndedOutput = { readonly status: ExecutionEnded['status']; readonly action: 'none'; readonly reason: string } | ({ readonly status: ExecutionEnded['status']; readonly action: 'stop' } & StopRunResult);

/**
 * Not a Task of the state machine: the target of an EventBridge rule on its executions' ends.
 * StopExecution (or a timeout) ends an execution without running its "Release the run lock"
 * state, and a page Lambda already running would go on: ABORTED, TIMED_OUT and FAILED set the
 * run's stop marker and release its lock (stopRunStep; the failure path normally did already,
 * but a failure its Catch does not reach skips it, and a failed Map's Lambdas may still be
 * paging). Dry runs took no lock: nothing to do. Logs one line. The run lock names the execution
 * whose plan took it (`plannedBy`); the ended execution's is its own ARN (a root execution: a
 * redriven one keeps it) or its settings' (a continuation), so an old execution redriven after a
 * later start of the run leaves that start alone whenever it ends. A lock from an older version,
 * which names none, is judged by the times (the continuation's plannedAt, the execution's end).
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
      const result = await stopRunStep(run, connections, { reason: status, onlyIfStarted: true, ...(event.endedAt !== undefined ? { endedAt: event.endedAt } : {}) });
      logger.info(`execution ${status}: ${describe(result)}`, { status, executionArn, ...result });
      return { status, action: 'stop', ...result };
    },
  },
  connections,
);

function describe(result: StopRunResult): string {
  if (!result.marked && !result.released && !result.superseded) return 'the run never took its lock (its plan refused it, or met another run): nothing to clean up';
  if (result.superseded && !result.released) return 'the run was started again since: left to its new execution';
  const lock = result.released ? 'run lock released' : 'no run lock of this run held';
  return `run stopped (stop marker set, ${lock})`;
}
