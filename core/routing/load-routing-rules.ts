import { readStructuredFile } from '../config/read-structured-file.js';
import { InvalidRoutingRuleError } from './invalid-routing-rule-error.js';

export interface LoadedRoutingRules {
  /** The rules as configured (before GitLab's default substitution); null when not configured. */
  readonly rules: unknown;
  /** Where in the file they were found, for messages: "rules.yml" or "gitlab.yml production.sidekiq.routing_rules". */
  readonly origin: string;
}

/**
 * Reads routing rules from a file holding either the rule list itself (JSON or YAML, an array of
 * `[query, queue]` pairs) or a `gitlab.yml`, where they live at `<environment>.sidekiq.routing_rules`
 * (`production` by default). A gitlab.yml without routing rules yields null, which GitLab turns
 * into its default rule.
 */
export function loadRoutingRules(path: string, environment = 'production'): LoadedRoutingRules {
  const content = readStructuredFile(path, 'routing rules file');
  if (Array.isArray(content) || content === null) return { rules: content, origin: path };
  // Its own key only: `in` would find `constructor` or `__proto__` on every object, and a section
  // found there holds no rules, which GitLab's default turns into "every worker to default".
  if (typeof content === 'object' && Object.hasOwn(content, environment)) {
    const env = (content as Record<string, unknown>)[environment];
    const sidekiq = isObject(env) ? env['sidekiq'] : undefined;
    const rules = isObject(sidekiq) ? sidekiq['routing_rules'] : undefined;
    return { rules: rules ?? null, origin: `${path} ${environment}.sidekiq.routing_rules` };
  }
  throw new InvalidRoutingRuleError(
    `${path}: expected a list of [query, queue] routing rules, or a gitlab.yml with ${environment}.sidekiq.routing_rules`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
