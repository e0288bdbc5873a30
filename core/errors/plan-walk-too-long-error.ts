import type { KeyspaceCut } from '../redis/bounded-scan.js';
import { FatalError } from './sidekiq-migrate-error.js';

/**
 * The plan's walk of the source's keyspace (plan-walk.ts) did not reach the end in the time the
 * plan gives it: what it must find whole (every queue list, the jobs interrupted transfers left in
 * flight, sidekiq-cron definitions) may not be found, and a run that missed one would leave its
 * jobs behind and say nothing. It stops the plan before it takes a lock or writes anything,
 * rather than the function's timeout killing it ("Task timed out", retried the same way), and
 * says how far it got and what to do. Not retryable: the same walk takes the same time.
 */
export class PlanWalkTooLongError extends FatalError {
  constructor(
    /** "source redis://…". */
    readonly where: string,
    /** What the walk looked for that a run may not miss, in words. */
    readonly lookedFor: readonly string[],
    readonly cut: KeyspaceCut,
    readonly seconds: number,
  ) {
    const n = (value: number) => value.toLocaleString('en-US');
    const what = lookedFor.length > 1 ? `${lookedFor.slice(0, -1).join(', ')} and ${lookedFor[lookedFor.length - 1]}` : (lookedFor[0] ?? '');
    super(
      `The plan stopped before the run started: it looks at every key of the ${where} once (SCAN) to find ${what}, which a run must not miss, ` +
        `and in ${n(Math.round(seconds))} s (its share of the plan task's time) it got through about ${n(cut.lookedAt)} of the ${n(cut.keys)} keys there. ` +
        `Raise the workflow functions' timeout (functions.timeoutSeconds in the deployment config, at most 900 s), or run the move with the CLI on a host next to this Redis (each SCAN call a shorter round trip), ` +
        `or delete the keys nothing uses any more. Nothing was touched.`,
    );
  }
}
