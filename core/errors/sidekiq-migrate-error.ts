/**
 * Base of every error this project raises on purpose.
 *
 * `retryable` says whether doing the same thing again may succeed (a dropped connection, a
 * Redis failover) or never will (bad input, a wrong key type). The Lambdas hand that flag to
 * Step Functions, which owns retries; the CLI turns it into an exit code.
 */
export abstract class SidekiqMigrateError extends Error {
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Something went wrong that will go wrong again: fix the input or the environment first. */
export class FatalError extends SidekiqMigrateError {
  readonly retryable = false;
}

/** A transient failure (network, failover, timeout): the same call may succeed later. */
export class RetryableError extends SidekiqMigrateError {
  readonly retryable = true;
}
