import { InputError } from '../../core/errors/input-error.js';
import type { CliContext } from '../cli-context.js';
import { executionArnOf, findStateMachine, refuseExecutionName, type StateMachineRef } from './find-state-machine.js';
import { newestExecutionOfRun } from './resumed-executions.js';
import { StepFunctions } from './step-functions.js';

/**
 * The Step Functions client of a command, telling the operator on stderr when AWS throttles it.
 * An ARN given (the execution, or --state-machine) is asked of its own region: an ARN copied from
 * `start`'s output into a shell whose AWS_REGION is another would otherwise be looked for where it
 * is not. A --region (or aws.region) that contradicts the ARN is bad input, said before any call.
 */
export function stepFunctionsFor(ctx: CliContext, ref: StateMachineRef, execution?: string): StepFunctions {
  const [what, arn] = execution?.startsWith('arn:') ? ['the execution', execution] : ref.stateMachine ? ['the state machine', ref.stateMachine] : [undefined, undefined];
  const arnRegion = arn?.split(':')[3] || undefined;
  if (ref.region && arnRegion && ref.region !== arnRegion) {
    throw new InputError(`--region ${ref.region}: ${what} ${arn} is in ${arnRegion}: leave --region out, or give --region ${arnRegion}`);
  }
  const region = ref.region ?? arnRegion;
  return new StepFunctions({
    ...(region ? { region } : {}),
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
  refuseExecutionName(execution);
  return newestExecutionOfRun(sfn, executionArnOf(execution, await findStateMachine(ref)));
}
