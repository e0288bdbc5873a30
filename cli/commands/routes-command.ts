import { basename } from 'node:path';
import type { Command } from 'commander';
import { gitLabRulesOptionsSchema } from '../../core/config/routing-options.js';
import { validateConfig } from '../../core/config/validate-config.js';
import { buildGitLabRouting, type GitLabRouting } from '../../core/routing/gitlab-routing.js';
import { MAIN_STORE } from '../../core/selection/main-store.js';
import type { CliIo } from '../cli-io.js';
import { collect } from '../collect.js';

export function registerRoutesCommand(program: Command, io: CliIo): void {
  program
    .command('routes')
    .summary('show the queue every GitLab worker is routed to')
    .description(
      'Routes every worker of GitLab\'s worker catalog through the routing rules, with GitLab\'s own semantics (first matching rule wins; a null or blank queue, or no match, means the worker\'s generated queue name), shows the Redis store each worker goes to when a rule names one (its 3rd element; main otherwise), then reviews the rules: unreachable rules, queues no worker reaches, a missing catch-all, and queries GitLab accepts but probably reads differently from you. The queues processes must listen to are printed comma-separated with spaces; for sidekiq-cluster\'s queue groups (split on "," alone) build the list from --json, as the routing runbook shows.',
    )
    .option('--catalog <file>', "GitLab's app/workers/all_queues.yml (repeat to add ee/app/workers/all_queues.yml)", collect)
    .option('--rules <file>', 'routing rules: a JSON/YAML list of [query, queue] pairs, or a gitlab.yml')
    .option('--environment <name>', 'the gitlab.yml section to read routing rules from (default: production)')
    .option('--strict', 'refuse queries GitLab accepts but that are probably mistakes (e.g. trailing junk)')
    .option('--json', 'print one JSON object {"<worker_name>": "<queue>"} for every real worker')
    .action((raw: { catalog: string[]; rules?: string; environment?: string; strict: boolean; json: boolean }) => {
      const { json, ...rest } = raw;
      const options = validateConfig(gitLabRulesOptionsSchema, rest);
      const routing = buildGitLabRouting({
        catalogPaths: options.catalog,
        rules: { path: options.rules, environment: options.environment, environmentGiven: raw.environment === undefined ? undefined : '--environment' },
        strict: options.strict,
      });
      if (json) {
        const sorted = [...routing.mapping].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        io.out(`${JSON.stringify(Object.fromEntries(sorted), null, 2)}\n`);
        for (const line of warningLines(routing)) io.err(`warning: ${line}\n`);
      } else {
        io.out(renderRoutes(routing));
      }

    });
}

function warningLines(routing: GitLabRouting): string[] {
  return [...routing.catalog.warnings, ...routing.findings.map((f) => f.message)];
}

/** The human view: a summary table, the workers of each queue (with their Redis store), then what the review found. */
export function renderRoutes(routing: GitLabRouting): string {
  const byQueue = new Map<string, { worker: string; store: string }[]>();
  for (const r of routing.routes) {
    const list = byQueue.get(r.queue) ?? [];
    list.push({ worker: r.worker.workerName, store: r.rule?.store ?? MAIN_STORE });
    byQueue.set(r.queue, list);
  }
  // Stores are shown once a rule names one (GitLab's sharded Sidekiq); otherwise every worker is on main.
  const sharded = routing.router.rules.some((r) => r.store !== null);
  const queues = [...byQueue.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  const catalogs = routing.catalog.files.map((f) => basename(f)).join(' + ');
  const width = Math.max(5, ...queues.map(([q]) => q.length));
  const storesOf = (workers: readonly { store: string }[]) => [...new Set(workers.map((w) => w.store))].sort().join(', ');
  const lines = [
    `${routing.routes.length} workers from ${catalogs}, ${routing.router.rules.length} routing rule(s) from ${routing.rulesOrigin}`,
    '',
    `${'Queue'.padEnd(width)}  Workers${sharded ? '  Store(s)' : ''}`,
    ...queues.map(([q, workers]) => `${q.padEnd(width)}  ${String(workers.length).padStart(7)}${sharded ? `  ${storesOf(workers)}` : ''}`),
    '',
  ];
  for (const [queue, workers] of queues) {
    const sorted = [...workers].sort((a, b) => (a.worker < b.worker ? -1 : a.worker > b.worker ? 1 : 0));
    lines.push(`${queue} (${workers.length})`, ...sorted.map((w) => `  ${w.worker}${sharded ? `  [store ${w.store}]` : ''}`), '');
  }
  if (sharded) {
    const perStore = new Map<string, number>();
    for (const r of routing.routes) perStore.set(r.rule?.store ?? MAIN_STORE, (perStore.get(r.rule?.store ?? MAIN_STORE) ?? 0) + 1);
    lines.push(`Workers per Redis store: ${[...perStore].sort(([a], [b]) => (a < b ? -1 : 1)).map(([s, c]) => `${s} ${c}`).join(' · ')}`);
  }
  lines.push(`Sidekiq processes must listen to: ${routing.routingQueues.join(', ')}`);
  const warnings = warningLines(routing);
  if (warnings.length > 0) lines.push('', `Warnings (${warnings.length}):`, ...warnings.map((w) => `  - ${w}`));
  return `${lines.join('\n')}\n`;
}
