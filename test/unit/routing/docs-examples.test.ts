import { describe, expect, it } from 'vitest';
import { buildGitLabRouting, type GitLabRouting } from '../../../core/routing/gitlab-routing.js';
import { CE_CATALOG_PATH, routingFixture } from './support/workers.js';

// Rule sets from GitLab's documentation, routed over the whole CE catalog. The expected queue of
// every sample worker was derived by hand from its entry in test/fixtures/gitlab/all_queues.yml
// (quoted in the comment next to it), not computed with the code under test.

const routeWith = (fixture: string): GitLabRouting =>
  buildGitLabRouting({ catalogPaths: [CE_CATALOG_PATH], rules: { path: routingFixture(fixture) } });

function destinationCounts(routing: GitLabRouting): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const queue of routing.mapping.values()) counts[queue] = (counts[queue] ?? 0) + 1;
  return counts;
}

describe('docs "Detailed example" (processing_specific_job_classes.md)', () => {
  // 1. resource_boundary!=cpu&urgency=high                                → high-urgency
  // 2. feature_category=database,gitaly,global_search&urgency=throttled   → throttled
  // 3. has_external_dependencies=true|feature_category=hooks|tags=network → network-intensive
  // 4. *                                                                  → default
  const routing = routeWith('docs-detailed-example.yml');

  it.each<[string, string, string]>([
    // high, resource_boundary unknown → rule 1.
    ['MergeWorker', 'high-urgency', ':urgency: :high, :resource_boundary: :unknown → rule 1'],
    ['EmailReceiverWorker', 'high-urgency', ':urgency: :high, :resource_boundary: :unknown → rule 1'],
    [
      'AuthorizedProjectUpdate::ProjectRecalculateWorker',
      'high-urgency',
      ':urgency: :high, :unknown, namespace authorized_project_update → rule 1; an explicit destination gets no namespace prefix',
    ],
    [
      'Ci::Catalog::Resources::ProcessSyncEventsWorker',
      'high-urgency',
      ':urgency: :high, :unknown, namespace cronjob → rule 1 (not cronjob:…)',
    ],
    // high but cpu-bound: rule 1 fails, rule 2 needs throttled, rule 3 needs external deps → rule 4.
    ['PostReceive', 'default', ':urgency: :high, :resource_boundary: :cpu, :has_external_dependencies: false → falls through to *'],
    ['Ci::BuildFinishedWorker', 'default', ':urgency: :high, :cpu, external false, namespace pipeline_processing → *'],
    // throttled gitaly → rule 2.
    ['Projects::UpdateRepositoryStorageWorker', 'throttled', ':feature_category: :gitaly, :urgency: :throttled → rule 2'],
    ['Snippets::ScheduleBulkRepositoryShardMovesWorker', 'throttled', ':feature_category: :gitaly, :urgency: :throttled → rule 2'],
    // gitaly / database but not throttled → rule 2 fails; no external deps → *.
    ['ObjectPool::CreateWorker', 'default', ':feature_category: :gitaly, :urgency: :low, external false → *'],
    ['Database::BatchedBackgroundMigrationWorker', 'default', ':feature_category: :database, :urgency: :low, cronjob → *'],
    // throttled but another category → rule 2 fails.
    ['RedisMigrationWorker', 'default', ':feature_category: :redis, :urgency: :throttled, external false → *'],
    ['Ci::ClickHouse::FinishedPipelinesSyncWorker', 'network-intensive', ':fleet_visibility, :throttled, :has_external_dependencies: true → rule 3'],
    // external dependencies → rule 3.
    ['X509IssuerCrlCheckWorker', 'network-intensive', ':has_external_dependencies: true, :low, namespace cronjob → rule 3 (not cronjob:…)'],
    ['Gitlab::GithubImport::ImportIssueWorker', 'network-intensive', ':has_external_dependencies: true, :importers, :low → rule 3'],
    ['ActivityPub::Projects::ReleasesSubscriptionWorker', 'network-intensive', ':has_external_dependencies: true → rule 3'],
    // `feature_category=hooks` is not the webhooks category; FileHookWorker has no external deps.
    ['FileHookWorker', 'default', ':feature_category: :webhooks, external false → rule 3 fails → *'],
    // cronjob-namespaced, low, no external deps → *, and the explicit `default` is not prefixed.
    ['AdminEmailWorker', 'default', ':urgency: :low, :has_external_dependencies: false, namespace cronjob → *'],
  ])('%s → %s (%s)', (workerClass, queue) => {
    expect(routing.mapping.get(workerClass)).toBe(queue);
  });

  it('distributes the 567 CE workers as 29 / 4 / 79 / 455', () => {
    // Cross-checked by grep over all_queues.yml: 51 `:urgency: :high`, of which 22 are `:cpu`
    // → 29 high-urgency; the 4 `:gitaly` + `:throttled` (no :database/:global_search worker is
    // throttled) → throttled; 79 `has_external_dependencies: true`, none of them high or throttled
    // gitaly → 79 network-intensive; 567 - 29 - 4 - 79 = 455 default.
    expect(destinationCounts(routing)).toEqual({ 'high-urgency': 29, throttled: 4, 'network-intensive': 79, default: 455 });
  });

  it('needs processes for default, high-urgency, mailers, network-intensive and throttled', () => {
    expect(routing.routingQueues).toEqual(['default', 'high-urgency', 'mailers', 'network-intensive', 'throttled']);
  });

  it('is read from the YAML fixture exactly as the docs list it', () => {
    expect(routing.router.rules.map((r) => [r.query.source, r.queue])).toEqual([
      ['resource_boundary!=cpu&urgency=high', 'high-urgency'],
      ['feature_category=database,gitaly,global_search&urgency=throttled', 'throttled'],
      ['has_external_dependencies=true|feature_category=hooks|tags=network', 'network-intensive'],
      ['*', 'default'],
    ]);
    expect(routing.findings).toEqual([]);
  });
});

describe('docs "Migration example" (migrating from queue selectors to routing rules)', () => {
  // 1. urgency=high → high_urgency; 2. urgency=low → low_urgency;
  // 3. urgency=throttled → throttled_urgency; 4. * → default.
  const routing = routeWith('docs-migration-example.yml');

  it.each<[string, string, string]>([
    ['MergeWorker', 'high_urgency', ':urgency: :high → rule 1'],
    ['PostReceive', 'high_urgency', ':urgency: :high (cpu-bound, which this rule set ignores) → rule 1'],
    ['Ci::BuildFinishedWorker', 'high_urgency', ':urgency: :high, namespace pipeline_processing → rule 1, no prefix'],
    ['DeleteDiffFilesWorker', 'low_urgency', ':urgency: :low → rule 2'],
    ['AdminEmailWorker', 'low_urgency', ':urgency: :low, namespace cronjob → rule 2 (not cronjob:…)'],
    ['X509IssuerCrlCheckWorker', 'low_urgency', ':urgency: :low (external deps do not matter here) → rule 2'],
    ['RedisMigrationWorker', 'throttled_urgency', ':urgency: :throttled → rule 3'],
    ['Projects::UpdateRepositoryStorageWorker', 'throttled_urgency', ':urgency: :throttled → rule 3'],
    ['Ci::ClickHouse::FinishedPipelinesSyncWorker', 'throttled_urgency', ':urgency: :throttled → rule 3'],
  ])('%s → %s (%s)', (workerClass, queue) => {
    expect(routing.mapping.get(workerClass)).toBe(queue);
  });

  it('distributes the 567 CE workers by urgency alone: 51 / 504 / 12, and none reaches the * rule', () => {
    // Every real worker has one of the three urgencies (grep: 51 :high, 504 :low, 12 :throttled).
    expect(destinationCounts(routing)).toEqual({ high_urgency: 51, low_urgency: 504, throttled_urgency: 12 });
  });

  it('still needs default and mailers listened to (the placeholders), as the docs\' queue_groups do', () => {
    expect(routing.routingQueues).toEqual(['default', 'high_urgency', 'low_urgency', 'mailers', 'throttled_urgency']);
  });

  it('reports that its catch-all rule receives no worker of this catalog', () => {
    expect(routing.findings.map((f) => [f.code, f.rule])).toEqual([
      ['rule-shadowed', 4],
      ['destination-without-workers', 4],
    ]);
  });
});

describe('docs queue-selector companion rules [["*", nil]]', () => {
  const routing = routeWith('docs-queue-selector-example.yml');

  it.each<[string, string, string]>([
    ['AdminEmailWorker', 'cronjob:admin_email', ':name: cronjob:admin_email: a nil destination keeps the generated, namespaced name'],
    ['Gitlab::JiraImport::AdvanceStageWorker', 'jira_importer:jira_import_advance_stage', ':name: of the entry'],
    ['PostReceive', 'post_receive', ':name: post_receive, no namespace'],
    ['MergeWorker', 'merge', ':name: merge'],
  ])('%s → %s (%s)', (workerClass, queue) => {
    expect(routing.mapping.get(workerClass)).toBe(queue);
  });

  it('sends every worker to its own :name:, so there are 567 destinations plus default and mailers', () => {
    // grep '^- :name:' all_queues.yml | sort | uniq -d is empty: the 569 names are distinct.
    expect(routing.routes.every((r) => r.queue === r.worker.name)).toBe(true);
    expect(new Set(routing.mapping.values()).size).toBe(567);
    expect(routing.routingQueues).toHaveLength(569);
  });
});
