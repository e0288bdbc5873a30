import { atomKey, type RubyAtom } from '../ruby-value.js';
import type { WorkerMetadata } from '../catalog/worker-metadata.js';

/**
 * The attributes a worker matching query may test, and how each compares (gitlab-reference §4.2).
 * A term `attr=v1,v2` holds when the worker's value *as a set* intersects the query's values, so
 * every predicate turns a worker into a set of comparison keys and a query value into one key.
 * A nil attribute is the empty set: `=` never matches it and `!=` always does.
 */
export interface Predicate {
  workerValues(worker: WorkerMetadata): ReadonlySet<string>;
  queryValue(text: string): string;
}

const stringKey = (s: string) => JSON.stringify(s);
const symbolKey = (s: string) => `:${s}`;

const atom = (get: (w: WorkerMetadata) => RubyAtom | null): Predicate => ({
  workerValues: (w) => {
    const value = get(w);
    return new Set(value === null ? [] : [atomKey(value)]);
  },
  queryValue: symbolKey,
});

export const PREDICATES: Readonly<Record<string, Predicate>> = {
  worker_name: {
    workerValues: (w) => new Set(w.workerName === null ? [] : [stringKey(w.workerName)]),
    queryValue: stringKey,
  },
  name: { workerValues: (w) => new Set([stringKey(w.name)]), queryValue: stringKey },
  feature_category: atom((w) => w.featureCategory),
  urgency: atom((w) => w.urgency),
  resource_boundary: atom((w) => w.resourceBoundary),
  queue_namespace: atom((w) => w.queueNamespace),
  tags: { workerValues: (w) => new Set(w.tags.map(atomKey)), queryValue: symbolKey },
  // Only the exact string "true" is true; `=false`, `=TRUE`, `=yes` all mean false.
  has_external_dependencies: {
    workerValues: (w) => new Set(w.hasExternalDependencies === null ? [] : [String(w.hasExternalDependencies)]),
    queryValue: (text) => String(text === 'true'),
  },
};

export const PREDICATE_NAMES: readonly string[] = Object.keys(PREDICATES);
