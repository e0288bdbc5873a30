import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { drainCheckOptionsSchema } from '../../core/config/drain-check-options.js';
import { readInputFile } from '../../core/config/read-input-file.js';
import { validateConfig } from '../../core/config/validate-config.js';
import { drainCheck } from '../../core/drain/drain-check.js';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { InputError } from '../../core/errors/input-error.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { CliContext } from '../cli-context.js';
import { renderDrainReport } from '../workflow/render-drain-report.js';

/** Exit code when jobs exist that nobody will run: lets a pipeline stop on it. */
export const ORPHANS_EXIT_CODE = 3;

export function registerDrainCheckCommand(program: Command, ctx: CliContext): void {
  program
    .command('drain-check')
    .summary('what is left on a Redis, and whether anyone will ever run it')
    .description(
      'Reports per queue its depth, the age of its oldest job and its live listeners (from the processes set and their heartbeats), per set what comes due and what will land on a queue nobody fetches, jobs left in flight by interrupted transfers, and a verdict: drained, draining (with rate and ETA given --previous) or stuck. Reads only. Exit code 3 when jobs exist that nobody will run.',
    )
    .option('--redis <url>', 'the Redis to check')
    .option('--namespace <prefix>', 'Sidekiq key prefix (redis-namespace)')
    .option('--previous <file>', 'the JSON report of the previous check (for rate, ETA and arrivals)')
    .option('--save <file>', 'write this check as JSON, to pass as --previous next time')
    .option('--retired-queues <list>', 'queues that should receive nothing any more (routing change): arrivals are reported')
    .option('--tls-ca <file>', 'CA certificate(s) to trust for rediss:// (PEM)')
    .option('--json', 'print the report as JSON')
    .action(async (raw: Record<string, unknown>) => {
      const options = validateConfig(drainCheckOptionsSchema, raw);
      const previous = options.previous ? readPrevious(options.previous) : undefined;
      const connect = options.tlsCa ? { tls: { ca: readFileSync(options.tlsCa) } } : undefined;
      const connections = new UrlConnections({ checked: { url: options.redis, prefix: options.namespace, connect } });
      try {
        const { redis, keys, name } = await connections.get('checked');
        const report = await drainCheck(redis, keys, { previous, retiredQueues: options.retiredQueues, name });
        if (options.save) writeFileSync(options.save, `${JSON.stringify(report)}\n`);
        ctx.io.out(options.json ? `${JSON.stringify(report)}\n` : renderDrainReport(report));
        ctx.exitCode = report.orphans.total > 0 ? ORPHANS_EXIT_CODE : 0;
      } finally {
        await connections.close();
      }
    });
}

function readPrevious(path: string): DrainReport {
  const text = readInputFile(path, 'previous drain report');
  try {
    const report = JSON.parse(text) as DrainReport;
    if (typeof report.checkedAt !== 'number' || typeof report.remaining !== 'number') throw new Error('not a drain report');
    return report;
  } catch (cause) {
    throw new InputError(`--previous ${path}: not a drain report saved by --save or --json (${(cause as Error).message})`, { cause });
  }
}
