import { realWorkers, type WorkerCatalog, type WorkerMetadata } from './catalog/worker-metadata.js';
import type { Route, WorkerRouter } from './worker-router.js';

export interface WorkerRoute extends Route {
  readonly worker: WorkerMetadata & { readonly workerName: string };
}

/** Routes every real worker of the catalog (placeholders excluded), in catalog order. */
export function routeCatalog(catalog: WorkerCatalog, router: WorkerRouter): WorkerRoute[] {
  return realWorkers(catalog).map((worker) => ({ worker: worker as WorkerRoute['worker'], ...router.route(worker) }));
}

/**
 * The class → queue mapping GitLab's migrators use (gitlab-reference §2.4): one entry per real
 * worker, keyed by class name. No placeholder, so no ActionMailer or other ActiveJob wrapper.
 */
export function classMapping(routes: readonly WorkerRoute[]): Map<string, string> {
  return new Map(routes.map((r) => [r.worker.workerName, r.queue]));
}

/**
 * GitLab's `routing_queues`: the sorted distinct destinations of all workers, plus the
 * placeholders' own queues (`default`, `mailers`): the queues some Sidekiq process must listen to.
 */
export function routingQueues(catalog: WorkerCatalog, routes: readonly WorkerRoute[]): string[] {
  const queues = new Set(routes.map((r) => r.queue));
  for (const w of catalog.workers) if (w.placeholder) queues.add(w.name);
  return [...queues].sort();
}
