import { FatalError } from './sidekiq-migrate-error.js';

/**
 * A step of an execution that a later start of the same run superseded (on AWS: an old, stopped or
 * failed execution redriven after `start --resume` started a new execution of the run): the run's
 * lock carries the later execution's `plannedAt`, and its sets, queues, list and executions are
 * the later execution's to work. Refused like a stopped run, before anything is moved; not
 * retryable (the later execution stays the later one).
 */
export class RunSupersededError extends FatalError {
  constructor(
    readonly runId: string,
    /** Where it was noticed, for the message: "on source redis://…". */
    readonly where: string,
    /** When the later execution planned (epoch ms), when known. */
    readonly laterPlannedAt?: number,
    /** Its execution's ARN, when known (the operator follows it with `watch`). */
    readonly laterPlannedBy?: string,
  ) {
    const planned = laterPlannedAt === undefined ? 'later' : new Date(laterPlannedAt).toISOString();
    super(
      `Run ${runId}: this execution was superseded by a later execution of the run (planned ${planned}, noticed ${where}); it moves nothing more and leaves the run to that execution. Nothing is lost: the later execution carries run ${runId} on.`,
    );
  }
}
