import type { Command } from 'commander';
import { DEFAULT_INTERVAL_SECONDS, executionOptionsSchema } from '../../core/config/deployed-options.js';
import { validateConfigAndFiles } from '../../core/config/validate-config.js';
import { stateMachineUnused, typedOptions } from '../workflow/ignored-options.js';
import type { CliContext } from '../cli-context.js';
import { optionsWithConfig } from '../config/options-with-config.js';
import { resolveExecution, stepFunctionsFor } from '../deployed/deployed-context.js';
import { ExecutionTracker } from '../deployed/execution-tracker.js';
import { exitCodeOf, watchExecution } from '../deployed/watch-execution.js';
import { addDeployedOptions } from './run-options.js';

export function registerWatchCommand(program: Command, ctx: CliContext): void {
  addDeployedOptions(
    program
      .command('watch')
      .summary('follow a deployed execution to its end: overall progress, then the summary')
      .description(
        'Follows an execution of the deployed state machine — and the executions its items continued in — until all ended: on a terminal a view of at most 10 lines redrawn in place (state and retries, jobs of the planned total with rate and time left, the sets and queues in progress, counts of the others); in a pipe one line per update; with --json one JSON object per update and a last {"type":"end"} object with the summary. The summary shows the largest sets and queues; --verbose all it names. Exit code 0 only if the run succeeded and everything that could be moved was moved (1 when it left sidekiq-cron definitions unread while asked to rewrite or carry them, or, rewriting, enabled ones it could not judge or that were saved by someone else between its read and its write, as for run); 2 when its plan refused the input (nothing touched). Only reads.',
      )
      .argument('<execution>', 'the execution ARN, or the run id it was started with (then its newest execution: a resumed run goes on in RUN-resume-N)')
      .option('--interval <seconds>', 'seconds between polls (default: 5)')
      .option('--json', 'one JSON object per update')
      .option('--verbose', 'list every set and queue the summary names, not only the largest'),
  ).action(async (execution: string, raw: Record<string, unknown>, command: Command) => {
    const options = validateConfigAndFiles(executionOptionsSchema, optionsWithConfig(command, raw), () => [], (given) => stateMachineUnused(typedOptions(command), given, execution));
    const sfn = stepFunctionsFor(ctx, options, execution);
    const tracker = new ExecutionTracker(sfn, await resolveExecution(execution, options, sfn));
    const progress = await watchExecution(tracker, { io: ctx.io, json: options.json, verbose: options.verbose, intervalMs: (options.interval ?? DEFAULT_INTERVAL_SECONDS) * 1000, sleep: ctx.sleep, now: ctx.now });
    ctx.exitCode = exitCodeOf(progress);
  });
}
