import { fileURLToPath } from 'node:url';
import { atomText } from '../../core/routing/ruby-value.js';
import { buildGitLabRouting } from '../../core/routing/gitlab-routing.js';
import { classRoutingPlan, type ClassRoutingPlan } from '../../core/routing/routing-plan.js';
import { RULES } from '../config.js';

/** A real GitLab worker with where its jobs sit before the rules apply and where they belong. */
export interface BenchWorker {
  readonly className: string;
  /** The generated (per-worker) queue name: where jobs sat before routing rules. */
  readonly ownQueue: string;
  /** Where the rules send it. */
  readonly destination: string;
  readonly featureCategory: string;
  readonly queueNamespace: string | null;
}

export interface BenchRouting {
  readonly plan: ClassRoutingPlan;
  /** Every real worker of the CE catalog, in catalog order. */
  readonly workers: readonly BenchWorker[];
}

const CE_CATALOG = fileURLToPath(new URL('../../test/fixtures/gitlab/all_queues.yml', import.meta.url));

/** The class → queue mapping GitLab's rake tasks would use with RULES over the CE catalog. */
export function benchRouting(): BenchRouting {
  const routing = buildGitLabRouting({ catalogPaths: [CE_CATALOG], rules: { value: RULES.map((r) => [...r]), origin: 'bench/config.ts RULES' } });
  const workers = routing.routes.map((r) => ({
    className: r.worker.workerName,
    ownQueue: r.worker.name,
    destination: r.queue,
    featureCategory: r.worker.featureCategory === null ? 'not_owned' : atomText(r.worker.featureCategory),
    queueNamespace: r.worker.queueNamespace === null ? null : atomText(r.worker.queueNamespace),
  }));
  return { plan: classRoutingPlan(routing.mapping), workers };
}
