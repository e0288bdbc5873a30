import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { generatedQueueName, underscore } from '../../../core/routing/generated-queue-name.js';
import { CE_CATALOG_PATH } from './support/workers.js';

// GitLab's generated queue name (gitlab-reference §2.2 and §6.2).

describe('generated queue name: router spec cases N1–N7', () => {
  it.each<[string, string, string | null, string]>([
    ['N1', 'PagesWorker', null, 'pages'],
    ['N2', 'PipelineNotificationWorker', null, 'pipeline_notification'],
    ['N3', 'PostReceive', null, 'post_receive'],
    ['N4', 'PostReceive', 'git', 'git:post_receive'],
    ['N5', 'PipelineHooksWorker', 'pipeline_hooks', 'pipeline_hooks:pipeline_hooks'],
    ['N6', 'Gitlab::JiraImport::AdvanceStageWorker', null, 'jira_import_advance_stage'],
    ['N7', 'Gitlab::PhabricatorImport::ImportTasksWorker', 'importer', 'importer:phabricator_import_import_tasks'],
  ])('%s: %s in namespace %s → %s', (_id, className, namespace, expected) => {
    expect(generatedQueueName(className, namespace)).toBe(expected);
  });
});

describe('generated queue name: the naming rule step by step', () => {
  it.each<[string, string, string | null, string]>([
    // Fixture-verified examples of §2.2.
    ['digits stay with the lowercase run', 'X509IssuerCrlCheckWorker', 'cronjob', 'cronjob:x509_issuer_crl_check'],
    ['digits before a capital', 'Ci::Catalog::Resources::AggregateLast30DayUsageWorker', 'cronjob', 'cronjob:ci_catalog_resources_aggregate_last30_day_usage'],
    ['a digit inside a word', 'Observability::CreateGroupO11ySettingWorker', null, 'observability_create_group_o11y_setting'],
    ['…WorkerV2 keeps "worker"', 'IncidentManagement::ProcessAlertWorkerV2', 'incident_management', 'incident_management:incident_management_process_alert_worker_v2'],
    ['no `Gitlab::` prefix: "gitlab" stays', 'GitlabServicePingWorker', 'cronjob', 'cronjob:gitlab_service_ping'],
    ['`Gitlab::` removed, namespace added', 'Gitlab::JiraImport::AdvanceStageWorker', 'jira_importer', 'jira_importer:jira_import_advance_stage'],
    // Rule details.
    ['only one leading Gitlab:: is removed', 'Gitlab::Gitlab::FooWorker', null, 'gitlab_foo'],
    ['Gitlab:: only at the start', 'Foo::Gitlab::BarWorker', null, 'foo_gitlab_bar'],
    ['only one trailing Worker is removed', 'FooWorkerWorker', null, 'foo_worker'],
    ['…Job keeps its name', 'ActionMailer::MailDeliveryJob', null, 'action_mailer_mail_delivery_job'],
    ['…Handler keeps its name', 'Geo::EventHandler', null, 'geo_event_handler'],
    ['an acronym run before Capital+lowercase', 'HTTPServerWorker', null, 'http_server'],
    ['an acronym at the end', 'ImportCSVWorker', null, 'import_csv'],
    ['a hyphen becomes _', 'Foo-BarWorker', null, 'foo_bar'],
    ['empty namespace is no namespace', 'PagesWorker', '', 'pages'],
    ['undefined namespace is no namespace', 'PagesWorker', null, 'pages'],
  ])('%s: %s (%s) → %s', (_label, className, namespace, expected) => {
    expect(generatedQueueName(className, namespace)).toBe(expected);
  });

  it.each<[string, string]>([
    ['Foo::BarBaz', 'foo/bar_baz'],
    ['HTTPServer', 'http_server'],
    ['ABC', 'abc'],
    ['Abc1Def', 'abc1_def'],
    ['a-b', 'a_b'],
  ])('underscore(%j) is ActiveSupport\'s %j', (camel, expected) => {
    expect(underscore(camel)).toBe(expected);
  });
});

describe('generated queue name: N8, every worker of the bundled CE catalog', () => {
  // Read the YAML directly, not through our catalog loader. To the yaml package the line
  // `:queue_namespace: :cronjob` is the key ":queue_namespace" with the string ":cronjob"; nil is null.
  const entries = parse(readFileSync(CE_CATALOG_PATH, 'utf8')) as Record<string, unknown>[];
  const workers = entries.filter((e) => !['default', 'mailers'].includes(e[':name'] as string));

  it('has 567 real workers', () => {
    expect(entries).toHaveLength(569);
    expect(workers).toHaveLength(567);
  });

  it('generates exactly the :name: of every real worker from its :worker_name: and :queue_namespace:', () => {
    // Act
    const mismatches = workers.flatMap((e) => {
      const namespace = e[':queue_namespace'] === null ? null : String(e[':queue_namespace']).replace(/^:/, '');
      const generated = generatedQueueName(e[':worker_name'] as string, namespace);
      return generated === e[':name'] ? [] : [`${String(e[':worker_name'])}: ${generated} ≠ ${String(e[':name'])}`];
    });

    // Assess
    expect(mismatches).toEqual([]);
  });

  it('the placeholders are not generated names: mailers is not what ActionMailer::MailDeliveryJob would get', () => {
    expect(generatedQueueName('ActionMailer::MailDeliveryJob', null)).not.toBe('mailers');
  });
});
