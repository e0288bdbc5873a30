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
}

export const realTime: Pick<CliContext, 'sleep' | 'now'> = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => new Date(),
};
