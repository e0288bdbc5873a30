import { InputError } from '../../core/errors/input-error.js';
import { stackOutput } from './stack-outputs.js';

/** The stack output naming the migration state machine (infra/stacks/sidekiq-migrate-stack.ts). */
export const STATE_MACHINE_OUTPUT = 'StateMachineArn';

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;

export interface StateMachineRef {
  /** `--state-machine ARN`: used as it is. */
  readonly stateMachine?: string;
  /** Otherwise the deployed stack whose outputs name it. */
  readonly stack?: string;
  readonly region?: string;
}

/** The migration state machine's ARN: the one given, or the deployed stack's output. */
export async function findStateMachine(ref: StateMachineRef): Promise<string> {
  if (ref.stateMachine) {
    if (!STATE_MACHINE_ARN.test(ref.stateMachine)) {
      throw new InputError(`--state-machine ${ref.stateMachine}: not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)`);
    }
    return ref.stateMachine;
  }
  return stackOutput(ref.stack, STATE_MACHINE_OUTPUT, ref.region, 'is it the sidekiq-migrate stack? Name it with --stack, or give --state-machine ARN.');
}

/**
 * An execution named by its ARN, or by its name (the run id `start` gave it) under the state
 * machine: `arn:aws:states:R:A:execution:MACHINE:NAME`.
 */
export function executionArnOf(execution: string, stateMachineArn: string | undefined): string {
  if (execution.startsWith('arn:')) {
    if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:\S+$/.test(execution)) throw new InputError(`${execution}: not an execution ARN`);
    return execution;
  }
  refuseExecutionName(execution);
  if (!stateMachineArn) throw new InputError(`${execution}: give the execution's ARN, or the state machine (--state-machine or --stack) to find it by name`);
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${execution}`;
}

/**
 * An execution named neither by an ARN nor by a run id: bad input, said before the state machine
 * is looked for (reading the stack's outputs failed it as whatever AWS said first).
 */
export function refuseExecutionName(execution: string): void {
  if (execution.startsWith('arn:') || /^[A-Za-z0-9_.-]{1,80}$/.test(execution)) return;
  throw new InputError(`${execution === '' ? '<execution>: empty' : execution}: give an execution ARN or the run id it was started with`);
}

/** The execution's page in the Step Functions console. */
export function consoleLink(executionArn: string): string {
  const region = executionArn.split(':')[3];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}
