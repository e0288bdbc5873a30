import type { KeyspaceCut } from '../redis/bounded-scan.js';
import { FatalError } from './sidekiq-migrate-error.js';

/**
 * A dry run stores no list of its sets and queues (it writes nothing): a task that has not got it
 * in its process (the add-up's function, a continued execution's plan: another container than the
 * plan's) lists them again, with a walk of the source's whole keyspace for queue lists. On a Redis
 * with tens of millions of other keys that walk outlasted the function ("Task timed out",
 * retried the same way). One that does not reach the end in the time the task gives it stops the
 * dry run there, saying how far it got: its counts so far are not a whole dry run, and a partial
 * list would count some queues and never say it left the others out. Not retryable: the same
 * walk takes the same time.
 */
/**
 * Whether an error message, as a failed execution carries it (only the message crosses Step
 * Functions; its name is then FatalError), is DryRunListTooLongError's: running the dry run again
 * as it is stops at the same place, so nothing may tell the operator to.
 */
export const isDryRunListTooLong = (message: string | undefined): boolean => /(^|: )The dry run stopped before it had looked at every set and queue: /.test(message ?? '');

export class DryRunListTooLongError extends FatalError {
  constructor(
    /** "source redis://…". */
    readonly where: string,
    /** The item the next batch goes on after, when known. */
    readonly after: string | undefined,
    readonly cut: KeyspaceCut,
    readonly seconds: number,
  ) {
    const n = (value: number) => value.toLocaleString('en-US');
    super(
      `The dry run stopped before it had looked at every set and queue: a dry run stores no list of them, so it lists them again${after ? ` to go on after ${after}` : ''}, looking at every key of the ${where} once (SCAN) to find every queue list, ` +
        `and in ${n(Math.round(seconds))} s (its share of the task's time) it got through about ${n(cut.lookedAt)} of the ${n(cut.keys)} keys there. ` +
        `What it counted so far is not a whole dry run. Raise the workflow functions' timeout (functions.timeoutSeconds in the deployment config, at most 900 s), or run the dry run with the CLI on a host next to this Redis (each SCAN call a shorter round trip). ` +
        `Nothing was touched: a dry run writes nothing.`,
    );
  }
}
