import type { RunSettings } from './work-item.js';

/** Which start of a run an execution belongs to: when its plan took the lock, and which execution planned. */
export type RunGeneration = Pick<RunSettings, 'plannedAt' | 'plannedBy'>;

/**
 * The generation a step of the run names in the lock's holder record (and in the clean-up after
 * its execution's end): only the fields its settings carry (an older version's carry none).
 */
export function generationOf(settings: RunGeneration): { plannedAt?: number; plannedBy?: string } {
  return { ...(settings.plannedAt !== undefined ? { plannedAt: settings.plannedAt } : {}), ...(settings.plannedBy !== undefined ? { plannedBy: settings.plannedBy } : {}) };
}

/**
 * The generation of an execution planned before plans recorded one (9f99334): its settings name no
 * plannedAt, and its plan wrote none into the lock. It is earlier than every start that records
 * one: 0, not "unknown" (''), so that once a `start --resume` of this version took the lock (a
 * plannedAt on it), every step of the older execution (redriven after it) is refused as a
 * superseded one's — its page tasks' claims and copies (lib/claim-lock.lua lockTaken: -4), their
 * renewals (acquireRunLock-5 'hold': { 3 }), its summary's finish (finishRun-4: { 3 }) — where,
 * naming none, it took the later start's generation as its own, moved its sets and queues and
 * released its lock (test/redis/superseded-older-version.test.ts). Alone, it runs as before: its
 * lock names no plannedAt (the first renewal writes 0) and nothing later comes. A dry run takes no
 * lock and keeps none.
 */
export const GENERATION_BEFORE_RECORDED = 0;

/** `settings`, naming GENERATION_BEFORE_RECORDED when they name no plannedAt (a run that writes: not a dry run). */
export function withRecordedGeneration<T extends { readonly dryRun: boolean; readonly plannedAt?: number }>(settings: T): T {
  return settings.dryRun || settings.plannedAt !== undefined ? settings : { ...settings, plannedAt: GENERATION_BEFORE_RECORDED };
}
