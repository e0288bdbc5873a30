import { describe, expect, it } from 'vitest';
import { buildGitLabRouting, type GitLabRouting } from '../../../core/routing/gitlab-routing.js';
import { lintRouting, type LintFinding } from '../../../core/routing/lint-routing.js';
import { routeCatalog } from '../../../core/routing/catalog-routes.js';
import { loadCatalog } from '../../../core/routing/catalog/load-catalog.js';
import { WorkerRouter } from '../../../core/routing/worker-router.js';
import { CE_CATALOG_PATH } from './support/workers.js';

// Findings about a rule set that GitLab accepts silently but an operator should hear about before
// moving jobs with it. Each code once, over the CE catalog.

const routeCe = (rules: unknown): GitLabRouting => buildGitLabRouting({ catalogPaths: [CE_CATALOG_PATH], rules: { value: rules, origin: 'test' } });
const ofCode = (routing: GitLabRouting, code: LintFinding['code']) => routing.findings.filter((f) => f.code === code);

// GitLab's documented "detailed example": every rule routes workers of the CE catalog.
const CLEAN_RULES = [
  ['resource_boundary!=cpu&urgency=high', 'high-urgency'],
  ['feature_category=database,gitaly,global_search&urgency=throttled', 'throttled'],
  ['has_external_dependencies=true|feature_category=hooks|tags=network', 'network-intensive'],
  ['*', 'default'],
];

describe('lintRouting', () => {
  it('finds nothing in a clean rule set', () => {
    expect(routeCe(CLEAN_RULES).findings).toEqual([]);
  });

  it('default-rules: no rules configured', () => {
    // Act
    const routing = routeCe(null);

    // Assess
    expect(routing.findings).toEqual([
      { code: 'default-rules', message: 'No routing rules are configured: GitLab uses [["*", "default"]], so every worker goes to default.' },
    ]);
  });

  it('unreachable-rule: a rule after `*`', () => {
    // Act
    const routing = routeCe([
      ['urgency=high', 'high'],
      ['*', 'default'],
      ['urgency=low', 'low'],
    ]);

    // Assess
    expect(ofCode(routing, 'unreachable-rule')).toEqual([
      { code: 'unreachable-rule', rule: 3, message: 'Rule 3 ["urgency=low","low"] can never match: rule 2 before it matches every worker.' },
    ]);
  });

  it('unreachable-rule: also after an always-true empty alternative', () => {
    // Act
    const routing = routeCe([
      ['urgency=throttled|', 'throttled'],
      ['|urgency=high', 'high'],
      ['*', 'default'],
    ]);

    // Assess
    expect(ofCode(routing, 'unreachable-rule').map((f) => f.rule)).toEqual([3]);
    expect(routing.mapping.get('PostReceive')).toBe('high'); // rule 2 takes every non-throttled worker
  });

  it('rule-matches-nothing: a query no worker of the catalog satisfies', () => {
    // Act
    const routing = routeCe([
      ['feature_category=not_exist', 'not_exist'],
      ['*', 'default'],
    ]);

    // Assess
    expect(ofCode(routing, 'rule-matches-nothing')).toEqual([
      { code: 'rule-matches-nothing', rule: 1, message: 'Rule 1 ["feature_category=not_exist","not_exist"] matches no worker of the catalog.' },
    ]);
    expect(ofCode(routing, 'rule-shadowed')).toEqual([]);
  });

  it('rule-shadowed: every worker it matches is taken by an earlier rule', () => {
    // Act: the 22 high+cpu workers all go to `high` first.
    const routing = routeCe([
      ['urgency=high', 'high'],
      ['urgency=high&resource_boundary=cpu', 'cpu'],
      ['*', 'default'],
    ]);

    // Assess
    expect(ofCode(routing, 'rule-shadowed')).toEqual([
      {
        code: 'rule-shadowed',
        rule: 2,
        message: 'Rule 2 ["urgency=high&resource_boundary=cpu","cpu"] routes no worker: every worker it matches is taken by an earlier rule.',
      },
    ]);
    expect(ofCode(routing, 'rule-matches-nothing')).toEqual([]);
  });

  it('destination-without-workers: a queue no worker is routed to, reported once per queue', () => {
    // Act
    const routing = routeCe([
      ['feature_category=not_exist', 'ghost'],
      ['tags=needs_own_queue', 'ghost'],
      ['tags=also_missing', null],
      ['*', 'default'],
    ]);

    // Assess: the nil destination is not a queue, so it is not reported.
    expect(ofCode(routing, 'destination-without-workers')).toEqual([
      { code: 'destination-without-workers', rule: 1, message: 'Queue "ghost" (rule 1) receives no worker.' },
    ]);
  });

  it('destination-without-workers: not reported when another rule routes workers to the same queue', () => {
    // Act
    const routing = routeCe([
      ['feature_category=not_exist', 'default'],
      ['*', 'default'],
    ]);

    // Assess
    expect(ofCode(routing, 'destination-without-workers')).toEqual([]);
  });

  it('no-catch-all: the last rule is not `*`, with GitLab\'s warning text and the count of unrouted workers', () => {
    // Act: 51 high-urgency workers are routed, 567 - 51 = 516 keep their generated names.
    const routing = routeCe([['urgency=high', 'high']]);

    // Assess
    const findings = ofCode(routing, 'no-catch-all');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.rule).toBe(1);
    expect(findings[0]!.message).toContain('sidekiq.routing_rules config is missing');
    expect(findings[0]!.message).toContain(': 516 worker(s) match no rule');
  });

  it('no-catch-all: not reported when the last rule matches everything through an empty alternative', () => {
    expect(ofCode(routeCe([['urgency=high', 'high'], ['|tags=x', 'default']]), 'no-catch-all')).toEqual([]);
  });

  it('query-quirk: one finding per accepted-but-surprising part of a query', () => {
    // Act
    const routing = routeCe([
      ['urgency=high|', 'high'],
      ['*', 'default'],
    ]);

    // Assess
    expect(ofCode(routing, 'query-quirk')).toEqual([
      { code: 'query-quirk', rule: 1, message: 'Rule 1 ["urgency=high|","high"]: The trailing "|" of "urgency=high|" is ignored.' },
    ]);
  });

  it('a rule naming a Redis store is not a finding: move --store follows stores', () => {
    // Act
    const routing = routeCe([
      ['urgency=high', 'high', 'queues_shard_catchall_b'],
      ['*', 'default'],
    ]);

    // Assess
    expect(routing.findings).toEqual([]);
    expect(routing.router.rules[0]!.store).toBe('queues_shard_catchall_b');
  });

  it.each(['nil', 'null', 'NULL', 'None', '~'])('nil-as-string: a queue literally named %j', (queue) => {
    // Act
    const routing = routeCe([
      ['urgency=high', queue],
      ['*', 'default'],
    ]);

    // Assess
    const findings = ofCode(routing, 'nil-as-string');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.rule).toBe(1);
    expect(findings[0]!.message).toContain(`sends workers to a queue literally named ${JSON.stringify(queue)}`);
    expect(routing.mapping.get('MergeWorker')).toBe(queue); // GitLab uses it verbatim
  });

  it('nil-as-string: not reported for a real nil, nor for a queue that merely contains "nil"', () => {
    expect(ofCode(routeCe([['urgency=high', null], ['urgency=low', 'nil_queue'], ['*', 'default']]), 'nil-as-string')).toEqual([]);
  });

  it('lists findings rule by rule, whole-set findings last', () => {
    // Act
    const codes = routeCe([
      ['urgency=high|', 'nil', 'store'],
      ['urgency=high', 'ghost'],
    ]).findings.map((f) => [f.code, f.rule]);

    // Assess
    expect(codes).toEqual([
      ['query-quirk', 1],
      ['nil-as-string', 1],
      ['rule-shadowed', 2],
      ['destination-without-workers', 2],
      ['no-catch-all', 2],
    ]);
  });

  it('can be called on its own with a router and routes', () => {
    // Prepare
    const router = new WorkerRouter([['*', 'default']]);
    const routes = routeCatalog(loadCatalog([CE_CATALOG_PATH]), router);

    // Act / Assess
    expect(lintRouting(router.rules, routes, false)).toEqual([]);
    expect(lintRouting(router.rules, routes, true).map((f) => f.code)).toEqual(['default-rules']);
  });
});
