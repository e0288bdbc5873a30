import type { Command } from 'commander';
import { matchOptionsSchema } from '../../core/config/routing-options.js';
import { validateConfig } from '../../core/config/validate-config.js';
import { loadCatalog } from '../../core/routing/catalog/load-catalog.js';
import { compileQuery } from '../../core/routing/query/compile-query.js';
import { QueryError } from '../../core/routing/query/query-errors.js';
import type { CliIo } from '../cli-io.js';
import { collect } from '../collect.js';

export function registerMatchCommand(program: Command, io: CliIo): void {
  program
    .command('match')
    .summary('list the workers a worker matching query selects')
    .description(
      'Evaluates a GitLab worker matching query (the syntax of routing rules and queue selectors) against the worker catalog, exactly as GitLab does, and lists the workers it selects.',
    )
    .option('--catalog <file>', "GitLab's app/workers/all_queues.yml (repeat to add the EE catalog)", collect)
    .option('--query <query>', 'e.g. "urgency=high&resource_boundary!=cpu" or "*"')
    .option('--strict', 'refuse queries GitLab accepts but that are probably mistakes')
    .option('--json', "print a sorted JSON array of the selected workers' class names")
    .action((raw: { catalog: string[]; query?: string; strict: boolean; json: boolean }) => {
      const { json, ...rest } = raw;
      const options = validateConfig(matchOptionsSchema, rest);
      const query = compileQuery(options.query);
      if (options.strict && query.quirks.length > 0) {
        throw new QueryError(`Refused by --strict (GitLab accepts this, but it is probably a mistake):\n  - ${query.quirks.map((q) => q.message).join('\n  - ')}`);
      }
      const catalog = loadCatalog(options.catalog);
      const selected = catalog.workers.filter((w) => query.matches(w));
      const workers = selected.filter((w) => !w.placeholder);
      const placeholders = selected.filter((w) => w.placeholder).map((w) => w.name);
      const total = catalog.workers.filter((w) => !w.placeholder).length;
      const notes = [...query.quirks.map((q) => q.message)];
      if (placeholders.length > 0) notes.push(`It also selects the placeholder queue(s) ${placeholders.join(', ')}, which are not workers.`);

      if (json) {
        io.out(`${JSON.stringify(workers.map((w) => w.workerName).sort(), null, 2)}\n`);
        for (const note of notes) io.err(`warning: ${note}\n`);
        return;
      }
      const width = Math.max(0, ...workers.map((w) => (w.workerName ?? '').length));
      const lines = [
        `${JSON.stringify(options.query)} selects ${workers.length} of ${total} workers`,
        ...(workers.length > 0 ? ['', `${'Worker'.padEnd(width)}  Generated queue`] : []),
        ...workers
          .map((w) => [w.workerName ?? '', w.name] as const)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([cls, name]) => `${cls.padEnd(width)}  ${name}`),
      ];
      if (notes.length > 0) lines.push('', ...notes.map((n) => `note: ${n}`));
      io.out(`${lines.join('\n')}\n`);

    });
}
