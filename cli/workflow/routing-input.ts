import { buildGitLabRouting } from '../../core/routing/gitlab-routing.js';
import { storesNotUsedByReroute } from '../../core/routing/lint-routing.js';
import { loadClassMapping } from '../../core/routing/load-class-mapping.js';
import { parseQueueRenames } from '../../core/routing/parse-queue-renames.js';
import type { SelectionFlags } from '../../core/selection/resolve-selection.js';
import type { RoutingInput } from '../../core/workflow/workflow-input.js';

/** The routing options (`--catalog --rules`, `--mapping`, `--rename`), as a selection has them too. */
export type RoutingFlags = Pick<SelectionFlags, 'catalog' | 'rules' | 'environment' | 'mapping' | 'rename' | 'strict'>;

/**
 * The routing an execution gets, resolved here from the files given on the command line: rules
 * over a catalog become the class mapping GitLab would use (so catalogs of any size never travel
 * through the state machine), a mapping file is read and checked, renames are parsed. Warnings of
 * the rules review are returned for the caller to show.
 */
export function routingInputFromFlags(flags: RoutingFlags): { routing?: RoutingInput; warnings: string[] } {
  if (flags.rules !== undefined) {
    const routing = buildGitLabRouting({ catalogPaths: flags.catalog, rules: { path: flags.rules, environment: flags.environment }, strict: flags.strict });
    return {
      // GitLab's live queues travel along: `--unmapped quarantine` must never empty `mailers`.
      routing: { kind: 'mapping', mapping: Object.fromEntries(routing.mapping), liveQueues: [...routing.liveQueues] },
      warnings: [...routing.catalog.warnings, ...[...routing.findings, ...storesNotUsedByReroute(routing.router.rules, routing.routes)].map((f) => f.message)],
    };
  }
  if (flags.mapping !== undefined) return { routing: { kind: 'mapping', mapping: Object.fromEntries(loadClassMapping(flags.mapping)) }, warnings: [] };
  if (flags.rename.length > 0) return { routing: { kind: 'renames', renames: Object.fromEntries(parseQueueRenames(flags.rename)) }, warnings: [] };
  return { warnings: [] };
}
