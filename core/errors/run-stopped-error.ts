import { FatalError } from './sidekiq-migrate-error.js';

/**
 * The run was stopped (`sidekiq-migrate stop`, StopExecution, an execution that timed out): its
 * stop marker is set, so a step still running for it ends here instead of moving more jobs. Not
 * retryable: retrying would only meet the marker again. Nothing is lost, since each page is one
 * atomic step and the run's in-flight state stays where the next run looks for it.
 */
export class RunStoppedError extends FatalError {
  constructor(
    readonly runId: string,
    /** Where the stop was noticed, for the message: "on source redis://…". */
    readonly where: string,
  ) {
    super(`Run ${runId} was stopped (noticed ${where}); ending here. Nothing is lost: every page finished before the stop is complete, and starting run ${runId} again resumes it.`);
  }
}
