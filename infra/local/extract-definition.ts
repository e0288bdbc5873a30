import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { AWS_QUOTAS } from './aws-quotas.js';

const PSEUDO = { partition: 'aws', region: 'us-east-1', account: '123456789012' };

/**
 * The Amazon States Language definition of a synthesized state machine, with its CloudFormation
 * intrinsics resolved to stable local values: a Lambda function's ARN ends in its logical id, so
 * the local runner can tell which function a Task calls.
 */
export function extractDefinition(stateMachine: StateMachine): Record<string, unknown> {
  const stack = Stack.of(stateMachine);
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const id = stack.getLogicalId(stateMachine.node.defaultChild as never);
  const definition = template.Resources[id]!.Properties['DefinitionString'];
  return JSON.parse(resolve(definition, template.Resources)) as Record<string, unknown>;
}

/**
 * Each Lambda function's timeout in seconds, by the ARN `extractDefinition` gives it: what a Task
 * calling it may take before Lambda stops it.
 */
export function extractFunctionTimeouts(stateMachine: StateMachine): Record<string, number> {
  const template = Template.fromStack(Stack.of(stateMachine)).toJSON() as { Resources: Record<string, { Type: string; Properties?: { Timeout?: number } }> };
  const timeouts: Record<string, number> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    timeouts[`arn:${PSEUDO.partition}:lambda:${PSEUDO.region}:${PSEUDO.account}:function:${logicalId}`] = resource.Properties?.Timeout ?? AWS_QUOTAS.defaultFunctionTimeoutSeconds;
  }
  return timeouts;
}

function resolve(value: unknown, resources: Record<string, { Type: string }>): string {
  if (typeof value === 'string') return value;
  const o = value as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [separator, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolve(p, resources)).join(separator);
  }
  if (o['Ref'] !== undefined) {
    const ref = o['Ref'] as string;
    if (ref === 'AWS::Partition') return PSEUDO.partition;
    if (ref === 'AWS::Region') return PSEUDO.region;
    if (ref === 'AWS::AccountId') return PSEUDO.account;
    return `ref:${ref}`;
  }
  if (o['Fn::GetAtt']) {
    const [logicalId, attribute] = o['Fn::GetAtt'] as [string, string];
    return resources[logicalId]?.Type === 'AWS::Lambda::Function' && attribute === 'Arn'
      ? `arn:${PSEUDO.partition}:lambda:${PSEUDO.region}:${PSEUDO.account}:function:${logicalId}`
      : `getatt:${logicalId}.${attribute}`;
  }
  throw new Error(`Cannot resolve the intrinsic ${JSON.stringify(o).slice(0, 120)} in the state machine definition`);
}
