/**
 * The queue name GitLab generates for a worker class (gitlab-reference §2.2): what a worker's
 * jobs use when no routing rule names a queue, and the `name` attribute of the matcher.
 *
 *   Gitlab::JiraImport::AdvanceStageWorker + jira_importer → jira_importer:jira_import_advance_stage
 *
 * Steps: drop one leading `Gitlab::`, drop one trailing `Worker` (so `…WorkerV2`, `…Job`,
 * `PostReceive` keep their whole name), ActiveSupport's `underscore`, `/` → `_`, then prefix
 * `<namespace>:` when the worker has a queue namespace.
 */
export function generatedQueueName(workerName: string, queueNamespace?: string | null): string {
  let base = workerName;
  if (base.startsWith('Gitlab::')) base = base.slice('Gitlab::'.length);
  if (base.endsWith('Worker')) base = base.slice(0, -'Worker'.length);
  const queue = underscore(base).replaceAll('/', '_');
  return queueNamespace ? `${queueNamespace}:${queue}` : queue;
}

/**
 * ActiveSupport's `String#underscore` without inflection acronyms (GitLab defines none that
 * change worker names; checked against every worker of the bundled catalog).
 */
export function underscore(camel: string): string {
  return camel
    .replaceAll('::', '/')
    .replace(/([A-Z\d]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z\d])([A-Z])/g, '$1_$2')
    .replaceAll('-', '_')
    .toLowerCase();
}
