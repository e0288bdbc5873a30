import type { Redis } from 'ioredis';

/**
 * The target's index of the transfers' ledgers that may have no TTL: a set of their key names
 * (bytes, as the ledger keys are), `<prefix>sidekiq-migrate:ledgers` beside the run lock. The copy
 * scripts add a ledger's name in the call that writes it, before the write (copyJobsToLists-n4.lua,
 * copyEntriesToSet-6.lua); retireLedger-4.lua takes it out in the call that gives the ledger its
 * TTL, or finds it with one already or gone. So a ledger without a TTL is always named here, and
 * the last execution of a transfer finds the ledgers other runs left (ledgers-left.ts) by reading
 * this set, a few entries, instead of walking a target's keyspace that may hold millions of other
 * keys (bench/README.md, audit-sumscan). Not `<prefix>sidekiq-migrate:<run>:…`: no run's key.
 *
 * A ledger an older version wrote has no name here. The set also holds LEDGERS_WALKED once one
 * walk of the whole keyspace found every ledger there and named them here: until then (a target
 * written by an older version, or one that lost this key: deleted, restored from an older
 * snapshot) the last execution walks the keyspace as before and names what it finds. The mark is
 * in the same key as the names, so whatever loses the names loses the mark with them.
 */
export const ledgerIndexKey = (targetPrefix: string): string => `${targetPrefix}sidekiq-migrate:ledgers`;

/** The index's mark that a walk of the whole keyspace named every ledger there (no ledger key is this name: each begins with the prefix and `sidekiq-migrate:`). */
export const LEDGERS_WALKED = 'walked';

/** The index as it is now: the ledger names (bytes) and whether the mark is there. One SMEMBERS. */
export async function readLedgerIndex(target: Redis, targetPrefix: string): Promise<{ readonly names: Buffer[]; readonly walked: boolean }> {
  const members = await target.smembersBuffer(ledgerIndexKey(targetPrefix));
  const mark = Buffer.from(LEDGERS_WALKED, 'utf8');
  return { names: members.filter((m) => !m.equals(mark)), walked: members.some((m) => m.equals(mark)) };
}
