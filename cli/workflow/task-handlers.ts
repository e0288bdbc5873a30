import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { addUpStep } from '../../core/workflow/steps/add-up-step.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { releaseLockStep, summarizeStep } from '../../core/workflow/steps/summarize-step.js';
import { toTaskError } from '../../functions/support/task-error.js';
import { parseAddUpInput, parsePageInput, parseReleaseLockInput, parseSummarizeInput, SummarizeFunctionSteps, summarizeFunctionStep } from '../../functions/support/task-inputs.js';
import type { LocalHandlers, LocalInvocationContext } from '../../infra/local/run-workflow-locally.js';
import { pageDeadline } from '../../functions/support/time-budget.js';

/** How long one local page task may run before it returns its cursor (like a Lambda's budget). */
const LOCAL_PAGE_BUDGET_MS = 60_000;

/**
 * The task handlers of a local run: what each Lambda handler (functions/*.ts) does — the same
 * input validation, the same core step, the same error names for Retry and Catch — without the
 * Lambda shell (middy, Powertools logs, EMF metrics, tracing), which is per process and would
 * mix up the concurrent Map iterations of a local run, and would print JSON logs at a terminal.
 */
export function localTaskHandlers(connections: ConnectionProvider): LocalHandlers {
  // Like the Lambda page handler: no new page within the margin before the function's timeout. And
  // once the invocation timed out, nothing more: Lambda would have stopped it (its page in flight
  // ends in Redis), but here it would go on — renewing the run lock after the execution released
  // it, moving jobs after the summary counted them as left.
  const page = (task: string, mode: 'reroute' | 'transfer', kind: 'set' | 'queue') => (input: unknown, context?: LocalInvocationContext) =>
    asTask(task, () =>
      pageStep(parsePageInput(input, { mode, kind }), connections, {
        deadline: Math.min(Date.now() + LOCAL_PAGE_BUDGET_MS, context ? pageDeadline(context) : Infinity),
        onPage: () => {
          if (context?.timedOut()) throw new Error(`${task}: the invocation timed out; Lambda would have stopped it here`);
        },
      }),
    );
  return {
    plan: (input) => asTask('plan', () => planStep(input, connections)),
    rerouteSetPage: page('reroute-set-page', 'reroute', 'set'),
    rerouteQueueSlice: page('reroute-queue-slice', 'reroute', 'queue'),
    transferSet: page('transfer-set', 'transfer', 'set'),
    transferQueue: page('transfer-queue', 'transfer', 'queue'),
    // Serves "Add up and list the next sets and queues" too, like the summarize function.
    summarize: (input) =>
      asTask<unknown>('summarize', () => (summarizeFunctionStep(input) === SummarizeFunctionSteps.addUp ? addUpStep(parseAddUpInput(input), connections) : summarizeStep(parseSummarizeInput(input), connections))),
    releaseLock: (input) => asTask('release-lock', () => releaseLockStep(parseReleaseLockInput(input), connections)),
  };
}

async function asTask<T>(task: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toTaskError(error, task);
  }
}
