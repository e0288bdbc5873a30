import type { Command } from 'commander';
import { DEFAULT_INTERVAL_SECONDS, executionOptionsSchema } from '../../core/config/deployed-options.js';
import { validateConfigAndFiles } from '../../core/config/validate-config.js';
import { stateMachineUnused, typedOptions } from '../workflow/ignored-options.js';
import type { CliContext } from '../cli-context.js';
import { optionsWithConfig } from '../config/options-with-config.js';
import { resolveExecution, stepFunctionsFor } from '../deployed/deployed-context.js';
import { ExecutionTracker } from '../deployed/execution-tracker.js';
import { stopRun } from '../deployed/stop-run.js';
import { ExitCode } from '../exit-codes.js';
import { addDeployedOptions } from './run-options.js';

export function registerStopCommand(program: Command, ctx: CliContext): void {
  addDeployedOptions(
    program
      .command('stop')
      .summary('stop a deployed execution cleanly; a later run resumes it')
      .description(
        'Stops an execution of the deployed state machine and the executions its items continued in. Every page already done stays done (each is atomic); a Lambda in the middle of a page finishes it and stops at its next lock renewal; the deployment releases the run lock when the execution ends; jobs a transfer had in flight stay in its in-flight key and the next run finishes them. Waits until everything ended (--no-wait to return at once).',
      )
      .argument('<execution>', 'the execution ARN, or the run id it was started with (then its newest execution: a resumed run goes on in RUN-resume-N)')
      .option('--no-wait', 'return as soon as the stop requests are sent')
      .option('--interval <seconds>', 'seconds between checks while waiting (default: 5)')
      .option('--json', 'print the result as one JSON object'),
  ).action(async (execution: string, raw: Record<string, unknown>, command: Command) => {
    const options = validateConfigAndFiles(executionOptionsSchema, optionsWithConfig(command, raw), () => [], (given) => stateMachineUnused(typedOptions(command), given, execution));
    const sfn = stepFunctionsFor(ctx, options, execution);
    const executionArn = await resolveExecution(execution, options, sfn);
    const { stopped, progress } = await stopRun(sfn, new ExecutionTracker(sfn, executionArn), { wait: options.wait, sleep: ctx.sleep, pollMs: (options.interval ?? DEFAULT_INTERVAL_SECONDS) * 1000 });
    if (options.json) {
      ctx.io.out(`${JSON.stringify({ type: 'stopped', executionArn, runId: progress.runId, stopped, status: progress.status, finished: progress.finished })}\n`);
      return;
    }
    if (stopped.length === 0) {
      ctx.io.out(`Nothing to stop: ${progress.runId ? `run ${progress.runId}` : executionArn} already ended (${progress.status}).\n`);
      return;
    }
    ctx.io.out(`Stopped ${stopped.length} execution(s) of run ${progress.runId ?? '?'}:\n${stopped.map((arn) => `  ${arn}\n`).join('')}`);
    // --no-wait returns before anything could end: that is what was asked, not a failure.
    if (!options.wait) ctx.io.out(`Not waiting for them to end: check with sidekiq-migrate status ${progress.runId ?? executionArn}.\n`);
    else if (!progress.finished) {
      ctx.io.err('Some executions had not ended yet when we stopped waiting; check with `sidekiq-migrate status`.\n');
      ctx.exitCode = ExitCode.failed;
    }
    ctx.io.out(
      [
        'Every page that finished is done and stays done; nothing was half-moved.',
        'The run lock is released by the deployment when it sees the execution end.',
        progress.mode === 'transfer'
          ? 'Jobs claimed but not yet written stay in the run\'s in-flight key on the source: the next transfer finishes them first.'
          : 'Jobs not re-routed yet are still on their old queues.',
        `To finish, resume the run with the same routing and selection: sidekiq-migrate start --resume ${progress.runId ?? 'RUN'} …`,
        '',
      ].join('\n'),
    );
  });
}
