import type { RubyAtom } from '../ruby-value.js';

/**
 * One worker as GitLab's matcher sees it: a record of `all_queues.yml` (see gitlab-reference §2.1).
 * Attribute names follow the query language (`worker_name`, `feature_category`, …) in camelCase.
 */
export interface WorkerMetadata {
  /** The generated queue name (namespace-prefixed). Routing never changes it. */
  readonly name: string;
  /** The Ruby class name; nil only for the `default` placeholder. */
  readonly workerName: string | null;
  readonly featureCategory: RubyAtom | null;
  readonly hasExternalDependencies: boolean | null;
  readonly urgency: RubyAtom | null;
  readonly resourceBoundary: RubyAtom | null;
  /** Not queryable; kept because it is part of the record. */
  readonly weight: number | null;
  /** Not queryable; kept because it is part of the record. */
  readonly idempotent: boolean | null;
  readonly tags: readonly RubyAtom[];
  readonly queueNamespace: RubyAtom | null;
  /**
   * GitLab's `default` and `mailers` placeholder entries: they make those queues visible but are
   * not workers, so they are never routed and never appear in the class → queue mapping.
   */
  readonly placeholder: boolean;
  /** Where the record came from, for messages: file and 1-based entry number. */
  readonly source: { readonly file: string; readonly entry: number };
}

/** A loaded catalog: every record of one or more `all_queues.yml` files, in file order. */
export interface WorkerCatalog {
  readonly workers: readonly WorkerMetadata[];
  readonly files: readonly string[];
  /** Things worth telling the user that do not stop us (e.g. a name that disagrees with GitLab's rule). */
  readonly warnings: readonly string[];
}

/** The real workers of a catalog: what routing rules apply to. */
export function realWorkers(catalog: WorkerCatalog): WorkerMetadata[] {
  return catalog.workers.filter((w) => !w.placeholder);
}
