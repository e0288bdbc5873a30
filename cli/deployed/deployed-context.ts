import type { CliContext } from '../cli-context.js';
import { executionArnOf, findStateMachine, type StateMachineRef } from './find-state-machine.js';
import { newestExecutionOfRun } from './resumed-executions.js';
import { StepFunctions } from './step-functions.js';

/** The Step Functions client of a command, telling the operator on stderr when AWS throttles it. */
export function stepFunctionsFor(ctx: CliContext, ref: StateMachineRef): StepFunctions {
  return new StepFunctions({
    ...(ref.region ? { region: ref.region } : {}),
    sleep: ctx.sleep,
    onThrottled: (ms) => ctx.io.err(`AWS Step Functions is throttling these reads; waiting ${(ms / 1000).toFixed(1)} s.\n`),
  });
}

/**
 * The execution a command names: an ARN as it is; a run id under the deployed state machine, and
 * then the run's newest execution (a resumed run goes on in RUN-resume-N).
 */
export async function resolveExecution(execution: string, ref: StateMachineRef, sfn: StepFunctions): Promise<string> {
  if (execution.startsWith('arn:')) return executionArnOf(execution, undefined);
  return newestExecutionOfRun(sfn, executionArnOf(execution, await findStateMachine(ref)));
}
