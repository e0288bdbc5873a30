import type { SliceClaim } from './claim-calls.js';

/**
 * The next slice's claim, sent on the source right behind this slice's acknowledge, so that the
 * two share one round trip (issue #18: a slice's round trips to the source go from two to one).
 *
 * Why it is as safe as a claim of its own, sent after the acknowledge's reply:
 * - Redis runs a connection's commands in the order they were written, and both pipelines are
 *   written before either reply is read: the acknowledge empties the in-flight key, then the claim
 *   claims into it. The claim is the same Lua call with the same guards: a stopped run, or a lock
 *   on the source another run or a later execution holds, makes it claim nothing (`refused`), and
 *   the next slice ends the task with that error, as it would have with a claim of its own.
 * - Sent only when the next slice is sure to run in the same task (transferQueue, transferSet:
 *   not on the slice that ends a page, which the page task's lock renewal follows, nor on the
 *   task's last one by its page limit; the slice's result then says `holdsNext`, and drivePages
 *   runs the next slice whatever the deadline). So no task ends with a slice it claimed ahead in
 *   flight, but on an error or a crash, which a resume already handles as after any claim.
 * - Used only when it found nothing in flight before its own claims (the acknowledge ran first and
 *   emptied the key, as it does). Otherwise (the acknowledge was sent again after a NOSCRIPT, so it
 *   ran after the claim; another attempt of the run claimed meanwhile), what is in flight is read
 *   again by a claim of nothing, which returns all of it, and the claim's own jobs are counted as
 *   claimed, the rest as resumed: exactly as a claim sent after the acknowledge would count them.
 */
/*
 * Why the next claim is not sent sooner, while this slice's write runs on the target (issue #18's
 * "next queue slice read while this one's calls run", audit-readahead): a transfer slice has no
 * read to send ahead but its claim, which moves the jobs into the in-flight list (the source's
 * positions stop mattering there: claimQueueJobs-14.lua takes them by the pass's count, atomically,
 * whatever producers and fetchers did). But a claim replies with the whole in-flight list, from
 * its head (claim-calls.ts: held), and the acknowledge trims it by position: sent before this
 * slice's acknowledge, the next claim would hand back this slice's jobs as its own (resumed, then
 * written again: the ledger keeps the target from holding them twice, but the counts and the
 * slice's bound would be wrong), and the acknowledge's position would have to be the one of this
 * slice only. Claiming ahead of the write needs two slices in flight at once: a claim that answers
 * with its own positions only, and a resume that knows which slice holds which, i.e. renamed claim
 * and acknowledge scripts; not done here. Riding in the acknowledge's round trip, as below, the
 * claim runs after the acknowledge on the same connection and finds nothing in flight.
 */
export interface ClaimAhead<T, C extends SliceClaim<T> = SliceClaim<T>> {
  /** The claim's reply; it rejects with the claim's error (handled: the next slice throws it). */
  readonly claim: Promise<C>;
  /** What it asked for, and the mean payload size it was asked with (page-bytes.ts). */
  readonly want: number;
  readonly bytesPerJob: number | undefined;
  /** The source connection's socket before the claim was sent (replicated-steps.ts sourceSocket). */
  readonly sentOn?: unknown;
}

/** `claim`, sent: its rejection waits for the next slice, which awaits it (never unhandled meanwhile). */
export function sentAhead<T, C extends SliceClaim<T>>(claim: Promise<C>, want: number, bytesPerJob: number | undefined, sentOn?: unknown): ClaimAhead<T, C> {
  claim.catch(() => {});
  return { claim, want, bytesPerJob, ...(sentOn !== undefined ? { sentOn } : {}) };
}

/**
 * The slice's claim from the one sent ahead: as it is when it found nothing in flight before it,
 * else `reread` (a claim of nothing, which returns what is in flight) counted as described above.
 */
export async function takenAhead<T, C extends SliceClaim<T>>(ahead: ClaimAhead<T, C>, reread: () => Promise<C>): Promise<C> {
  const claim = await ahead.claim;
  if (claim.refused !== undefined || claim.held.length === claim.claimed) return claim;
  const now = await reread();
  if (now.refused !== undefined) return now;
  return { ...now, claimed: Math.min(claim.claimed, now.held.length), ranOut: claim.ranOut, full: claim.full };
}

/** Where a task's slices may claim ahead (transferQueue, transferSet), and its limits (drive-pages.ts). */
export interface ClaimAheadWithin {
  /**
   * Every slice of the task sends the next one's claim with its acknowledge, but every
   * `claimAheadWithin`-th (the page task's page ends there, and its lock renewal follows with
   * nothing claimed ahead), the task's last by `maxPages`, and any once the deadline has passed
   * (the next slice would then be the task's last). Absent, or 1: no slice does.
   */
  readonly claimAheadWithin?: number;
  readonly maxPages?: number;
  readonly deadline?: number;
  readonly now?: () => number;
}

/** What a slice is told about claims sent ahead: the one it takes, and whether it may send the next (asked as it would). */
export interface AheadOptions<T, C extends SliceClaim<T>> {
  readonly claimedAhead?: ClaimAhead<T, C>;
  readonly mayClaimAhead: () => boolean;
}

/** A task's slices, one after another, each handed the claim the one before sent ahead. */
export class SlicesAhead<T, C extends SliceClaim<T> = SliceClaim<T>> {
  private slices = 0;
  private pending: ClaimAhead<T, C> | undefined;

  constructor(private readonly limits: ClaimAheadWithin) {}

  async slice<R extends { readonly ahead?: ClaimAhead<T, C> }>(run: (options: AheadOptions<T, C>) => Promise<R>): Promise<R> {
    const n = ++this.slices;
    const within = this.limits.claimAheadWithin ?? 1;
    const { maxPages, deadline, now = Date.now } = this.limits;
    const mayClaimAhead = () => within > 1 && n % within !== 0 && (maxPages === undefined || n < maxPages) && (deadline === undefined || now() < deadline);
    const claimedAhead = this.pending;
    this.pending = undefined;
    const result = await run(claimedAhead ? { claimedAhead, mayClaimAhead } : { mayClaimAhead });
    this.pending = result.ahead;
    return result;
  }
}
