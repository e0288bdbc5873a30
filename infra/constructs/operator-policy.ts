import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface OperatorPolicyProps {
  /** The migration's name: the state machine's name, which its execution ARNs contain. */
  readonly name: string;
  readonly stateMachine: sfn.IStateMachine;
  readonly drainCheckFunction: lambda.IFunction;
}

/**
 * What an operator's role needs to drive this migration with the CLI — `start`, `watch`,
 * `status`, `list`, `stop`, `drain-check --deployed` — and nothing more: attach it to the
 * on-call role instead of granting Step Functions at large. Executions, map runs and their child
 * executions are named at run time, hence the wildcards, each bounded to this state machine.
 */
export class OperatorPolicy extends Construct {
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: OperatorPolicyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const arn = (resource: string, resourceName: string) => stack.formatArn({ service: 'states', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const executions = arn('execution', `${props.name}:*`);
    // Distributed Map child executions: execution:MACHINE/MAP_RUN_LABEL:ID; map runs: mapRun:MACHINE/LABEL:ID.
    const childExecutions = arn('execution', `${props.name}/*`);
    const mapRuns = arn('mapRun', `${props.name}/*`);
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `sidekiq-migrate ${props.name}: start, watch, list and stop migrations, run the drain check on demand`,
      statements: [
        new iam.PolicyStatement({ sid: 'StartAndList', actions: ['states:StartExecution', 'states:ListExecutions', 'states:DescribeStateMachine'], resources: [props.stateMachine.stateMachineArn] }),
        new iam.PolicyStatement({ sid: 'FollowAndStop', actions: ['states:DescribeExecution', 'states:GetExecutionHistory', 'states:StopExecution'], resources: [executions, childExecutions] }),
        new iam.PolicyStatement({ sid: 'MapRunChildren', actions: ['states:ListExecutions', 'states:DescribeMapRun'], resources: [mapRuns] }),
        new iam.PolicyStatement({ sid: 'FindByStackOutputs', actions: ['cloudformation:DescribeStacks'], resources: [stack.stackId] }),
        new iam.PolicyStatement({ sid: 'DrainCheckOnDemand', actions: ['lambda:InvokeFunction'], resources: [props.drainCheckFunction.functionArn] }),
      ],
    });
    const reason = "Executions, Distributed Map runs and their child executions are named at run time; each wildcard is bounded to this migration's state machine.";
    for (const resource of [executions, childExecutions, mapRuns]) {
      Validations.of(this.policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flatten(stack, resource)}]`, reason });
    }
  }
}

/** An ARN as cdk-nag names it in a finding id: pseudo parameters as <AWS::…>. */
function flatten(stack: Stack, arn: string): string {
  const resolved = stack.resolve(arn) as unknown;
  if (typeof resolved === 'string') return resolved;
  const parts = (resolved as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return parts.map((p) => (typeof p === 'string' ? p : `<${(p as { Ref: string }).Ref}>`)).join('');
}
