import { describe, expect, it } from 'vitest';
import { cdkJsonConfig, flatten, logicalId, resources, synthesize } from './support/stacks.js';

const trial = synthesize(cdkJsonConfig());
const { template, stack } = trial;
const migration = trial.stack.migration;

interface Statement {
  Sid: string;
  Action: string | string[];
  Resource: unknown;
}

describe('the operator policy', () => {
  const [policy] = Object.values(resources(template, 'AWS::IAM::ManagedPolicy')) as unknown as { Properties: { PolicyDocument: { Statement: Statement[] } } }[];
  const statements = new Map(policy!.Properties.PolicyDocument.Statement.map((s) => [s.Sid, s]));
  const actions = (sid: string) => [statements.get(sid)!.Action].flat().sort();
  const targets = (sid: string) => [statements.get(sid)!.Resource].flat().map(flatten);

  it('grants exactly what the CLI calls, on this migration only', () => {
    expect([...statements.keys()].sort()).toEqual(['DrainCheckOnDemand', 'FindByStackOutputs', 'FollowAndStop', 'MapRunChildren', 'StartAndList']);
    expect(actions('StartAndList')).toEqual(['states:DescribeStateMachine', 'states:ListExecutions', 'states:StartExecution']);
    expect(statements.get('StartAndList')!.Resource).toEqual({ Ref: logicalId(migration.stateMachine, stack) });
    expect(actions('FollowAndStop')).toEqual(['states:DescribeExecution', 'states:GetExecutionHistory', 'states:StopExecution']);
    const name = migration.name;
    expect(targets('FollowAndStop')).toEqual([
      `arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:execution:${name}:*`,
      `arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:execution:${name}/*`,
    ]);
    expect(targets('MapRunChildren')).toEqual([`arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:mapRun:${name}/*`]);
    expect(actions('DrainCheckOnDemand')).toEqual(['lambda:InvokeFunction']);
    expect(statements.get('DrainCheckOnDemand')!.Resource).toEqual({ 'Fn::GetAtt': [logicalId(migration.functions.functions.drainCheck, stack), 'Arn'] });
    expect(targets('FindByStackOutputs')).toEqual(['<Ref:AWS::StackId>']);
  });

  it('is an output, to attach to the operators’ role', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs['OperatorPolicyArn']!.Value).toEqual({ Ref: logicalId(migration.operatorPolicy, stack) });
  });
});
