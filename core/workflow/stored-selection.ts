import type { Redis } from 'ioredis';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { cacheKey, replacedError, storedDigest } from './stored-routing.js';

/**
 * The classes a selective transfer carries (500 class names are ~20 KB) are stored once, on the
 * source, by its plan (store-run-plan.ts), where page steps read them: carried in every state they
 * would crowd Step Functions' 256 KB.
 */
export const storedSelectionKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:classes`;

/** A selection as it is stored (the plan step stores it with the run's list: store-run-plan.ts). */
export const selectionJson = (classes: readonly string[]): string => JSON.stringify(classes);

/** Keeps a selection just stored (`text`) for this process's page steps; returns its digest. */
export function rememberSelection(prefix: string, runId: string, text: string, classes: readonly string[]): string {
  const digest = storedDigest(text);
  cache.set(cacheKey(storedSelectionKey(prefix, runId), digest), [...classes]);
  return digest;
}

// One entry per run and stored version, as the routing's (stored-routing.ts).
const cache = new Map<string, string[]>();

/** Reads a run's selected classes, once per process and version (`digest`: as loadRouting's). */
export async function loadSelection(redis: Redis, prefix: string, runId: string, digest?: string): Promise<string[]> {
  const key = storedSelectionKey(prefix, runId);
  const cached = cache.get(cacheKey(key, digest));
  if (cached) return cached;
  const text = await redis.get(key);
  if (text === null) throw new FatalError(`The selected classes of run ${runId} are not stored on the source (${key}): its plan step did not run, or no page of the run ran for 7 days.`);
  if (digest !== undefined && storedDigest(text) !== digest) throw replacedError('selection of classes', runId, key);
  const classes = JSON.parse(text) as string[];
  if (cache.size > 16) cache.clear();
  cache.set(cacheKey(key, digest), classes);
  return classes;
}
