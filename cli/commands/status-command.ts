import type { Command } from 'commander';
import { executionOptionsSchema } from '../../core/config/deployed-options.js';
import { validateConfigAndFiles } from '../../core/config/validate-config.js';
import { stateMachineUnused, typedOptions } from '../workflow/ignored-options.js';
import type { CliContext } from '../cli-context.js';
import { optionsWithConfig } from '../config/options-with-config.js';
import { resolveExecution, stepFunctionsFor } from '../deployed/deployed-context.js';
import { ExecutionTracker } from '../deployed/execution-tracker.js';
import { exitCodeOf, watchExecution } from '../deployed/watch-execution.js';
import { ExitCode } from '../exit-codes.js';
import { addDeployedOptions } from './run-options.js';

export function registerStatusCommand(program: Command, ctx: CliContext): void {
  addDeployedOptions(
    program
      .command('status')
      .summary('where a deployed execution is now (once; `watch` follows it)')
      .description(
        'Shows an execution of the deployed state machine once: status, current state, retries, a line per set and queue, and the summary when it has ended. Exit code 0 while it runs or when it succeeded completely (a run that left jobs it could not move, "Done, but jobs were left behind", included, as for run), 1 when it failed, was stopped or did not finish, or left sidekiq-cron definitions unread while asked to rewrite or carry them, or, rewriting, enabled ones it could not judge or that were saved by someone else between its read and its write ("Done, but N sidekiq-cron definition(s) were not read" or "… could not be judged by the routing", as for run), 2 when its plan refused the input (nothing touched). Only reads.',
      )
      .argument('<execution>', 'the execution ARN, or the run id it was started with (then its newest execution: a resumed run goes on in RUN-resume-N)')
      .option('--json', 'print the status as one JSON object'),
  ).action(async (execution: string, raw: Record<string, unknown>, command: Command) => {
    const options = validateConfigAndFiles(executionOptionsSchema, optionsWithConfig(command, raw), () => [], (given) => stateMachineUnused(typedOptions(command), given, execution));
    const sfn = stepFunctionsFor(ctx, options, execution);
    const tracker = new ExecutionTracker(sfn, await resolveExecution(execution, options, sfn));
    const progress = await watchExecution(tracker, { io: ctx.io, json: options.json, intervalMs: 0, sleep: ctx.sleep, now: ctx.now, once: true });
    ctx.exitCode = progress.finished ? exitCodeOf(progress) : ExitCode.ok;
  });
}
