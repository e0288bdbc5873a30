import { TaskErrorNames } from '../../functions/support/task-error.js';
import type { LocalEvent } from '../../infra/local/run-workflow-locally.js';
import { workflowDefinition } from '../../infra/local/workflow-definition.js';
import type { CliIo } from '../cli-io.js';

interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds?: number;
  readonly MaxAttempts?: number;
  readonly BackoffRate?: number;
  readonly MaxDelaySeconds?: number;
}
type State = { readonly Retry?: readonly Retrier[]; readonly ItemProcessor?: { readonly States: Record<string, State> } };

/** Each state's retrier for RetryableError, from the definition a local run executes. */
function retriersByState(): Map<string, Retrier> {
  const found = new Map<string, Retrier>();
  const walk = (states: Record<string, State>) => {
    for (const [name, state] of Object.entries(states)) {
      const retrier = state.Retry?.find((r) => r.ErrorEquals.includes(TaskErrorNames.retryable));
      if (retrier) found.set(name, retrier);
      if (state.ItemProcessor) walk(state.ItemProcessor.States);
    }
  };
  walk((workflowDefinition() as { States: Record<string, State> }).States);
  return found;
}

/** "up to 6 more attempts over about 2 min": what the retrier waits in all, as Step Functions counts it. */
export function describeRetries(retrier: Retrier): string {
  const attempts = retrier.MaxAttempts ?? 3;
  let wait = 0;
  for (let i = 0; i < attempts; i++) wait += Math.min((retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** i, retrier.MaxDelaySeconds ?? Infinity);
  const over = wait < 90 ? `${Math.round(wait)} s` : `${Math.round(wait / 60)} min`;
  return `up to ${attempts} more attempt${attempts === 1 ? '' : 's'} over about ${over}`;
}

/**
 * Says so when a step fails with an error the state machine retries (a failover, a replica that
 * went away, a Redis refusing writes for now): without it a local run sat silent through the
 * minutes its retries take, then printed the error. Once per state and message: a page retried
 * six times with the same error is one line, and a failover that fails every page says so per page.
 */
export function retryNotice(io: CliIo): (execution: string, event: LocalEvent) => void {
  const retriers = retriersByState();
  const said = new Set<string>();
  return (_execution, event) => {
    if (event.type !== 'StateFailed' || event['Error'] !== TaskErrorNames.retryable || !event.state) return;
    const retrier = retriers.get(event.state.name);
    if (!retrier) return;
    const cause = event['Cause'] as { message?: unknown } | string | undefined;
    const message = typeof cause === 'string' ? cause : typeof cause?.message === 'string' ? cause.message : 'a transient error';
    const key = `${event.state.name}\n${message}`;
    if (said.has(key)) return;
    said.add(key);
    io.err(`${event.state.name}: ${message}\n  Transient: trying again as the deployed state machine does (${describeRetries(retrier)})\n`);
  };
}
