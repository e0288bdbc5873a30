import type { ConnectionProvider } from '../core/workflow/connections.js';
import type { LocalHandlers } from '../infra/local/run-workflow-locally.js';
import type { CliIo } from './cli-io.js';

/** What commands share: where they write, the exit code they set, how workflow tasks run. */
export interface CliContext {
  readonly io: CliIo;
  exitCode: number;
  /** The task handlers a local workflow run calls, over the given connections. */
  readonly handlersFor: (connections: ConnectionProvider) => LocalHandlers;
  /** Waits between polls of a deployed execution (tests make time pass instantly). */
  readonly sleep: (ms: number) => Promise<void>;
  /** The clock watch and status show elapsed times against. */
  readonly now: () => Date;
  /**
   * Milliseconds a local run waits before retrying a failed step, instead of the definition's
   * backoff (about 2 min in all for a RetryableError): tests only (run-cli.ts), never an option.
   */
  readonly retryIntervalMs?: number | undefined;
}

export const realTime: Pick<CliContext, 'sleep' | 'now'> = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => new Date(),
};
