import { InputError } from '../../core/errors/input-error.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { releaseLockStep, summarizeStep } from '../../core/workflow/steps/summarize-step.js';
import type { LocalHandlers } from '../../infra/local/run-workflow-locally.js';

/** How long one local page task may run before it returns its cursor (like a Lambda's budget). */
const LOCAL_PAGE_BUDGET_MS = 60_000;

/**
 * The task handlers of a local run: the workflow's core steps, with errors named as the Lambda
 * handlers name them, so that the state machine's Retry and Catch behave as in AWS.
 */
export function localTaskHandlers(connections: ConnectionProvider): LocalHandlers {
  const page = (input: unknown) => named(pageStep(input as never, connections, { deadline: Date.now() + LOCAL_PAGE_BUDGET_MS }));
  return {
    plan: (input) => named(planStep(input, connections)),
    rerouteSetPage: page,
    rerouteQueueSlice: page,
    transferSet: page,
    transferQueue: page,
    summarize: (input) => named(summarizeStep(input as never, connections)),
    releaseLock: (input) => named(releaseLockStep(input as never, connections)),
  };
}

async function named<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const e = error as Error & { retryable?: boolean };
    e.name = error instanceof InputError ? 'InvalidInputError' : e.retryable ? 'RetryableError' : 'FatalError';
    throw e;
  }
}
