import { describe, expect, it } from 'vitest';
import { applyGitLabDefaultRules, GITLAB_DEFAULT_RULES } from '../../../core/routing/gitlab-default-rules.js';
import { buildGitLabRouting } from '../../../core/routing/gitlab-routing.js';
import { InvalidRoutingRuleError } from '../../../core/routing/invalid-routing-rule-error.js';
import { InvalidTermError, UnknownPredicateError } from '../../../core/routing/query/query-errors.js';
import { WorkerRouter } from '../../../core/routing/worker-router.js';
import { CATALOG_M, CE_CATALOG_PATH, FOO_BAR_WORKER, routingFixture } from './support/workers.js';

// GitLab's WorkerRouter (gitlab-reference §5 and §6.3). The subject is the router spec's
// Gitlab::Foo::BarWorker: generated name foo_bar, feature_a, urgency low, cpu, tags [expensive].

const FOO_BAR_CATALOG = routingFixture('foo-bar-catalog.yml');

type Rules = unknown[];
const R02_R04_TAIL: Rules = [['tags=cheap', 'queue_c']];

const ROUTER_SPEC_CASES: [string, Rules, string, string | null][] = [
  ['R01', [], 'foo_bar', null],
  ['R02', [['feature_category=feature_b|urgency=high', 'queue_a'], ['resource_boundary=memory', 'queue_b'], ...R02_R04_TAIL], 'foo_bar', null],
  ['R03', [['feature_category=feature_b|urgency=high', 'queue_a'], ['resource_boundary=cpu', null], ...R02_R04_TAIL], 'foo_bar', null],
  ['R04', [['feature_category=feature_b|urgency=high', 'queue_a'], ['resource_boundary=cpu', ''], ...R02_R04_TAIL], 'foo_bar', null],
  ['R05', [['feature_category=feature_a|urgency=high', 'queue_a'], ['resource_boundary=cpu', 'queue_b'], ['tags=cheap', 'queue_c']], 'queue_a', null],
  ['R06', [['feature_category=feature_b|urgency=low', 'queue_a'], ['resource_boundary=cpu', 'queue_b'], ['tags=cheap', 'queue_c']], 'queue_a', null],
  ['R07', [['feature_category=feature_b|urgency=high', 'queue_a'], ['resource_boundary=memory', 'queue_b'], ['tags=expensive', 'queue_c']], 'queue_c', null],
  ['R08', [['feature_category=feature_a|urgency=low', 'queue_a'], ['resource_boundary=cpu', 'queue_b'], ['tags=expensive', 'queue_c']], 'queue_a', null],
  ['R09', [['feature_category=feature_a', 'queue_a'], ['feature_category=feature_a', 'queue_b'], ['feature_category=feature_a', 'queue_c']], 'queue_a', null],
  [
    'R10',
    [['feature_category=feature_b|urgency=high', 'queue_a'], ['resource_boundary=memory', 'queue_b'], ['tags=cheap', 'queue_c'], ['*', 'default']],
    'default',
    null,
  ],
  [
    'R11',
    [['*', 'queue_foo'], ['feature_category=feature_a|urgency=low', 'queue_a'], ['resource_boundary=cpu', 'queue_b'], ['tags=expensive', 'queue_c']],
    'queue_foo',
    null,
  ],
  [
    'R12',
    [
      ['name=foo_bar', 'queue_foo', 'store_foo'],
      ['feature_category=feature_a|urgency=low', 'queue_a'],
      ['resource_boundary=cpu', 'queue_b'],
      ['tags=expensive', 'queue_c'],
    ],
    'queue_foo',
    'store_foo',
  ],
];

describe('WorkerRouter: router spec cases R01–R12', () => {
  it.each(ROUTER_SPEC_CASES)('%s: routes Gitlab::Foo::BarWorker to %s (router built from the rules)', (_id, rules, queue, store) => {
    // Prepare
    const router = new WorkerRouter(rules);

    // Act
    const route = router.route(FOO_BAR_WORKER);

    // Assess
    expect(route.queue).toBe(queue);
    expect(route.rule?.store ?? null).toBe(store);
  });

  // GitLab's spec runs each case through the global router too. Ours is buildGitLabRouting over a
  // catalog holding the same worker. R01 is left out: with `[]` configured, GitLab's settings layer
  // substitutes the default rule before the global router sees it (D2), so it routes to `default`.
  it.each(ROUTER_SPEC_CASES.filter(([id]) => id !== 'R01'))(
    '%s: routes Gitlab::Foo::BarWorker to %s (routing built from configuration)',
    (id, rules, queue, store) => {
      // Act
      const routing = buildGitLabRouting({ catalogPaths: [FOO_BAR_CATALOG], rules: { value: rules, origin: id } });

      // Assess
      expect(routing.routes).toHaveLength(1);
      expect(routing.routes[0]!.queue).toBe(queue);
      expect(routing.routes[0]!.rule?.store ?? null).toBe(store);
      expect(routing.mapping).toEqual(new Map([['Gitlab::Foo::BarWorker', queue]]));
    },
  );

  it('R01 through configuration: `[]` is replaced by GitLab\'s default rule, so the worker goes to default', () => {
    // Act
    const routing = buildGitLabRouting({ catalogPaths: [FOO_BAR_CATALOG], rules: { value: [], origin: 'R01' } });

    // Assess
    expect(routing.mapping.get('Gitlab::Foo::BarWorker')).toBe('default');
    expect(routing.findings.map((f) => f.code)).toContain('default-rules');
  });

  it('reports which rule decided, or none', () => {
    // Prepare
    const router = new WorkerRouter(ROUTER_SPEC_CASES[6]![1]); // R07: the 3rd rule matches

    // Act
    const decided = router.route(FOO_BAR_WORKER);
    const undecided = new WorkerRouter(ROUTER_SPEC_CASES[1]![1]).route(FOO_BAR_WORKER); // R02: none matches

    // Assess
    expect(decided.rule?.position).toBe(3);
    expect(decided.rule?.raw).toEqual(['tags=expensive', 'queue_c']);
    expect(undecided.rule).toBeNull();
  });
});

describe('WorkerRouter: stores (R12, R13)', () => {
  it('R13: the stores of the rules sending to queue_foo are store_foo and store_baz, in rule order', () => {
    // Prepare
    const router = new WorkerRouter([
      ['name=foo_bar', 'queue_foo', 'store_foo'],
      ['name=bar_baz', 'queue_foo', 'store_baz'],
      ['feature_category=feature_a|urgency=low', 'queue_a'],
      ['resource_boundary=cpu', 'queue_b'],
      ['tags=expensive', 'queue_c'],
    ]);

    // Act
    const stores = router.rules.filter((r) => r.queue === 'queue_foo').map((r) => r.store);

    // Assess
    expect(stores).toEqual(['store_foo', 'store_baz']);
    expect(router.route(FOO_BAR_WORKER)).toMatchObject({ queue: 'queue_foo', rule: { store: 'store_foo' } });
    expect(router.rules.slice(2).map((r) => r.store)).toEqual([null, null, null]);
  });

  it('a 3rd element that is nil is no store', () => {
    expect(new WorkerRouter([['*', 'q', null]]).rules[0]!.store).toBeNull();
  });
});

describe('WorkerRouter: destinations', () => {
  const cronjobWorker = CATALOG_M[3]!; // WorkerC, generated name cronjob:worker_c

  it.each<[string, unknown]>([
    ['nil', null],
    ['empty', ''],
    ['single-space', ' '],
    ['whitespace', ' \t\n '],
    ['non-breaking space', '\u00a0'],
    ['next-line (U+0085, Ruby [[:space:]] but not JavaScript \\s)', '\u0085'],
    ['ideographic-space', '\u3000'],
  ])('a %s destination means the generated, namespace-prefixed name', (_label, queue) => {
    // Prepare
    const router = new WorkerRouter([['*', queue]]);

    // Act / Assess
    expect(router.route(cronjobWorker).queue).toBe('cronjob:worker_c');
    expect(router.route(FOO_BAR_WORKER).queue).toBe('foo_bar');
    expect(router.rules[0]!.queue).toBeNull();
  });

  it('an explicit destination is used verbatim: no namespace prefix, no trimming, no validation', () => {
    // Prepare
    const router = new WorkerRouter([
      ['queue_namespace=cronjob', 'cron'],
      ['urgency=high', ' padded '],
      ['*', 'Any Queue:Name!'],
    ]);

    // Act
    const queues = CATALOG_M.map((w) => router.route(w).queue);

    // Assess: WorkerA (low), WorkerA2 (high), WorkerB (high), WorkerC (cronjob).
    expect(queues).toEqual(['Any Queue:Name!', ' padded ', ' padded ', 'cron']);
  });

  it('a byte-order mark is not blank for ActiveSupport ([[:space:]] lacks U+FEFF, unlike JavaScript \\s): used verbatim', () => {
    expect(new WorkerRouter([['*', '\ufeff']]).route(FOO_BAR_WORKER).queue).toBe('\ufeff');
  });

  it('no matching rule means the generated name', () => {
    // Prepare
    const router = new WorkerRouter([['urgency=high', 'high']]);

    // Act / Assess
    expect(router.route(cronjobWorker)).toEqual({ queue: 'cronjob:worker_c', rule: null });
  });

  it('a numeric destination passes through as its text (GitLab does not check its type)', () => {
    expect(new WorkerRouter([['*', 5]]).route(FOO_BAR_WORKER).queue).toBe('5');
  });
});

describe('WorkerRouter: invalid rule sets (RI1–RI5)', () => {
  it.each<[string, unknown]>([
    ['RI1: nil', null],
    ['undefined', undefined],
    ['a hash', { '*': 'default' }],
    ['a string', "[['*', 'default']]"],
    ['a number', 1],
  ])('%s → `The set of routing rule must be an array`', (_label, rules) => {
    // Act
    const act = () => new WorkerRouter(rules);

    // Assess
    expect(act).toThrow(InvalidRoutingRuleError);
    expect(act).toThrow(/^The set of routing rule must be an array$/);
  });

  it.each<[string, unknown, string]>([
    ['RI2: a bare string rule', ['feature_category=a'], 'Routing rule `"feature_category=a"` is invalid'],
    [
      'RI3 (newer router): four elements',
      [['feature_category=a', 'queue_a', 'shard_1', 'shard_2']],
      'Routing rule `["feature_category=a", "queue_a", "shard_1", "shard_2"]` is invalid',
    ],
    ['RI4: a one-element rule after a good one', [['feature_category=a', 'queue_b'], ['feature_category=b']], 'Routing rule `["feature_category=b"]` is invalid'],
    ['an empty rule', [[]], 'Routing rule `[]` is invalid'],
    ['a nil rule', [null], 'Routing rule `nil` is invalid'],
    ['a numeric rule', [42], 'Routing rule `42` is invalid'],
    ['quotes and backslashes in the rule', ['say "hi"\\'], 'Routing rule `"say \\"hi\\"\\\\"` is invalid'],
  ])('%s → GitLab\'s message with the rule in Ruby inspect format', (_label, rules, message) => {
    // Act
    const act = () => new WorkerRouter(rules);

    // Assess
    expect(act).toThrow(InvalidRoutingRuleError);
    try {
      act();
    } catch (error) {
      expect((error as Error).message).toBe(message);
    }
  });

  it('RI3 (older router) is valid in the newer router: a 3-element rule names a store', () => {
    // Act
    const router = new WorkerRouter([['feature_category=a', 'queue_a', 'queue_b']]);

    // Assess
    expect(router.rules[0]).toMatchObject({ queue: 'queue_a', store: 'queue_b' });
  });

  it('RI5: an unknown predicate is raised while the router is built', () => {
    // Act
    const act = () => new WorkerRouter([['invalid_term=a', 'queue_a']]);

    // Assess
    expect(act).toThrow(UnknownPredicateError);
    expect(act).toThrow('Unknown predicate: invalid_term');
  });

  it('an invalid term is raised while the router is built', () => {
    expect(() => new WorkerRouter([['*', 'a'], ['feature_category=', 'b']])).toThrow(InvalidTermError);
  });

  it.each<[string, unknown[], RegExp]>([
    ['a nil query', [null, 'queue_a'], /^Routing rule `\[nil, "queue_a"\]` is invalid: its query must be a string/],
    ['a numeric query', [1, 'queue_a'], /^Routing rule `\[1, "queue_a"\]` is invalid: its query must be a string/],
    ['a hash queue', ['*', { a: 1 }], /^Routing rule `\["\*", \{"a" => 1\}\]` is invalid: its queue must be a queue name/],
    ['a boolean queue', ['*', true], /^Routing rule `\["\*", true\]` is invalid: its queue must be a queue name/],
    ['a non-string store', ['*', 'q', 1], /^Routing rule `\["\*", "q", 1\]` is invalid: its store must be a name or null/],
  ])('where GitLab would crash with a Ruby type error, %s is refused with a clear message', (_label, rule, message) => {
    // Act
    const act = () => new WorkerRouter([rule]);

    // Assess
    expect(act).toThrow(InvalidRoutingRuleError);
    expect(act).toThrow(message);
  });
});

describe('GitLab default rule substitution (D1–D3)', () => {
  it.each<[string, unknown]>([
    ['D1: nil', null],
    ['D1: unset', undefined],
    ['D2: []', []],
  ])('%s becomes [["*", "default"]]', (_label, rules) => {
    // Act
    const applied = applyGitLabDefaultRules(rules);

    // Assess
    expect(applied).toEqual({ rules: [['*', 'default']], defaulted: true });
    expect(new WorkerRouter(applied.rules).route(FOO_BAR_WORKER).queue).toBe('default');
  });

  it('D3: configured rules are passed on unchanged', () => {
    // Prepare
    const rules = [['name=foobar', 'foobar']];

    // Act
    const applied = applyGitLabDefaultRules(rules);

    // Assess
    expect(applied.defaulted).toBe(false);
    expect(applied.rules).toBe(rules);
  });

  it.each<[string, unknown]>([
    ['an empty string', ''],
    ['an empty mapping', {}],
  ])('%s is empty? in Ruby: GitLab substitutes the default too', (_label, rules) => {
    // Act
    const applied = applyGitLabDefaultRules(rules);

    // Assess
    expect(applied).toEqual({ rules: [['*', 'default']], defaulted: true });
  });

  it.each<[string, unknown]>([
    ['a mapping', { '*': 'default' }],
    ['a blank string', ' '],
    ['false', false],
  ])('invalid rules that are not empty (%s) are not replaced: the router refuses them', (_label, rules) => {
    // Act
    const applied = applyGitLabDefaultRules(rules);

    // Assess
    expect(applied.defaulted).toBe(false);
    expect(() => new WorkerRouter(applied.rules)).toThrow('The set of routing rule must be an array');
  });

  it('hands out a fresh copy, so the shared default cannot be modified through it', () => {
    // Act
    const applied = applyGitLabDefaultRules(null).rules as string[][];
    applied[0]![1] = 'changed';

    // Assess
    expect(GITLAB_DEFAULT_RULES).toEqual([['*', 'default']]);
  });
});

describe('global router errors (RG1, RG2): GitLab falls back, we refuse', () => {
  // In production GitLab logs InvalidRoutingRuleError / UnknownPredicate and routes every worker to
  // its generated name (RG1, RG2: Gitlab::Foo::BarWorker → foo_bar). Moving jobs with a rule set
  // that the application silently ignores would be wrong, so our tool refuses with the error.
  it('RG1: ["feature_category=a"] is refused with InvalidRoutingRuleError, located at rule 1', () => {
    // Act
    const act = () => buildGitLabRouting({ catalogPaths: [FOO_BAR_CATALOG], rules: { value: ['feature_category=a'], origin: 'rules.yml' } });

    // Assess
    expect(act).toThrow(InvalidRoutingRuleError);
    expect(act).toThrow('Routing rule `"feature_category=a"` is invalid');
    expect(act).toThrow(expect.objectContaining({ where: 'routing rule 1 of rules.yml' }));
    expect(() => new WorkerRouter(['feature_category=a'])).toThrow(InvalidRoutingRuleError);
  });

  it('RG2: [["invalid_term=a", "queue_a"]] is refused with UnknownPredicateError', () => {
    // Act
    const act = () =>
      buildGitLabRouting({ catalogPaths: [FOO_BAR_CATALOG], rules: { value: [['*', 'x'], ['invalid_term=a', 'queue_a']], origin: 'rules.yml' } });

    // Assess
    expect(act).toThrow(UnknownPredicateError);
    expect(act).toThrow(expect.objectContaining({ message: 'Unknown predicate: invalid_term', where: 'routing rule 2 of rules.yml' }));
  });

  it('an invalid term (which GitLab does not catch either) is refused', () => {
    expect(() => buildGitLabRouting({ catalogPaths: [FOO_BAR_CATALOG], rules: { value: [['tags=', 'x']], origin: 'o' } })).toThrow(
      'Invalid term: tags=',
    );
  });

  it('a rule set that is not a list is refused, located at its origin', () => {
    // Act
    const act = () => buildGitLabRouting({ catalogPaths: [FOO_BAR_CATALOG], rules: { value: { a: 1 }, origin: 'gitlab.yml' } });

    // Assess
    expect(act).toThrow(expect.objectContaining({ message: 'The set of routing rule must be an array', where: 'gitlab.yml' }));
  });
});

describe('missing catch-all warning (RW1, RW2)', () => {
  it('RW1: [["resource_boundary=cpu", "cpu"]] → a no-catch-all finding mentioning `sidekiq.routing_rules config is missing`', () => {
    // Act
    const routing = buildGitLabRouting({ catalogPaths: [CE_CATALOG_PATH], rules: { value: [['resource_boundary=cpu', 'cpu']], origin: 'RW1' } });

    // Assess
    const findings = routing.findings.filter((f) => f.code === 'no-catch-all');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain('sidekiq.routing_rules config is missing');
    expect(findings[0]!.rule).toBe(1);
  });

  it('RW2: [["resource_boundary=cpu", "cpu"], ["*", "default"]] → no such finding', () => {
    // Act
    const routing = buildGitLabRouting({
      catalogPaths: [CE_CATALOG_PATH],
      rules: { value: [['resource_boundary=cpu', 'cpu'], ['*', 'default']], origin: 'RW2' },
    });

    // Assess
    expect(routing.findings.map((f) => f.code)).not.toContain('no-catch-all');
    expect(routing.findings.map((f) => f.message).join('\n')).not.toContain('sidekiq.routing_rules config is missing');
  });
});
