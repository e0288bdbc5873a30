import type { ConnectionLease, ConnectionProvider } from '../../core/workflow/connections.js';
import { RedisUnavailableError } from '../../core/redis/redis-errors.js';
import { addUpStep } from '../../core/workflow/steps/add-up-step.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { summarizeStep } from '../../core/workflow/steps/summarize-step.js';
import { releaseAfterFailureStep } from '../../core/workflow/steps/stop-run-step.js';
import { hasCause, isMiddyTimeout, toTaskError } from '../../functions/support/task-error.js';
import { cleanUpEndedExecution, type ExecutionEndedOutput } from '../../functions/support/execution-ended-cleanup.js';
import { parseAddUpInput, parseExecutionEndedEvent, parsePageInput, parsePlanEvent, parseReleaseLockInput, parseSummarizeInput, SummarizeFunctionSteps, summarizeFunctionStep } from '../../functions/support/task-inputs.js';
import type { LocalHandlers, LocalInvocationContext } from '../../infra/local/run-workflow-locally.js';
import { addUpListUntil, pageDeadline, planLookUntil, planResumeUntil, planWalkUntil, summaryLookUntil } from '../../functions/support/time-budget.js';

/** How long one local page task may run before it returns its cursor (like a Lambda's budget). */
const LOCAL_PAGE_BUDGET_MS = 60_000;

/**
 * The task handlers of a local run: what each Lambda handler (functions/*.ts) does — the same
 * input validation, the same core step, the same error names for Retry and Catch — without the
 * Lambda shell (middy, Powertools logs, EMF metrics, tracing), which is per process and would
 * mix up the concurrent Map iterations of a local run, and would print JSON logs at a terminal.
 */
export function localTaskHandlers(connections: ConnectionProvider): LocalHandlers {
  // Each invocation on a lease of the connections: one that failed on a connection, or timed
  // out, leaves them behind, and the retry connects again, as on Lambda (see asTask).
  const asTask = <T>(task: string, context: LocalInvocationContext | undefined, work: (ended: () => boolean, connections: ConnectionProvider) => Promise<T>) => runTask(task, context, leaseOf(connections), work);
  // Like the Lambda page handler: no new page within the margin before the function's timeout. And
  // once the invocation ended (middy's early timeout, below, or the function's own), nothing more:
  // Lambda would have frozen or stopped it (its page in flight ends in Redis), but here it would go
  // on — renewing the run lock after the execution released it, moving jobs after the summary
  // counted them as left.
  const page = (task: string, mode: 'reroute' | 'transfer', kind: 'set' | 'queue') => (input: unknown, context?: LocalInvocationContext) =>
    asTask(task, context, (ended, connections) =>
      pageStep(parsePageInput(input, { mode, kind }), connections, {
        deadline: Math.min(Date.now() + LOCAL_PAGE_BUDGET_MS, context ? pageDeadline(context) : Infinity),
        onPage: () => {
          if (ended() || context?.timedOut()) throw new Error(`${task}: the invocation timed out; Lambda would have stopped it here`);
        },
      }),
    );
  return {
    plan: (event, context) =>
      asTask('plan', context, (_, connections) => {
        const { input, execution } = parsePlanEvent(event);
        return planStep(input, connections, execution, context ? { lookUntil: () => planLookUntil(context), walkUntil: () => planWalkUntil(context), resumeUntil: () => planResumeUntil(context) } : {});
      }),
    rerouteSetPage: page('reroute-set-page', 'reroute', 'set'),
    rerouteQueueSlice: page('reroute-queue-slice', 'reroute', 'queue'),
    transferSet: page('transfer-set', 'transfer', 'set'),
    transferQueue: page('transfer-queue', 'transfer', 'queue'),
    // Serves "Add up and list the next sets and queues" too, like the summarize function.
    summarize: (input, context) =>
      asTask<unknown>('summarize', context, (_, connections) => (summarizeFunctionStep(input) === SummarizeFunctionSteps.addUp ? addUpStep(parseAddUpInput(input), connections, context ? { listUntil: addUpListUntil(context) } : {}) : summarizeStep(parseSummarizeInput(input), connections, context ? { lookUntil: summaryLookUntil(context) } : {}))),
    releaseLock: (input, context) => asTask('release-lock', context, (_, connections) => releaseAfterFailureStep(parseReleaseLockInput(input), connections)),
  };
}

/**
 * The execution-ended rule's function, locally (LocalRunOptions.executionEnded): the same clean-up
 * after a failed execution, with the same connections as the run's tasks. Its errors reach the
 * caller (on AWS the event would go to the dead-letter queue).
 */
export function localExecutionEnded(connections: ConnectionProvider): (event: unknown) => Promise<ExecutionEndedOutput> {
  return async (event) => (await cleanUpEndedExecution(parseExecutionEndedEvent(event), connections)).output;
}

/**
 * middy's early timeout (@middy/core's `timeoutEarlyInMillis`): every Lambda handler of a
 * deployment gives up this long before its function's timeout, with a TimeoutError that
 * toTaskError names RetryableError, which the state machine retries. Lambda's own timeout
 * (Sandbox.Timedout, which nothing retries) is never reached there, so neither is it here.
 */
export const MIDDY_EARLY_TIMEOUT_MS = 5;

/** A lease of `connections` when they give one (UrlConnections, through OutageWatch); else them, kept. */
function leaseOf(connections: ConnectionProvider): () => ConnectionLease {
  const leasing = connections as ConnectionProvider & { lease?: () => ConnectionLease };
  return typeof leasing.lease === 'function' ? () => leasing.lease!() : () => ({ get: (name) => connections.get(name), end: () => {} });
}

/**
 * Runs a task as its Lambda handler would: its errors named as TaskErrors, and given up at
 * middy's early timeout (`ended()` then says so to the work still running). Like the handler
 * (functions/support/create-handler.ts), a task that failed on a connection or timed out leaves
 * the connections it got behind: the state machine's retry connects again. A connection whose
 * path went silent looks open to ioredis, whose commands on it only time out: kept, it failed every
 * retry the same way (test/workflow/local-stale-connection-retry.test.ts).
 */
async function runTask<T>(task: string, context: LocalInvocationContext | undefined, lease: () => ConnectionLease, work: (ended: () => boolean, connections: ConnectionProvider) => Promise<T>): Promise<T> {
  const connections = lease();
  let drop = false;
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  const early = new Promise<never>((_, reject) => {
    if (!context) return;
    timer = setTimeout(() => {
      ended = true;
      reject(Object.assign(new Error('[AbortError]: The operation was aborted.', { cause: { package: '@middy/core' } }), { name: 'TimeoutError' }));
    }, Math.max(0, context.getRemainingTimeInMillis() - MIDDY_EARLY_TIMEOUT_MS));
  });
  try {
    return await Promise.race([work(() => ended, connections), early]);
  } catch (error) {
    drop = hasCause(error, RedisUnavailableError) || isMiddyTimeout(error);
    throw toTaskError(error, task);
  } finally {
    clearTimeout(timer);
    connections.end(drop);
  }
}
