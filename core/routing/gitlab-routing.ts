import { loadCatalog } from './catalog/load-catalog.js';
import type { WorkerCatalog } from './catalog/worker-metadata.js';
import { classMapping, routeCatalog, routingQueues, type WorkerRoute } from './catalog-routes.js';
import { applyGitLabDefaultRules } from './gitlab-default-rules.js';
import { InvalidRoutingRuleError } from './invalid-routing-rule-error.js';
import { lintRouting, type LintFinding } from './lint-routing.js';
import { loadRoutingRules } from './load-routing-rules.js';
import { WorkerRouter } from './worker-router.js';
import { InputError } from '../errors/input-error.js';

export interface GitLabRouting {
  readonly catalog: WorkerCatalog;
  readonly router: WorkerRouter;
  /** Every real worker with its destination, in catalog order. */
  readonly routes: readonly WorkerRoute[];
  /** Worker class → queue: what the migrators use. */
  readonly mapping: ReadonlyMap<string, string>;
  /** The queues some Sidekiq process must listen to (GitLab's `routing_queues`). */
  readonly routingQueues: readonly string[];
  /**
   * Queues never to empty of jobs we cannot route: `routingQueues`, every queue a rule names,
   * and `mailers` and `default` (ActionMailer and placeholders: rules cannot route mail).
   */
  readonly liveQueues: readonly string[];
  readonly findings: readonly LintFinding[];
  /** Where the rules came from, for messages. */
  readonly rulesOrigin: string;
}

export interface GitLabRoutingInput {
  /** Catalog files, or an already loaded catalog. */
  readonly catalogPaths?: readonly string[];
  readonly catalog?: WorkerCatalog;
  /** A rules file (JSON/YAML list, or gitlab.yml); or the rules themselves. */
  readonly rules: { readonly path: string; readonly environment?: string; readonly environmentGiven?: string } | { readonly value: unknown; readonly origin: string };
  /** Refuse accepted-but-surprising queries instead of warning about them. */
  readonly strict?: boolean;
}

/**
 * Everything routing needs, built once: catalog, rules (with GitLab's default when none are
 * configured), the route of every worker, the class mapping and the lint findings. Any error is
 * an `InputError` whose message is GitLab's; `where` tells the CLI which rule it came from.
 */
export function buildGitLabRouting(input: GitLabRoutingInput): GitLabRouting {
  const catalog = input.catalog ?? loadCatalog(input.catalogPaths ?? []);
  const loaded = 'path' in input.rules ? loadRoutingRules(input.rules.path, input.rules.environment, input.rules.environmentGiven) : { rules: input.rules.value, origin: input.rules.origin };
  const { rules, defaulted } = applyGitLabDefaultRules(loaded.rules);
  const router = withRuleLocation(() => new WorkerRouter(rules), rules, loaded.origin);
  if (input.strict) refuseQuirks(router, loaded.origin);
  const routes = routeCatalog(catalog, router);
  const queues = routingQueues(catalog, routes);
  const named = router.rules.flatMap((r) => (r.queue === null ? [] : [r.queue]));
  return {
    catalog,
    router,
    routes,
    mapping: classMapping(routes),
    routingQueues: queues,
    liveQueues: [...new Set([...GITLAB_ALWAYS_LIVE, ...queues, ...named])].sort(),
    findings: lintRouting(router.rules, routes, defaulted),
    rulesOrigin: loaded.origin,
  };
}

/** Queues a GitLab instance always fetches from, whatever its rules: mail, and the fallback queue. */
export const GITLAB_ALWAYS_LIVE = ['default', 'mailers'] as const;

/** Re-raises a rule's compile error with the rule's position attached as `where`. */
function withRuleLocation<T>(build: () => T, rules: unknown, origin: string): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof InputError && Array.isArray(rules)) {
      const position = locateFailingRule(rules);
      if (position !== null) {
        error.where = `routing rule ${position} of ${origin}`;
        const others = failingRulesAfter(rules, position);
        // Every rule invalid (the worker catalog given as the rules): the file is the mistake.
        if (others.length > 0 && others.length === rules.length - 1) error.more = { heading: `All ${rules.length} rules of ${origin} are invalid: is it the routing rules file?`, items: [] };
        else if (others.length > 0) error.more = { heading: `${others.length} more invalid rule(s) in ${origin}:`, items: shownRules(others) };
      } else error.where ??= origin;
    } else if (error instanceof InputError) error.where ??= origin;
    throw error;
  }
}

function locateFailingRule(rules: unknown[]): number | null {
  for (let i = 0; i < rules.length; i++) {
    try {
      new WorkerRouter([rules[i]]);
    } catch {
      return i + 1;
    }
  }
  return null;
}

/**
 * The rules after `position` (1-based) that fail alone, each as "routing rule N: GitLab's words"
 * (their first line, at most 200 characters): GitLab raises on the first, and a file with several
 * mistakes took a run for each.
 */
function failingRulesAfter(rules: unknown[], position: number): string[] {
  const failing: string[] = [];
  for (let i = position; i < rules.length; i++) {
    try {
      new WorkerRouter([rules[i]]);
    } catch (error) {
      const words = (error as Error).message.split('\n')[0]!;
      failing.push(`routing rule ${i + 1}: ${words.length > 200 ? `${words.slice(0, 200)}…` : words}`);
    }
  }
  return failing;
}

/** At most 10 of them, then how many more (the worker catalog given as the rules fails every one). */
function shownRules(failing: readonly string[]): string[] {
  return failing.length <= 10 ? [...failing] : [...failing.slice(0, 10), `… and ${failing.length - 10} more`];
}

function refuseQuirks(router: WorkerRouter, origin: string): void {
  const problems = router.rules.flatMap((r) => r.query.quirks.map((q) => `rule ${r.position}: ${q.message}`));
  if (problems.length > 0) {
    const error = new InvalidRoutingRuleError(`Refused by --strict (GitLab accepts these, but they are probably mistakes):\n  - ${problems.join('\n  - ')}`);
    error.where = origin;
    throw error;
  }
}
