import { Stack, Token, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/**
 * The cdk-nag findings on the migration state machine (built by MigrationWorkflow, which this
 * project does not change here), each acknowledged with its reason. cdk-nag 3 acknowledges
 * findings one by one (`AwsSolutions-IAM5[Resource::…]`), so the ids name the resources as cdk-nag
 * flattens them.
 */
export function acknowledgeStateMachineFindings(stateMachine: sfn.StateMachine, functions: Readonly<Record<string, lambda.IFunction>>): void {
  const stack = Stack.of(stateMachine);
  const acknowledge = (id: string, reason: string) => Validations.of(stateMachine).acknowledge({ id, reason });
  for (const fn of Object.values(functions)) {
    const logicalId = stack.getLogicalId(fn.node.defaultChild as CfnElement);
    acknowledge(
      `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
      'CDK LambdaInvoke grants the named function and its versions and aliases (ARN:*); the Tasks call the unqualified function, a migration function of this construct, nothing else.',
    );
  }
  acknowledge(
    'AwsSolutions-IAM5[Resource::*]',
    'Only actions without resource-level permissions: CloudWatch Logs log delivery (state machine logging) and X-Ray PutTraceSegments/PutTelemetryRecords/GetSampling* (tracing), as CDK grants them.',
  );
  const executions = executionsAsNagNamesThem(stateMachine);
  acknowledge(
    `AwsSolutions-IAM5[Resource::${executions}:*]`,
    "Distributed Map: the parent describes and stops its child executions, named at run time; the wildcard covers only this state machine's executions.",
  );
  acknowledge(
    `AwsSolutions-IAM5[Resource::${executions}/*:*]`,
    "Distributed Map: redriving a map run's child executions, named at run time; the wildcard covers only this state machine's map runs.",
  );
  acknowledge(
    'AwsSolutions-SF1',
    'MigrationWorkflow logs errors without execution data, on purpose: the execution history (90 days) already records every transition, and ALL would log each page task loop (settings, cursors, counters) again, at a cost, with nothing new. Errors reach CloudWatch Logs.',
  );
}

/**
 * The ARN of a state machine's executions (without the execution's name) as cdk-nag flattens the
 * ARN CDK builds: pseudo parameters as <AWS::…>, a known region and account as they are.
 */
export function executionsAsNagNamesThem(stateMachine: sfn.StateMachine): string {
  const stack = Stack.of(stateMachine);
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  const name = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(stateMachine.node.defaultChild as CfnElement)}"}]}]}`;
  return `arn:<AWS::Partition>:states:${region}:${account}:execution:${name}`;
}
