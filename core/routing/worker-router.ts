import type { WorkerMetadata } from './catalog/worker-metadata.js';
import { compileRoutingRules, type RoutingRule } from './routing-rule.js';

export interface Route {
  /** Where the worker's jobs are enqueued. */
  readonly queue: string;
  /** The rule that decided, or null when no rule matched (the worker keeps its generated queue). */
  readonly rule: RoutingRule | null;
}

/**
 * Routes workers the way GitLab's Sidekiq client does (gitlab-reference §5): the first rule whose
 * query matches wins; a nil or blank destination, or no matching rule, means the worker's
 * generated queue name (`name`). Explicit destinations are used verbatim: no namespace prefix.
 */
export class WorkerRouter {
  readonly rules: readonly RoutingRule[];

  constructor(rules: unknown) {
    this.rules = compileRoutingRules(rules);
  }

  route(worker: WorkerMetadata): Route {
    const rule = this.rules.find((r) => r.query.matches(worker)) ?? null;
    return { queue: rule?.queue ?? worker.name, rule };
  }
}
