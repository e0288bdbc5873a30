/** Renews one run lock: true while this run holds it, false when another run took it (RunLock.renew). */
export type RenewLock = () => Promise<boolean>;

/**
 * The run-lock renewals a whole transfer sends with each slice (run-transfer.ts) instead of in a
 * round trip of their own after it: the source's with the slice's acknowledge, the target's with
 * its write, each on the same connection, so that they share those round trips.
 */
export interface LockRenewals {
  readonly source: RenewLock;
  readonly target: RenewLock;
}

/** How a slice's renewals went: both locks still held, or not, or what a renewal threw (RunStoppedError). */
export type RenewalOutcome = { readonly held: boolean } | { readonly error: unknown };

/**
 * Whether a slice may still write after its renewals: none sent (the caller renews after the
 * slice, as before), or both said the locks are held.
 */
export function stillHeld(outcome: RenewalOutcome | undefined): boolean {
  return outcome === undefined || ('held' in outcome && outcome.held);
}

/** A slice's result with how its renewals went (absent: it sent none; the caller renews). */
export interface RenewedSlice {
  readonly locks?: RenewalOutcome;
}

/**
 * One slice's renewals. `with(side, work)` sends that side's renewal right after `work` was sent
 * (work is a promise whose commands are already written to the connection), so the renewal rides
 * in the same round trip; `outcome()` sends what was not sent yet (a slice with nothing to write)
 * and waits for all. A renewal's error never escapes before `outcome()`: the slice finishes first.
 */
export class SliceRenewal {
  private readonly sent = new Map<keyof LockRenewals, Promise<RenewalOutcome>>();

  constructor(private readonly renewals: LockRenewals | undefined) {}

  with<T>(side: keyof LockRenewals, work: Promise<T>): Promise<T> {
    this.send(side);
    return work;
  }

  async outcome(): Promise<RenewalOutcome | undefined> {
    if (this.renewals === undefined) return undefined;
    this.send('target');
    this.send('source');
    const outcomes = await Promise.all(this.sent.values());
    return outcomes.find((o) => 'error' in o) ?? { held: outcomes.every((o) => 'held' in o && o.held) };
  }

  private send(side: keyof LockRenewals): void {
    if (this.renewals === undefined || this.sent.has(side)) return;
    this.sent.set(
      side,
      this.renewals[side]().then(
        (held) => ({ held }),
        (error: unknown) => ({ error }),
      ),
    );
  }
}
