import { InputError } from '../errors/input-error.js';
import type { GitLabRouting } from '../routing/gitlab-routing.js';
import { MAIN_STORE } from './main-store.js';

export interface StoreSelection {
  /** The workers whose first matching rule names the store, in catalog order. */
  readonly classes: string[];
  /** Each of them → the queue that rule routes it to (its generated queue name when the rule's is null). */
  readonly mapping: ReadonlyMap<string, string>;
}

/**
 * The workers GitLab sends to Redis `store`: those whose FIRST matching routing rule names it as
 * its third element. `main` selects those whose first matching rule names no store, or names
 * `main` (GitLab's Gitlab::SidekiqSharding::Router takes either to its default instance), or that
 * no rule matches: where a class goes back when its rule loses the store.
 */
export function selectByStore(routing: GitLabRouting, store: string): StoreSelection {
  const mapping = new Map<string, string>();
  for (const route of routing.routes) {
    if ((route.rule?.store ?? MAIN_STORE) === store) mapping.set(route.worker.workerName, route.queue);
  }
  if (mapping.size === 0) {
    const named = [...new Set(routing.router.rules.flatMap((r) => (r.store === null ? [] : [r.store])))].sort();
    const known = named.length === 0 ? 'no rule names a store' : `the stores its rules name: ${named.join(', ')}`;
    throw new InputError(`--store ${store}: no worker's first matching rule in ${routing.rulesOrigin} sends it to ${store === MAIN_STORE ? 'the main store (no store)' : `store ${store}`}, so nothing is selected (${known}; main: workers whose rule names none).`);
  }
  return { classes: [...mapping.keys()], mapping };
}
