import { describe, expect, it } from 'vitest';
import { LambdaTasks } from '../../infra/constructs/state-names.js';
import { exampleConfig, flatten, logicalId, resources, synthesize } from './support/stacks.js';

// A transfer: the function must reach (and release on) both Redis.
const s = synthesize(exampleConfig('elasticache-transfer'));
const migration = s.stack.migration;
const fn = migration.functions.functions.executionEnded;
const fnArn = { 'Fn::GetAtt': [logicalId(fn, s.stack), 'Arn'] };
const queueArn = { 'Fn::GetAtt': [logicalId(migration.functions.executionEndedDeadLetters, s.stack), 'Arn'] };
const ruleArn = { 'Fn::GetAtt': [logicalId(migration.executionEnded.rule, s.stack), 'Arn'] };
const [rule] = Object.values(resources(s.template, 'AWS::Events::Rule'));

describe('the execution-ended rule', () => {
  it("matches only this state machine's executions that were stopped, timed out or failed", () => {
    expect(Object.keys(resources(s.template, 'AWS::Events::Rule'))).toHaveLength(1);
    expect(rule!.Properties['Name']).toBe('sidekiq-migrate-execution-ended');
    expect(rule!.Properties['EventPattern']).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { stateMachineArn: [{ Ref: logicalId(migration.stateMachine, s.stack) }], status: ['ABORTED', 'TIMED_OUT', 'FAILED'] },
    });
  });

  it('targets the execution-ended function, with retries and a dead-letter queue', () => {
    expect(rule!.Properties['Targets']).toEqual([
      expect.objectContaining({ Arn: fnArn, RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 }, DeadLetterConfig: { Arn: queueArn } }),
    ]);
    // Only this rule may invoke it.
    const permissions = Object.values(resources(s.template, 'AWS::Lambda::Permission')).filter((p) => flatten(p.Properties['FunctionName']) === flatten(fnArn));
    expect(permissions.map((p) => [p.Properties['Principal'], p.Properties['SourceArn']])).toEqual([['events.amazonaws.com', ruleArn]]);
  });

  it('keeps events the function still fails on, in the same queue, and alarms on it', () => {
    const props = resources(s.template, 'AWS::Lambda::Function')[logicalId(fn, s.stack)]!.Properties;
    expect(props['DeadLetterConfig']).toEqual({ TargetArn: queueArn });
    expect(props['Timeout']).toBe(60);
    const [invokeConfig] = Object.values(resources(s.template, 'AWS::Lambda::EventInvokeConfig')).filter((c) => flatten(c.Properties['FunctionName']) === flatten({ Ref: logicalId(fn, s.stack) }));
    expect(invokeConfig!.Properties).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 });
    const [queue] = Object.values(resources(s.template, 'AWS::SQS::Queue'));
    expect(queue!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86400 });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'sidekiq-migrate-execution-ended-dead-letters',
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      AlarmActions: [{ Ref: logicalId(migration.topic, s.stack) }],
    });
  });

  it('lets only EventBridge, for this rule, send to the queue, and the function only send to it', () => {
    const [policy] = Object.values(resources(s.template, 'AWS::SQS::QueuePolicy'));
    const statements = (policy!.Properties['PolicyDocument'] as { Statement: { Effect: string; Principal: unknown; Action: string; Condition?: unknown }[] }).Statement;
    const allows = statements.filter((st) => st.Effect === 'Allow');
    expect(allows).toEqual([expect.objectContaining({ Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } } })]);
    const role = logicalId(migration.functions.node.findChild('executionEndedRole') as never, s.stack).replace(/[0-9A-F]{8}$/, '');
    const actions = Object.entries(resources(s.template, 'AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith(role))
      .flatMap(([, p]) => (p.Properties['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement)
      .filter((st) => [st.Action].flat().some((a) => a.startsWith('sqs:')));
    expect(actions.map((st) => [st.Resource].flat())).toEqual([[queueArn]]);
  });

  it("needs no Step Functions API to tell the execution that holds a run from an older one (the plan task is given its execution ARN, which the run lock records); may only describe this machine's executions, for an event without its input", () => {
    const role = logicalId(migration.functions.node.findChild('executionEndedRole') as never, s.stack).replace(/[0-9A-F]{8}$/, '');
    const statements = Object.entries(resources(s.template, 'AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith(role))
      .flatMap(([, p]) => (p.Properties['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement)
      .filter((st) => [st.Action].flat().some((a) => a.startsWith('states:')));
    expect(statements.map((st) => [st.Action].flat())).toEqual([['states:DescribeExecution']]);
    // This state machine's executions (arn:…:execution:<its name>:*), nothing else.
    const resource = JSON.stringify(statements[0]!.Resource);
    expect(resource).toContain(':execution:');
    expect(resource).toContain(logicalId(migration.stateMachine, s.stack));
    expect(resource).toMatch(/:\*"\]\]\}$/);
    const definition = JSON.parse(flatten(Object.values(resources(s.template, 'AWS::StepFunctions::StateMachine'))[0]!.Properties['DefinitionString'])) as { StartAt: string; States: Record<string, { Parameters?: unknown }> };
    expect(definition.States[definition.StartAt]!.Parameters).toEqual({ 'executionInput.$': '$', 'executionArn.$': '$$.Execution.Id' });
  });

  it('runs with both connections, and is not a Task of the state machine', () => {
    const env = (resources(s.template, 'AWS::Lambda::Function')[logicalId(fn, s.stack)]!.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(env).filter((k) => k.endsWith('_URL')).sort()).toEqual(['SIDEKIQ_MIGRATE_SOURCE_URL', 'SIDEKIQ_MIGRATE_TARGET_URL']);
    const definition = JSON.stringify(resources(s.template, 'AWS::StepFunctions::StateMachine'));
    expect(definition).not.toContain(logicalId(fn, s.stack));
    expect(Object.values(LambdaTasks)).not.toContain('executionEnded');
  });
});
