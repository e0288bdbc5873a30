import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';

/**
 * Which target a transfer writes to, as the target itself says: a random id stored once under
 * the target's prefix and kept (no TTL). Every batch a run claims names it (ledger-id.ts
 * `newBatchId`), so that a resume can tell jobs left in flight *for this target* — the ledger here
 * knows which of them were written — from jobs left in flight for another one: those may already
 * be on that other Redis, and writing them here too would run them twice. A URL cannot say this:
 * the same server has many names, and different servers can have the same one.
 */
export const targetIdKey = (keys: SidekiqKeys): string => `${keys.prefix}sidekiq-migrate:target-id`;

/** A new id: 16 characters of base64url (96 random bits), never '+', ':' or '@' (ledger-id.ts). */
export const newRandomId = (): string => randomBytes(12).toString('base64url');

/**
 * The target's id, created on first use (SET NX: the first run to write there names it). One GET
 * once it exists, which is every call but a target's first (each page task of a run asks).
 */
export async function ensureTargetId(target: Redis, keys: SidekiqKeys): Promise<string> {
  const known = await readTargetId(target, keys);
  if (known !== null) return known;
  await target.set(targetIdKey(keys), newRandomId(), 'NX');
  return (await readTargetId(target, keys))!;
}

/** The target's id, or null when no transfer ever wrote there (a dry run creates none). */
export async function readTargetId(target: Redis, keys: SidekiqKeys): Promise<string | null> {
  return target.get(targetIdKey(keys));
}

/** In-flight jobs an interrupted run claimed for another target than this run's. */
export interface ForeignLeftover {
  /** Its batch key on the source, as a user would type it. */
  readonly batchKey: string;
  readonly runId: string;
  readonly size: number;
  /** The id of the target the batch was claimed for. */
  readonly targetId: string;
}

/**
 * Refuses, before anything is written, to finish jobs that an interrupted run claimed for another
 * target: they may be there already (written, not yet acknowledged), and only that target's
 * ledger can tell. Says how to finish them, or, if that target lost them, how to let this run take
 * them over.
 */
export function refuseForeignLeftovers(leftovers: readonly ForeignLeftover[], here: string | null, targetName: string | undefined): void {
  if (leftovers.length === 0) return;
  const jobs = leftovers.reduce((n, l) => n + l.size, 0);
  const runs = [...new Set(leftovers.map((l) => l.runId))].join(', ');
  const keys = leftovers.map((l) => l.batchKey).join(' ');
  throw new FatalError(
    `${jobs} job(s) are in flight from an interrupted transfer (run ${runs}) to another target than ${targetName ?? 'this one'} ` +
      `(target id ${[...new Set(leftovers.map((l) => l.targetId))].join(', ')}; this one is ${here ?? 'not named yet'}: a Redis that lost its data, restarted empty or flushed, is named anew, so it may be that one). ` +
      `They may already be written there, and writing them here too would run them twice. ` +
      `Finish that run first: move again with --to that target. If that target lost them (restarted empty, flushed or gone), ` +
      `delete their batch key(s) on the source (${keys}) and run again: they are then written here. No job was written or moved.`,
  );
}

/** The run's target no longer carries the id its plan found there: it lost its data since. */
export class TargetLostDataError extends FatalError {}

/**
 * What a run's page or summary says of a target whose id is not the one the run's plan found
 * there (`planned`): gone (null) or another, so the server lost its data since the run planned —
 * with it, every job the run wrote there and acknowledged on the source (they are gone from the
 * source too: the only copies were there). Said as what it is, not as a lock that expired, and
 * never "Complete". The way on: restore from a backup; else the next run refuses the jobs still in
 * flight for the lost target by their batch keys, and writes them to it as it is now once those
 * keys are deleted (refuseForeignLeftovers).
 */
export function targetLostDataMessage(runId: string, targetName: string, planned: string, here: string | null): string {
  return (
    `The target ${targetName} lost its data during run ${runId}: the target id ${planned} its plan found there is ${here === null ? 'gone' : `now ${here}`} ` +
    `(it restarted without persistence, was flushed, or failed over to a replica that had not received it). ` +
    `The jobs this run had written there and acknowledged on the source are gone from it: restore it from a backup if there is one. This step wrote nothing there. ` +
    `To move the rest to it as it is now, run the same command again: it names the jobs still in flight for the lost data, and how to write them there.`
  );
}

/** What a run knows of the jobs it had on a target when it found that target lost a slice's copy. */
export interface LostCopiesContext {
  /** The target id its plan found there, and the id there now when it is not that one (null: gone). */
  readonly id?: { readonly planned: string; readonly here: string | null };
  /** Sets and queues whose slices found the loss, with the jobs they had acknowledged before it (possibly 0). */
  readonly sawLoss: readonly { readonly key: string; readonly acknowledgedBefore: number }[];
  /** Sets and queues that wrote there without seeing the loss, with the jobs they wrote: before or after it, the run cannot tell. */
  readonly others: readonly { readonly key: string; readonly written: number }[];
  /** Items the summary does not list (beyond its list's limit): what they wrote is not known here. */
  readonly unlisted: number;
}

/**
 * What a run's summary says of a target that lost the copy of `recopied` jobs after the copy and
 * before the source acknowledged them (copy-kept.ts): they were still in flight on the source and
 * were written there again, so none of them is lost; but the target lost data, and with it, the
 * jobs this run had written there and acknowledged before the loss, when there were any: named as
 * the run knows them (a set's or queue's own, counted up to its slice that found the loss; the
 * others' that wrote there, maybe, as it cannot tell whether before or after). A failure, never
 * "Complete".
 */
export function targetLostCopiesMessage(runId: string, targetName: string, recopied: number, known: LostCopiesContext): string {
  const id = known.id ? `; its target id ${known.id.planned} is ${known.id.here === null ? 'gone' : `now ${known.id.here}`}` : '';
  const head =
    `The target ${targetName} lost the copy of ${recopied} job(s) during run ${runId} after they were written there and before the source acknowledged them ` +
    `(it restarted without persistence, was flushed, or failed over to a replica that had not received them${id}): they were still in flight on the source and were written there again, none lost.`;
  const before = known.sawLoss.filter((s) => s.acknowledgedBefore > 0).map((s) => `${s.key} ${s.acknowledgedBefore} (acknowledged before the loss)`);
  const others = known.others.map((o) => `${o.key} up to ${o.written} (written during the run; whether before the loss, the run cannot tell)`);
  const unlisted = known.unlisted > 0 ? [`what ${known.unlisted} set(s) or queue(s) the summary does not list wrote there`] : [];
  const atRisk = [...before, ...others, ...unlisted];
  if (atRisk.length === 0) {
    return `${head} Nothing this run had written there was acknowledged on the source before that loss: no job went with it.`;
  }
  const shown = atRisk.slice(0, 5).join(' · ') + (atRisk.length > 5 ? ` · and ${atRisk.length - 5} more set(s) or queue(s)` : '');
  return `${head} Jobs this run had written there and acknowledged on the source before that loss may be gone with it: ${shown}. Restore it from a backup if there is one.`;
}

/**
 * What a run's summary says of a target that kept its id but lost the run's ledgers of sets or
 * queues the run wrote to (`sourceKeys`): it lost data after the run wrote there (an older
 * snapshot reloaded, a partial flush, a failover), and the jobs written may be gone with it.
 */
export function targetLostLedgersMessage(runId: string, targetName: string, sourceKeys: readonly string[]): string {
  const named = sourceKeys.slice(0, 5).join(', ') + (sourceKeys.length > 5 ? ` and ${sourceKeys.length - 5} more` : '');
  return (
    `The target ${targetName} no longer holds run ${runId}'s record of what it wrote there from ${named}: it lost data after the run wrote there ` +
    `(reloaded an older snapshot, was flushed in part, or failed over to a replica that had not received it), and the jobs written there may be gone with it. ` +
    `Restore it from a backup if there is one; what is still on the source, drain-check shows.`
  );
}

/**
 * A step of a transfer about to write to its target: refused, before anything is written
 * or any lock taken, when the target's id is not `planned` (TargetLostDataError). Returns the id.
 * `written`: the jobs this step wrote there before it looked again (its earlier slices, counted as
 * written); the message says so rather than "This step wrote nothing". A write finds no lock on a
 * target that restarted empty and is not refused (lib/claim-lock.lua), so some of them may have
 * landed after the loss and still be there: the message does not say all of them went.
 */
export async function assertTargetKept(target: Redis, keys: SidekiqKeys, targetName: string, planned: string, written = 0): Promise<string> {
  const here = await readTargetId(target, keys);
  // Short: a failed item's message is kept to 300 characters (run-tally.ts); the summary says it all once.
  if (here !== planned) {
    const thisStep = written > 0 ? `This step had written ${written} job(s) there (counted as written), and writes nothing more.` : 'This step wrote nothing.';
    throw new TargetLostDataError(
      `The target ${targetName} lost its data (its target id ${planned} is ${here === null ? 'gone' : `now ${here}`}: restarted empty, flushed or failed over); any job this run had written there and acknowledged before the loss went with it. ${thisStep}`,
    );
  }
  return here;
}
