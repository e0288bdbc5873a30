import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../core/errors/input-error.js';
import { buildGitLabRouting } from '../../../core/routing/gitlab-routing.js';
import { InvalidRoutingRuleError } from '../../../core/routing/invalid-routing-rule-error.js';
import { loadClassMapping } from '../../../core/routing/load-class-mapping.js';
import { loadRoutingRules } from '../../../core/routing/load-routing-rules.js';
import { parseQueueRenames } from '../../../core/routing/parse-queue-renames.js';
import { ACTIVE_JOB_WRAPPERS, routedClass } from '../../../core/routing/routed-class.js';
import {
  classRoutingPlan,
  decideRoute,
  isDrainedQueue,
  renameRoutingPlan,
  type JobRoutingFields,
  type RoutingDecision,
} from '../../../core/routing/routing-plan.js';
import { CE_CATALOG_PATH, routingFixture } from './support/workers.js';

const tmp = mkdtempSync(join(tmpdir(), 'routing-plan-'));
function writeFile(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

const job = (className: string | null, queue: string | null, wrapped: string | null = null): JobRoutingFields => ({ className, queue, wrapped });

const RAILS_WRAPPER = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';
const SIDEKIQ_WRAPPER = 'Sidekiq::ActiveJob::Wrapper';

describe('class routing plan', () => {
  const plan = classRoutingPlan(
    new Map([
      ['PostReceive', 'default'],
      ['MergeWorker', 'high'],
      ['Notify', 'mailers_new'],
    ]),
  );

  it('has the distinct mapping values as destinations', () => {
    expect(plan.destinations).toEqual(new Set(['default', 'high', 'mailers_new']));
  });

  it.each<[string, JobRoutingFields, RoutingDecision]>([
    ['a mapped class in another queue moves', job('PostReceive', 'post_receive'), { action: 'move', to: 'default' }],
    ['a mapped class already in its queue stays', job('MergeWorker', 'high'), { action: 'already-routed' }],
    ['a mapped class with no queue field moves', job('MergeWorker', null), { action: 'move', to: 'high' }],
    ['an unknown class is unmapped', job('RemovedWorker', 'default'), { action: 'unmapped' }],
    ['a job without class is unmapped', job(null, 'default'), { action: 'unmapped' }],
    ['class names are case-sensitive', job('postreceive', 'x'), { action: 'unmapped' }],
    ['Rails\' ActiveJob wrapper is routed by `wrapped`', job(RAILS_WRAPPER, 'mailers', 'Notify'), { action: 'move', to: 'mailers_new' }],
    ['Sidekiq 8\'s ActiveJob wrapper is routed by `wrapped`', job(SIDEKIQ_WRAPPER, 'mailers', 'Notify'), { action: 'move', to: 'mailers_new' }],
    ['a wrapped job already in its queue stays', job(SIDEKIQ_WRAPPER, 'mailers_new', 'Notify'), { action: 'already-routed' }],
    ['a wrapper whose wrapped class is unknown is unmapped', job(RAILS_WRAPPER, 'mailers', 'OtherMailer'), { action: 'unmapped' }],
    ['a wrapper without `wrapped` is unmapped', job(RAILS_WRAPPER, 'mailers', null), { action: 'unmapped' }],
    ['a wrapper with an empty `wrapped` is unmapped', job(SIDEKIQ_WRAPPER, 'mailers', ''), { action: 'unmapped' }],
    ['`wrapped` is ignored on a job that is not an ActiveJob wrapper', job('PostReceive', 'x', 'Notify'), { action: 'move', to: 'default' }],
  ])('decideRoute: %s', (_label, fields, decision) => {
    expect(decideRoute(plan, fields)).toEqual(decision);
  });

  it.each<[string, boolean]>([
    ['default', false],
    ['high', false],
    ['mailers_new', false],
    ['post_receive', true],
    ['mailers', true],
    ['cronjob:admin_email', true],
  ])('isDrainedQueue(%j) is %s: every list that is not a destination is drained', (queue, drained) => {
    expect(isDrainedQueue(plan, queue)).toBe(drained);
  });

  it('routes an ActiveJob wrapper by `wrapped` for exactly the two known wrapper classes', () => {
    expect([...ACTIVE_JOB_WRAPPERS].sort()).toEqual([RAILS_WRAPPER, SIDEKIQ_WRAPPER]);
    expect(routedClass(RAILS_WRAPPER, 'Notify')).toBe('Notify');
    expect(routedClass('ActiveJob::Wrapper', 'Notify')).toBe('ActiveJob::Wrapper');
    expect(routedClass(SIDEKIQ_WRAPPER, undefined)).toBe(SIDEKIQ_WRAPPER);
  });

  it('works on a mapping built from GitLab routing rules', () => {
    // Prepare: C1 of gitlab-reference §6.4.
    const routing = buildGitLabRouting({ catalogPaths: [CE_CATALOG_PATH], rules: { value: [['urgency=high', 'default'], ['*', null]], origin: 'test' } });
    const gitlabPlan = classRoutingPlan(routing.mapping);

    // Act / Assess
    expect(decideRoute(gitlabPlan, job('AdminEmailWorker', 'default'))).toEqual({ action: 'move', to: 'cronjob:admin_email' });
    expect(decideRoute(gitlabPlan, job('MergeWorker', 'merge'))).toEqual({ action: 'move', to: 'default' });
    // Mailer jobs: GitLab's mapping has no key for the placeholder's class, wrapped or not.
    expect(decideRoute(gitlabPlan, job('ActionMailer::MailDeliveryJob', 'mailers'))).toEqual({ action: 'unmapped' });
    expect(decideRoute(gitlabPlan, job(RAILS_WRAPPER, 'mailers', 'ActionMailer::MailDeliveryJob'))).toEqual({ action: 'unmapped' });
    expect(isDrainedQueue(gitlabPlan, 'mailers')).toBe(true);
    expect(isDrainedQueue(gitlabPlan, 'cronjob:admin_email')).toBe(false);
  });
});

describe('rename routing plan', () => {
  const plan = renameRoutingPlan(
    new Map([
      ['old', 'new'],
      ['mailers_old', 'mailers'],
    ]),
  );

  it.each<[string, JobRoutingFields, RoutingDecision]>([
    ['a job whose queue is renamed moves, whatever its class', job('AnyWorker', 'old'), { action: 'move', to: 'new' }],
    ['even without a class', job(null, 'mailers_old'), { action: 'move', to: 'mailers' }],
    ['a wrapped job moves by its queue too', job(RAILS_WRAPPER, 'mailers_old', 'Notify'), { action: 'move', to: 'mailers' }],
    ['a job in a queue that is not renamed stays', job('AnyWorker', 'new'), { action: 'already-routed' }],
    ['a job without queue stays', job('AnyWorker', null), { action: 'already-routed' }],
  ])('decideRoute: %s', (_label, fields, decision) => {
    expect(decideRoute(plan, fields)).toEqual(decision);
  });

  it('a set entry without queue is a default job: renaming default moves it (the poller would push it to queue:default)', () => {
    const renamesDefault = renameRoutingPlan(new Map([['default', 'newdef']]));
    expect(decideRoute(renamesDefault, job('AnyWorker', null))).toEqual({ action: 'move', to: 'newdef' });
    expect(decideRoute(renamesDefault, job('AnyWorker', 'other'))).toEqual({ action: 'already-routed' });
  });

  it.each<[string, boolean]>([
    ['old', true],
    ['mailers_old', true],
    ['new', false],
    ['mailers', false],
    ['default', false],
  ])('isDrainedQueue(%j) is %s: exactly the renamed queues are drained', (queue, drained) => {
    expect(isDrainedQueue(plan, queue)).toBe(drained);
  });
});

describe('loadClassMapping', () => {
  it('reads a JSON object of class → queue', () => {
    // Prepare
    const path = writeFile('mapping.json', '{"PostReceive": "default", "Foo::BarWorker": "cronjob:foo"}');

    // Act / Assess
    expect(loadClassMapping(path)).toEqual(
      new Map([
        ['PostReceive', 'default'],
        ['Foo::BarWorker', 'cronjob:foo'],
      ]),
    );
  });

  it('reads a YAML mapping', () => {
    // Prepare
    const path = writeFile('mapping.yml', 'PostReceive: default\nMergeWorker: high\n');

    // Act / Assess
    expect(loadClassMapping(path)).toEqual(
      new Map([
        ['PostReceive', 'default'],
        ['MergeWorker', 'high'],
      ]),
    );
  });

  it('reports every problem of the file at once', () => {
    // Prepare
    const path = writeFile('bad-mapping.json', '{"": "default", "A": "", "B": 3, "C": null, "D": "  ", "Good": "ok"}');

    // Act
    const act = () => loadClassMapping(path);

    // Assess
    expect(act).toThrow(InputError);
    expect(act).toThrow(
      `${path}: invalid class mapping:\n` +
        '  - an empty class name\n' +
        '  - A: the queue must be a non-empty string, got ""\n' +
        '  - B: the queue must be a non-empty string, got 3\n' +
        '  - C: the queue must be a non-empty string, got null\n' +
        '  - D: the queue must be a non-empty string, got "  "',
    );
  });

  it.each<[string, string, string]>([
    ['a list', '[["PostReceive", "default"]]', 'a class mapping is an object of "WorkerClass": "queue" pairs'],
    ['a string', '"default"', 'a class mapping is an object of "WorkerClass": "queue" pairs'],
    ['an empty file', '', 'a class mapping is an object of "WorkerClass": "queue" pairs'],
    ['an empty object', '{}', 'invalid class mapping:\n  - it maps no class'],
    ['invalid JSON', '{"a": ', 'is not valid JSON or YAML'],
  ])('refuses %s', (_label, text, message) => {
    // Prepare
    const path = writeFile(`mapping-${_label.replaceAll(' ', '-')}.json`, text);

    // Act / Assess
    expect(() => loadClassMapping(path)).toThrow(InputError);
    expect(() => loadClassMapping(path)).toThrow(message);
  });

  it('refuses a missing file', () => {
    expect(() => loadClassMapping(join(tmp, 'nope.json'))).toThrow(`Cannot read the class mapping file ${join(tmp, 'nope.json')}: no such file`);
  });
});

describe('parseQueueRenames', () => {
  it('reads OLD=NEW pairs', () => {
    expect(parseQueueRenames(['mailers_old=mailers', 'cronjob:a=cronjob:b'])).toEqual(
      new Map([
        ['mailers_old', 'mailers'],
        ['cronjob:a', 'cronjob:b'],
      ]),
    );
  });

  it('splits at the first `=` only', () => {
    expect(parseQueueRenames(['a=b=c'])).toEqual(new Map([['a', 'b=c']]));
  });

  it('accepts the same rename given twice, and no rename at all', () => {
    expect(parseQueueRenames(['a=b', 'a=b'])).toEqual(new Map([['a', 'b']]));
    expect(parseQueueRenames([])).toEqual(new Map());
  });

  it.each<[string, string[], string]>([
    ['a missing =', ['mailers'], '"mailers": expected OLD=NEW'],
    ['a missing old name', ['=mailers'], '"=mailers": expected OLD=NEW'],
    ['a missing new name', ['mailers='], '"mailers=": expected OLD=NEW'],
    ['a self-rename', ['a=a'], '"a=a": the queue is renamed to itself'],
    ['a double rename', ['a=b', 'a=c'], '"a=c": a is already renamed to b'],
    ['a chain', ['a=b', 'b=c'], '"a=b": b is itself renamed to c; rename a=c instead'],
  ])('refuses %s', (_label, specs, message) => {
    expect(() => parseQueueRenames(specs)).toThrow(InputError);
    expect(() => parseQueueRenames(specs)).toThrow(message);
  });

  it('reports every problem at once', () => {
    // Act
    const act = () => parseQueueRenames(['x', 'a=a', 'b=c', 'c=d']);

    // Assess
    expect(act).toThrow(
      'Invalid --rename:\n' +
        '  - "x": expected OLD=NEW, e.g. --rename mailers_old=mailers\n' +
        '  - "a=a": the queue is renamed to itself\n' +
        '  - "b=c": c is itself renamed to d; rename b=d instead',
    );
  });
});

describe('loadRoutingRules', () => {
  const EXPECTED = [
    ['urgency=high', 'high'],
    ['feature_category=gitaly', null],
    ['*', 'default'],
  ];

  it('reads a JSON list of rules', () => {
    expect(loadRoutingRules(routingFixture('rules.json'))).toEqual({ rules: EXPECTED, origin: routingFixture('rules.json') });
  });

  it('reads a YAML list of rules (`~` is nil)', () => {
    expect(loadRoutingRules(routingFixture('rules.yml'))).toEqual({ rules: EXPECTED, origin: routingFixture('rules.yml') });
  });

  it('reads production.sidekiq.routing_rules of a gitlab.yml by default', () => {
    // Act
    const loaded = loadRoutingRules(routingFixture('gitlab-anchors.yml'));

    // Assess
    expect(loaded).toEqual({
      rules: [
        ['resource_boundary!=cpu&urgency=high', 'high-urgency'],
        ['*', 'default'],
      ],
      origin: `${routingFixture('gitlab-anchors.yml')} production.sidekiq.routing_rules`,
    });
  });

  it('follows YAML anchors and merge keys (`<<: *base`) into another environment', () => {
    // Act
    const development = loadRoutingRules(routingFixture('gitlab-anchors.yml'), 'development');
    const test = loadRoutingRules(routingFixture('gitlab-anchors.yml'), 'test');

    // Assess: development inherits production's sidekiq section; test replaces it.
    expect(development.rules).toEqual([
      ['resource_boundary!=cpu&urgency=high', 'high-urgency'],
      ['*', 'default'],
    ]);
    expect(development.origin).toMatch(/ development\.sidekiq\.routing_rules$/);
    expect(test.rules).toEqual([['*', null]]);
  });

  it('routes the CE catalog with the rules of a gitlab.yml', () => {
    // Act
    const routing = buildGitLabRouting({ catalogPaths: [CE_CATALOG_PATH], rules: { path: routingFixture('gitlab-anchors.yml'), environment: 'development' } });

    // Assess: MergeWorker is :high/:unknown, PostReceive :high/:cpu.
    expect(routing.mapping.get('MergeWorker')).toBe('high-urgency');
    expect(routing.mapping.get('PostReceive')).toBe('default');
    expect(routing.rulesOrigin).toMatch(/gitlab-anchors\.yml development\.sidekiq\.routing_rules$/);
  });

  it('gives null for a gitlab.yml without routing rules, which becomes GitLab\'s default rule', () => {
    // Act
    const loaded = loadRoutingRules(routingFixture('gitlab-no-routing-rules.yml'), 'development');
    const routing = buildGitLabRouting({ catalogPaths: [CE_CATALOG_PATH], rules: { path: routingFixture('gitlab-no-routing-rules.yml') } });

    // Assess
    expect(loaded.rules).toBeNull();
    expect(routing.router.rules.map((r) => [r.query.source, r.queue])).toEqual([['*', 'default']]);
    expect(new Set(routing.mapping.values())).toEqual(new Set(['default']));
    expect(routing.findings.map((f) => f.code)).toEqual(['default-rules']);
  });

  it('gives null for an empty rules file (GitLab\'s default applies)', () => {
    // Prepare
    const path = writeFile('empty-rules.yml', '# no rules\n');

    // Act / Assess
    expect(loadRoutingRules(path).rules).toBeNull();
  });

  it.each<[string, string, string | undefined, string]>([
    ['a gitlab.yml without the environment', 'production:\n  sidekiq: {}\n', 'staging', 'with staging.sidekiq.routing_rules'],
    ['a mapping that is neither', '{"PostReceive": "default"}', undefined, 'expected a list of [query, queue] routing rules, or a gitlab.yml with production.sidekiq.routing_rules'],
    ['a string', '"*"', undefined, 'expected a list of [query, queue] routing rules'],
  ])('refuses %s', (label, text, environment, message) => {
    // Prepare
    const path = writeFile(`rules-${label.replaceAll(' ', '-')}.yml`, text);

    // Act / Assess
    expect(() => loadRoutingRules(path, environment)).toThrow(InvalidRoutingRuleError);
    expect(() => loadRoutingRules(path, environment)).toThrow(message);
  });

  it('refuses invalid YAML and a missing file with an input error', () => {
    // Prepare
    const bad = writeFile('bad-rules.yml', '- [a, b\n');

    // Act / Assess
    expect(() => loadRoutingRules(bad)).toThrow(InputError);
    expect(() => loadRoutingRules(bad)).toThrow('is not valid JSON or YAML');
    expect(() => loadRoutingRules(join(tmp, 'none.yml'))).toThrow('Cannot read the routing rules file');
  });

  it('passes rules through unvalidated: the router validates them', () => {
    // Prepare
    const path = writeFile('odd-rules.yml', "- 'feature_category=a'\n");

    // Act / Assess
    expect(loadRoutingRules(path).rules).toEqual(['feature_category=a']);
    expect(() => buildGitLabRouting({ catalogPaths: [CE_CATALOG_PATH], rules: { path } })).toThrow('Routing rule `"feature_category=a"` is invalid');
  });
});
