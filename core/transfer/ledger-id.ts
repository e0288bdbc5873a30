import { hash } from 'node:crypto';
import { newRandomId } from './target-identity.js';

/**
 * How transferred jobs are recorded in the run's ledger on the target, so that a retried or
 * resumed batch writes nothing twice. What is recorded names claimed *entries*, not job contents:
 * a jid is not unique in practice (a push retried after a timeout, copies made by hand or by
 * middleware), and a list may hold the same bytes twice, each a job Sidekiq would run.
 *
 * - A queue's in-flight list keeps its entries' positions until it is acknowledged (new claims
 *   are appended), and a batch is written in order: the ledger keeps, for each batch, how many of
 *   its jobs are written (copyJobsToLists-n4.lua). An older version recorded `<batch>:<position>`
 *   for each job (listEntryIds); such a ledger is still written that way.
 * - A set's in-flight set cannot hold the same member twice, but its order shifts as entries are
 *   added: `<batch>:<sha1 of the member>`.
 *
 * The batch id comes from the claim (claimQueueJobs / claimSetEntries): a random id proposed to
 * every claim and stored beside the in-flight key (transfer-keys.ts `batchKey`) by the claim that
 * starts a batch (no id stored yet, entries left in flight); later claims and a resume
 * (resume-inflight.ts) hand it back with the entries, and the acknowledge deletes it with the
 * in-flight key. So a retried or resumed batch keeps its ids, and a new batch never reuses one.
 * Random rather than a per-run counter: nothing has to outlive the run on the old Redis.
 */
/** The ids an older version's queue ledger records (copyJobsToLists-n4.lua builds them itself for such a ledger). */
export function listEntryIds(batch: string, count: number, base = 0): string[] {
  return Array.from({ length: count }, (_, i) => `${batch}:${base + i}`);
}

/**
 * A queue batch's stored id: `<id>`, or `<id>+<base>` once its first `base` jobs were acknowledged
 * (acknowledgeQueueBatch-4.lua trims them off the in-flight list; positions stay the claim's).
 */
export function parseBatch(stored: string): { id: string; base: number } {
  const match = /^(.*)\+(\d+)$/.exec(stored);
  return match ? { id: match[1]!, base: Number(match[2]) } : { id: stored, base: 0 };
}

export function setEntryId(batch: string, member: Buffer): string {
  // One call, no Hash object per entry (the same hex digest: test/unit/transfer/ledger-id.test.ts).
  return `${batch}:${hash('sha1', member, 'hex')}`;
}

/**
 * A new batch id, proposed to each claim (used only when the claim starts a new batch):
 * `<random>@<target id>`, naming the target its jobs are claimed for (target-identity.ts), or
 * `<random>` alone where no target is known (a leftover adopted by a resume, older versions' batches).
 */
export function newBatchId(targetId?: string): string {
  return targetId === undefined ? newRandomId() : `${newRandomId()}@${targetId}`;
}

/** The target a stored batch id was claimed for, or null when it names none. */
export function batchTarget(stored: string): string | null {
  const { id } = parseBatch(stored);
  const at = id.indexOf('@');
  return at < 0 ? null : id.slice(at + 1);
}
