import { parseCatalogText } from '../routing/catalog/load-catalog.js';
import { buildGitLabRouting } from '../routing/gitlab-routing.js';
import { classRoutingPlan, renameRoutingPlan, type RoutingPlan } from '../routing/routing-plan.js';
import { parseQueueRenames } from '../routing/parse-queue-renames.js';
import type { RoutingInput } from './workflow-input.js';

/** Turns an execution's routing input into the plan the page steps use (GitLab's semantics for rules). */
export function resolveRoutingInput(routing: RoutingInput): RoutingPlan {
  switch (routing.kind) {
    case 'rules': {
      const { workers, warnings } = parseCatalogText(routing.catalogYaml, 'the catalog of the execution input');
      const built = buildGitLabRouting({ catalog: { workers, warnings, files: ['execution input'] }, rules: { value: routing.rules, origin: 'the execution input' } });
      return classRoutingPlan(built.mapping);
    }
    case 'mapping':
      return classRoutingPlan(new Map(Object.entries(routing.mapping)));
    case 'renames':
      // The same validation as --rename: no self-renames, no chains.
      return renameRoutingPlan(parseQueueRenames(Object.entries(routing.renames).map(([from, to]) => `${from}=${to}`)));
  }
}
