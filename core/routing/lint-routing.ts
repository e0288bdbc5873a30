import type { WorkerRoute } from './catalog-routes.js';
import type { RoutingRule } from './routing-rule.js';
import { MAIN_STORE } from '../selection/main-store.js';

export interface LintFinding {
  readonly code:
    | 'default-rules' // no rules configured: GitLab routes everything to `default`
    | 'unreachable-rule' // after a rule that matches everything
    | 'rule-matches-nothing' // no worker of the catalog matches
    | 'rule-shadowed' // every worker it matches was taken by an earlier rule
    | 'destination-without-workers' // a rule's queue receives no worker
    | 'no-catch-all' // the last rule is not `*`
    | 'query-quirk' // an accepted-but-surprising query
    | 'nil-as-string' // a queue spelled "nil": in YAML/JSON that is a queue named nil
    | 'store-not-used'; // a re-route keeps jobs on its one Redis whatever store a rule names
  /** 1-based rule position, when the finding is about one rule. */
  readonly rule?: number;
  readonly message: string;
}

/**
 * Reviews a rule set against the catalog it routes: what GitLab would accept without a word but
 * an operator would want to know before migrating jobs with it.
 */
export function lintRouting(rules: readonly RoutingRule[], routes: readonly WorkerRoute[], defaulted: boolean): LintFinding[] {
  const findings: LintFinding[] = [];
  const label = (r: RoutingRule) => `Rule ${r.position} ${JSON.stringify([r.query.source, r.queue])}`;
  if (defaulted) {
    findings.push({ code: 'default-rules', message: 'No routing rules are configured: GitLab uses [["*", "default"]], so every worker goes to default.' });
  }

  const decidedBy = new Map<RoutingRule, number>();
  for (const route of routes) if (route.rule) decidedBy.set(route.rule, (decidedBy.get(route.rule) ?? 0) + 1);
  const firstUniversal = rules.find((r) => r.query.universal);

  for (const rule of rules) {
    for (const quirk of rule.query.quirks) findings.push({ code: 'query-quirk', rule: rule.position, message: `${label(rule)}: ${quirk.message}` });
    if (firstUniversal && rule.position > firstUniversal.position) {
      findings.push({ code: 'unreachable-rule', rule: rule.position, message: `${label(rule)} can never match: rule ${firstUniversal.position} before it matches every worker.` });
    } else if (!decidedBy.has(rule)) {
      const matchesAny = routes.some((r) => rule.query.matches(r.worker));
      findings.push(
        matchesAny
          ? { code: 'rule-shadowed', rule: rule.position, message: `${label(rule)} routes no worker: every worker it matches is taken by an earlier rule.` }
          : { code: 'rule-matches-nothing', rule: rule.position, message: `${label(rule)} matches no worker of the catalog.` },
      );
    }
    if (rule.queue !== null && /^(nil|null|none|~)$/i.test(rule.queue)) {
      findings.push({ code: 'nil-as-string', rule: rule.position, message: `${label(rule)} sends workers to a queue literally named ${JSON.stringify(rule.queue)}; for the generated queue name write null (JSON/YAML) — Ruby's nil.` });
    }
  }

  const destinations = new Set(routes.map((r) => r.queue));
  const reported = new Set<string>();
  for (const rule of rules) {
    if (rule.queue === null || destinations.has(rule.queue) || reported.has(rule.queue)) continue;
    reported.add(rule.queue);
    findings.push({ code: 'destination-without-workers', rule: rule.position, message: `Queue ${JSON.stringify(rule.queue)} (rule ${rule.position}) receives no worker.` });
  }

  const last = rules[rules.length - 1];
  if (last && !last.query.universal) {
    const unmatched = routes.filter((r) => r.rule === null).length;
    findings.push({
      code: 'no-catch-all',
      rule: last.position,
      message: `The last rule is not "*" (GitLab warns: sidekiq.routing_rules config is missing a catch-all rule): ${unmatched} worker(s) match no rule and use their generated queue names, each of which some Sidekiq process must listen to.`,
    });
  }
  return findings;
}

/**
 * For a re-route (`run`, and `move` or `start` without a store selection): every rule that decides
 * some worker and names a Redis store other than main. A re-route writes jobs to the one Redis it is
 * given, as GitLab's migrate_jobs tasks do on its main store; once GitLab routes those workers to
 * the store, their jobs are fetched there, so the operator must know the store was not used.
 */
export function storesNotUsedByReroute(rules: readonly RoutingRule[], routes: readonly WorkerRoute[]): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const rule of rules) {
    if (rule.store === null || rule.store === MAIN_STORE) continue;
    const workers = routes.filter((r) => r.rule === rule);
    if (workers.length === 0) continue;
    const store = rule.store;
    const queues = [...new Set(workers.map((r) => r.queue))];
    const where = queues.length === 1 ? `the queue ${queues[0]}` : `their queues (${queues.join(', ')})`;
    findings.push({
      code: 'store-not-used',
      rule: rule.position,
      message:
        `Rule ${rule.position} ${JSON.stringify([rule.query.source, rule.queue, store])} names the Redis store ${store}, which a re-route does not use: ` +
        `the jobs of its ${workers.length} worker(s) go to ${where} on the Redis this command writes to, as GitLab's migrate_jobs tasks do on its main store. ` +
        `Once GitLab routes them to ${store} (feature flag sidekiq_route_to_${store}), carry them there with move --store ${store} (docs/runbooks/sidekiq-shard.md).`,
    });
  }
  return findings;
}
