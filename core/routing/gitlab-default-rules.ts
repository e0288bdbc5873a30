/** The rule GitLab substitutes when `sidekiq.routing_rules` is unset or empty: everything to `default`. */
export const GITLAB_DEFAULT_RULES: readonly (readonly [string, string])[] = Object.freeze([Object.freeze(['*', 'default'] as const)]);

/**
 * GitLab's settings layer: nil or `[]` become `[['*', 'default']]` (GitLab ≥ 15.4, reinstated
 * after 15.4.5); anything else is passed to the router unchanged, to be validated there.
 */
export function applyGitLabDefaultRules(rules: unknown): { rules: unknown; defaulted: boolean } {
  const empty = rules === null || rules === undefined || (Array.isArray(rules) && rules.length === 0);
  return empty ? { rules: GITLAB_DEFAULT_RULES.map((r) => [...r]), defaulted: true } : { rules, defaulted: false };
}
