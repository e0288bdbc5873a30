import { connections } from './support/container.js';
import { createHandler } from './support/create-handler.js';
import { describeExecutionInput } from './support/describe-execution.js';
import { cleanUpEndedExecution, type ExecutionEndedOutput } from './support/execution-ended-cleanup.js';
import { logger } from './support/powertools.js';
import { parseExecutionEndedEvent, scopeOfExecutionEnded } from './support/task-inputs.js';

export type { ExecutionEndedOutput };

/**
 * Not a Task of the state machine: the target of an EventBridge rule on its executions' ends.
 * StopExecution (or a timeout) ends an execution without running its "Release the run lock"
 * state, and a page Lambda already running would go on: ABORTED, TIMED_OUT and FAILED set the
 * run's stop marker and release its lock (cleanUpEndedExecution; the failure path normally did
 * already, but a failure its Catch does not reach skips it, and a failed Map's Lambdas may still be
 * paging). Dry runs took no lock: nothing to do. Logs one line. The run lock names the execution
 * whose plan took it (`plannedBy`); the ended execution's is its own ARN (a root execution: a
 * redriven one keeps it) or its settings' (a continuation), so an old execution redriven after a
 * later start of the run leaves that start alone whenever it ends. A lock from an older version,
 * which names none, is judged by the times (the continuation's plannedAt, the execution's end).
 * An event without the input (over EventBridge's size limit) is still cleaned up: its input read by
 * DescribeExecution (bounded in time: the VPC may have no route to the API), or else its run found
 * by the run lock that names this execution as the one that planned it, on the configured
 * connections that answer (one that does not is named, retryably).
 * The local runner runs the same clean-up when a local execution fails (cli/workflow/task-handlers.ts).
 */
export const handler = createHandler(
  {
    task: 'execution-ended',
    scope: scopeOfExecutionEnded,
    parse: parseExecutionEndedEvent,
    run: async (event): Promise<ExecutionEndedOutput> => {
      const { output, level, message, runId } = await cleanUpEndedExecution(event, connections, connections.names, { describeInput: describeExecutionInput });
      const { status, executionArn } = event;
      const fields = output.action === 'none' ? { status, executionArn, reason: output.reason } : { ...output, executionArn, ...(runId !== undefined ? { runId } : {}) };
      if (level === 'warn') logger.warn(message, fields);
      else logger.info(message, fields);
      return output;
    },
  },
  connections,
);
