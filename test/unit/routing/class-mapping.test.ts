import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../core/routing/catalog/load-catalog.js';
import { realWorkers } from '../../../core/routing/catalog/worker-metadata.js';
import { buildGitLabRouting, type GitLabRouting } from '../../../core/routing/gitlab-routing.js';
import { compileQuery } from '../../../core/routing/query/compile-query.js';
import { CE_CATALOG_PATH } from './support/workers.js';

// The class → queue mapping GitLab's migrators use (gitlab-reference §2.4 and §6.4), over the
// bundled CE catalog.

const routeCe = (rules: unknown[]): GitLabRouting =>
  buildGitLabRouting({ catalogPaths: [CE_CATALOG_PATH], rules: { value: rules, origin: 'test' } });

const C1_RULES = [
  ['urgency=high', 'default'],
  ['*', null],
];

const C3_RULES = [
  ['tags=needs_own_queue', null],
  ['urgency=high', 'high_urgency'],
  ['feature_category=gitaly', 'gitaly'],
  ['feature_category=not_exist', 'not_exist'],
  ['*', 'default'],
];

/** How many workers each destination receives. */
function destinationCounts(routing: GitLabRouting): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const queue of routing.mapping.values()) counts[queue] = (counts[queue] ?? 0) + 1;
  return counts;
}

describe('class mapping: sidekiq_config and rake spec cases C1–C4 over CE', () => {
  it('C1: [urgency=high → default], [* → nil]', () => {
    // Act
    const { mapping } = routeCe(C1_RULES);

    // Assess: high-urgency workers to default; the rest keep their generated (namespaced) name.
    expect(Object.fromEntries(mapping)).toMatchObject({
      MergeWorker: 'default', // :urgency: :high
      'Ci::BuildFinishedWorker': 'default', // :urgency: :high, namespace pipeline_processing
      AdminEmailWorker: 'cronjob:admin_email', // :urgency: :low, namespace cronjob
      PostReceive: 'default', // :urgency: :high
      DeleteDiffFilesWorker: 'delete_diff_files', // :urgency: :low, no namespace
      EmailReceiverWorker: 'default', // :urgency: :high
    });
  });

  it('C2: the mapping restricted to a process listening to [default] keeps MergeWorker and drops AdminEmailWorker', () => {
    // Prepare
    const { mapping } = routeCe(C1_RULES);
    const listenedTo = new Set(['default']);

    // Act: GitLab's current_worker_queue_mappings keeps the entries whose destination is listened to.
    const current = new Map([...mapping].filter(([, queue]) => listenedTo.has(queue)));

    // Assess
    expect(current.get('MergeWorker')).toBe('default');
    expect(current.get('Ci::BuildFinishedWorker')).toBe('default');
    expect(current.has('AdminEmailWorker')).toBe(false);
    expect(current.size).toBe(51); // the 51 high-urgency workers
  });

  it('C3: routing queues are exactly default, gitaly, high_urgency and mailers (not_exist receives no worker)', () => {
    // Act
    const routing = routeCe(C3_RULES);

    // Assess
    expect(routing.routingQueues).toEqual(['default', 'gitaly', 'high_urgency', 'mailers']);
    // CE: 51 high-urgency workers; the 13 gitaly workers are all low or throttled; 567 - 64 = 503.
    expect(destinationCounts(routing)).toEqual({ high_urgency: 51, gitaly: 13, default: 503 });
    expect([...routing.mapping.values()]).not.toContain('not_exist');
  });

  it('C4: [* → default] sends every worker to default', () => {
    // Act
    const routing = routeCe([['*', 'default']]);

    // Assess
    expect(routing.mapping.get('PostReceive')).toBe('default');
    expect(routing.mapping.get('MergeWorker')).toBe('default');
    expect(destinationCounts(routing)).toEqual({ default: 567 });
    expect(routing.routingQueues).toEqual(['default', 'mailers']);
  });
});

describe('class mapping: shape', () => {
  const routing = routeCe(C1_RULES);

  it('has one key per real worker: 567 for CE', () => {
    expect(routing.mapping.size).toBe(567);
    expect(routing.routes).toHaveLength(567);
  });

  it('excludes the placeholders: no ActionMailer::MailDeliveryJob key and no key for the nameless default entry', () => {
    expect(routing.mapping.has('ActionMailer::MailDeliveryJob')).toBe(false);
    expect([...routing.mapping.keys()].every((k) => typeof k === 'string' && k !== '')).toBe(true);
    expect(routing.routes.some((r) => r.worker.placeholder)).toBe(false);
  });

  it('keys are the catalog\'s worker classes, in catalog order', () => {
    // Prepare
    const classes = realWorkers(routing.catalog).map((w) => w.workerName);

    // Assess
    expect([...routing.mapping.keys()]).toEqual(classes);
  });

  it('routing queues add the placeholders\' own queues to the routed ones, sorted', () => {
    // C1: destinations are default + every low/throttled worker's generated name.
    expect(routing.routingQueues).toContain('mailers');
    expect(routing.routingQueues).toContain('default');
    expect(routing.routingQueues).toContain('cronjob:admin_email');
    expect(routing.routingQueues).toEqual([...routing.routingQueues].sort());
    expect(new Set(routing.routingQueues).size).toBe(routing.routingQueues.length);
  });
});

describe('match counts over CE all_queues.yml (placeholders included in the selection)', () => {
  const workers = loadCatalog([CE_CATALOG_PATH]).workers;

  it('selects from all 569 entries', () => {
    expect(workers).toHaveLength(569);
  });

  it.each<[string, number]>([
    ['urgency=high', 51],
    ['urgency=throttled', 12],
    ['has_external_dependencies=true', 79],
    ['resource_boundary=memory', 12],
    ['resource_boundary=cpu&urgency=high', 22],
    ['resource_boundary!=cpu&urgency=high', 29],
    ['queue_namespace=cronjob', 127],
    ['tags=cronjob_child', 22],
    ['tags=clickhouse', 2],
    ['feature_category=gitaly', 13],
    ['feature_category=database,gitaly,global_search&urgency=throttled', 4],
    ['has_external_dependencies=true|feature_category=hooks|tags=network', 79],
    // 504 entries say `:urgency: :low`; the mailers placeholder's plain `low` is a String: not counted.
    ['urgency=low', 504],
    // The placeholder records are selectable: name=mailers finds the mailers entry.
    ['name=mailers', 1],
    ['name=default', 1],
    // 14 real workers + both placeholders.
    ['feature_category=not_owned', 16],
    ['*', 569],
  ])('%s selects %i entries', (query, count) => {
    // Prepare
    const compiled = compileQuery(query);

    // Act
    const selected = workers.filter((w) => compiled.matches(w));

    // Assess
    expect(selected).toHaveLength(count);
  });
});
