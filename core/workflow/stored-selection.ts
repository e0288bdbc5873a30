import type { Redis } from 'ioredis';
import { FatalError } from '../errors/sidekiq-migrate-error.js';

/** As long as the run's stored routing: longer than any run, with its continuations. */
const SELECTION_TTL_SECONDS = 7 * 24 * 3600;

export const storedSelectionKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:classes`;

/**
 * Stores the classes a selective transfer carries (500 class names are ~20 KB) once, on the source,
 * where page steps read them: carried in every state they would crowd Step Functions' 256 KB.
 */
export async function storeSelection(redis: Redis, prefix: string, runId: string, classes: readonly string[]): Promise<void> {
  await redis.set(storedSelectionKey(prefix, runId), JSON.stringify(classes), 'EX', SELECTION_TTL_SECONDS);
  cache.set(storedSelectionKey(prefix, runId), [...classes]);
}

// One entry per run: a warm Lambda container serves many pages of the same run.
const cache = new Map<string, string[]>();

/** Reads a run's selected classes, once per process. */
export async function loadSelection(redis: Redis, prefix: string, runId: string): Promise<string[]> {
  const key = storedSelectionKey(prefix, runId);
  const cached = cache.get(key);
  if (cached) return cached;
  const text = await redis.get(key);
  if (text === null) throw new FatalError(`The selected classes of run ${runId} are not stored on the source (${key}): its plan step did not run, or the run is older than 7 days.`);
  const classes = JSON.parse(text) as string[];
  if (cache.size > 16) cache.clear();
  cache.set(key, classes);
  return classes;
}
