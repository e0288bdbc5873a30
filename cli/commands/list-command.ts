import type { Command } from 'commander';
import { listOptionsSchema } from '../../core/config/deployed-options.js';
import { validateConfigAndFiles } from '../../core/config/validate-config.js';
import { stateMachineUnused, typedOptions } from '../workflow/ignored-options.js';
import type { CliContext } from '../cli-context.js';
import { optionsWithConfig } from '../config/options-with-config.js';
import { stepFunctionsFor } from '../deployed/deployed-context.js';
import { findStateMachine } from '../deployed/find-state-machine.js';
import { listRuns, type RunListing } from '../deployed/list-runs.js';
import { formatDuration } from '../deployed/render-progress.js';
import { addDeployedOptions } from './run-options.js';

export function registerListCommand(program: Command, ctx: CliContext): void {
  addDeployedOptions(
    program
      .command('list')
      .summary('recent executions of the deployed state machine: mode, status, moved, duration')
      .description('Lists the newest executions of the deployed migration state machine, newest first, with their run id, mode, status, jobs moved and duration. Executions that continue an item of an earlier one (continue-as-new) are marked. One that succeeded without finishing its part of the run (an item failed, or continued in another execution) says `SUCCEEDED, not complete` (--json: `complete`); `status` says what is left. Only reads.')
      .option('--limit <n>', 'how many executions (default: 10, at most 100)')
      .option('--json', 'print one JSON array'),
  ).action(async (raw: Record<string, unknown>, command: Command) => {
    const options = validateConfigAndFiles(listOptionsSchema, optionsWithConfig(command, raw), () => [], (given) => stateMachineUnused(typedOptions(command), given));
    const stateMachineArn = await findStateMachine(options);
    const runs = await listRuns(stepFunctionsFor(ctx, options), stateMachineArn, options.limit, ctx.now());
    ctx.io.out(options.json ? `${JSON.stringify(runs)}\n` : renderRuns(runs, stateMachineArn));
  });
}

/** A table: one execution per line, the columns an on-call engineer scans for. */
export function renderRuns(runs: readonly RunListing[], stateMachineArn: string): string {
  if (runs.length === 0) return `No executions of ${stateMachineArn} yet.\n`;
  const rows = runs.map((r) => [
    r.runId ?? r.name,
    r.complete === false ? `${r.status}, not complete` : r.status,
    `${r.mode ?? '?'}${r.dryRun ? ' (dry run)' : ''}${r.continuation ? ' (continued)' : ''}`,
    r.moved === undefined ? '-' : r.moved.toLocaleString('en-US'),
    r.startedAt ? r.startedAt.toISOString().replace(/\.\d+Z$/, 'Z') : '-',
    r.durationMs === undefined ? '-' : formatDuration(r.durationMs),
    r.name === r.runId ? '' : r.name,
  ]);
  const header = ['RUN', 'STATUS', 'MODE', 'MOVED', 'STARTED', 'DURATION', 'EXECUTION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
