import { FatalError } from './sidekiq-migrate-error.js';

/**
 * A plan task that outlived its execution (TIMED_OUT or ABORTED while the plan Lambda still ran):
 * the clean-up after that execution's end ran first, found no lock of it, stopped the run and
 * recorded the execution's end (its own key, kept as long as the stop marker: a later end of the run
 * replaces none). The plan takes no lock and writes nothing
 * (acquireRunLock-5.lua, { 5 }): nothing would ever release a lock it took now. Not retryable.
 */
export class ExecutionEndedBeforePlanError extends FatalError {
  constructor(
    readonly runId: string,
    readonly executionArn: string,
    /** Where it was refused, for the message: "source redis://…". */
    readonly where: string,
  ) {
    super(`Run ${runId}: its execution ${executionArn} ended (stopped or timed out) before its plan took the run lock on ${where}; this plan takes no lock and writes nothing. Nothing is lost: start run ${runId} again to resume it.`);
  }
}
