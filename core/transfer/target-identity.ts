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
      `(target id ${[...new Set(leftovers.map((l) => l.targetId))].join(', ')}; this one is ${here ?? 'not named yet'}). ` +
      `They may already be written there, and writing them here too would run them twice. ` +
      `Finish that run first: move again with --to that target. If that target lost them (flushed or gone), ` +
      `delete their batch key(s) on the source (${keys}) and run again: they are then written here. No job was written or moved.`,
  );
}
