/** The rule GitLab substitutes when `sidekiq.routing_rules` is unset or empty: everything to `default`. */
export const GITLAB_DEFAULT_RULES: readonly (readonly [string, string])[] = Object.freeze([Object.freeze(['*', 'default'] as const)]);

/**
 * GitLab's settings layer (`build_sidekiq_routing_rules`): rules that are nil or `empty?` become
 * `[['*', 'default']]` (GitLab ≥ 15.4, reinstated after 15.4.5). Ruby's `empty?` holds for `[]`, and
 * also for `""` and `{}` (`routing_rules: ""` in gitlab.yml): GitLab routes every worker to default
 * for them too. Anything else is passed to the router unchanged, to be validated there.
 */
export function applyGitLabDefaultRules(rules: unknown): { rules: unknown; defaulted: boolean } {
  return isEmptyInRuby(rules) ? { rules: GITLAB_DEFAULT_RULES.map((r) => [...r]), defaulted: true } : { rules, defaulted: false };
}

/** nil, or a value whose Ruby `empty?` is true: an empty list, string or mapping. */
function isEmptyInRuby(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype && Object.keys(value).length === 0;
}
