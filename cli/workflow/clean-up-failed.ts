import { RUN_LOCK_TTL_MS } from '../../core/workflow/steps/plan-step.js';
import { SourceNotReachedError, TargetNotReachedError } from '../../core/workflow/steps/stop-run-step.js';
import type { LocalExecution } from '../../infra/local/run-workflow-locally.js';

/**
 * One line when the clean-up after a failed execution (the execution-ended rule's, run locally:
 * it stops the run and releases its lock) failed too, Redis unreachable at that moment, say:
 * otherwise "run the same command again" would meet the lock, unexplained, until it expires. The
 * lock expires RUN_LOCK_TTL_MS after its last renewal, which came before now: the time said is
 * that bound, by this machine's clock. Undefined when every clean-up did its work.
 */
export function cleanUpFailedNotice(executions: readonly LocalExecution[], endpoint: string, now = Date.now()): string | undefined {
  const failed = executions.find((e) => e.cleanUp && 'error' in e.cleanUp)?.cleanUp;
  if (!failed || !('error' in failed)) return undefined;
  const by = new Date(now + RUN_LOCK_TTL_MS).toISOString().slice(11, 19);
  // A transfer's end that did not answer: the run was stopped, and its lock released, on the other.
  const missed = failed.error.name === TargetNotReachedError.name ? 'target' : failed.error.name === SourceNotReachedError.name ? 'source' : undefined;
  if (missed) {
    const reached = missed === 'target' ? 'source' : 'target';
    return (
      `The clean-up after the failure reached the ${reached} only (${failed.error.message}): the run's lock on the ${missed} may stay until it expires, by ${by} UTC; ` +
      `until then, the same command run again on this machine resumes the run at once (once the ${missed} answers); from another machine it is refused as locked.`
    );
  }
  return (
    `The clean-up after the failure failed too (${failed.error.message}): the run's lock on ${endpoint} may stay until it expires, by ${by} UTC; ` +
    'until then, the same command run again on this machine resumes the run at once; from another machine it is refused as locked.'
  );
}
