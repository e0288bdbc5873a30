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
