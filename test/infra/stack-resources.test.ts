import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FUNCTION_ENTRIES } from '../../infra/constructs/migration-functions.js';
import { StateNames } from '../../infra/constructs/state-names.js';
import { cdkJsonConfig, exampleConfig, flatten, logicalId, resources, synthesize } from './support/stacks.js';

// What a plain `cdk synth` deploys (cdk.json): a new VPC and a trial Valkey cache, re-route only.
const trial = synthesize(cdkJsonConfig());
const { template, stack } = trial;
const fns = trial.stack.migration.functions.functions;
const isolatedSubnetIds = trial.stack.vpc.isolatedSubnets.map((s) => ({ Ref: logicalId(s, stack) }));
const functionsSecurityGroup = { 'Fn::GetAtt': [logicalId(trial.stack.migration.securityGroup, stack), 'GroupId'] };

describe('the trial stack (cdk.json)', () => {
  it('has one function per handler: Node 22 on arm64, traced, in the private subnets, behind the functions’ security group, with a log group each', () => {
    const functions = resources(template, 'AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(Object.keys(FUNCTION_ENTRIES).length);
    for (const [name, fn] of Object.entries(fns)) {
      template.hasResource('AWS::Lambda::Function', {
        Properties: Match.objectLike({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          VpcConfig: { SubnetIds: isolatedSubnetIds, SecurityGroupIds: [functionsSecurityGroup] },
          LoggingConfig: { LogGroup: { Ref: logicalId(trial.stack.migration.functions.logGroups[name as keyof typeof fns], stack) } },
        }),
      });
      expect(functions[logicalId(fn, stack)], name).toBeDefined();
    }
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, Object.keys(FUNCTION_ENTRIES).length + 2);
  });

  it('creates a VPC with isolated subnets only (no NAT, no internet gateway) and logs what it rejects', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    expect(isolatedSubnetIds).toHaveLength(2);
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', LogDestinationType: 'cloud-watch-logs' });
  });

  it('creates a Valkey replication group: cluster mode disabled, TLS required, encrypted at rest, an AUTH token from Secrets Manager', () => {
    const secret = logicalId(trial.stack.trialCaches['source']!.authToken, stack);
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'valkey',
      ClusterMode: 'disabled',
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      AtRestEncryptionEnabled: true,
      AuthToken: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secret }, ':SecretString:::}}']] },
      SecurityGroupIds: [{ 'Fn::GetAtt': [logicalId(trial.stack.trialCaches['source']!.securityGroup, stack), 'GroupId'] }],
    });
    template.hasResourceProperties('AWS::ElastiCache::SubnetGroup', { SubnetIds: isolatedSubnetIds });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: { ExcludePunctuation: true, PasswordLength: 64 } });
  });

  it('reaches Secrets Manager through a private interface endpoint in the same subnets', () => {
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface', PrivateDnsEnabled: true, SubnetIds: isolatedSubnetIds });
    const [endpoint] = Object.values(resources(template, 'AWS::EC2::VPCEndpoint'));
    expect(flatten(endpoint!.Properties['ServiceName'])).toBe('com.amazonaws.<Ref:AWS::Region>.secretsmanager');
  });

  it('runs the migration state machine with logging and X-Ray tracing, under its fixed name', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'sidekiq-migrate-trial',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ERROR', Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }] },
    });
    const definition = flatten(Object.values(resources(template, 'AWS::StepFunctions::StateMachine'))[0]!.Properties['DefinitionString']);
    for (const state of [StateNames.plan, StateNames.eachItem, StateNames.summarize]) expect(definition).toContain(state);
    for (const name of ['plan', 'rerouteSetPage', 'transferQueue', 'summarize', 'releaseLock'] as const) expect(definition).toContain(`<${logicalId(fns[name], stack)}.Arn>`);
  });

  it('notifies through an SNS topic encrypted with a rotating key that CloudWatch alarms may use, TLS enforced', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] })]) },
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('NotificationsKey'), 'Arn'] } });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('outputs the state machine ARN, the drain check function, the dashboard URL and the topic ARN', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs['StateMachineArn']!.Value).toEqual({ Ref: logicalId(trial.stack.migration.stateMachine, stack) });
    expect(outputs['DrainCheckFunctionName']!.Value).toEqual({ Ref: logicalId(trial.stack.migration.functions.functions.drainCheck, stack) });
    expect(outputs['NotificationTopicArn']!.Value).toEqual({ Ref: logicalId(trial.stack.migration.topic, stack) });
    expect(flatten(outputs['DashboardUrl']!.Value)).toBe('https://<Ref:AWS::Region>.console.aws.amazon.com/cloudwatch/home?region=<Ref:AWS::Region>#dashboards:name=sidekiq-migrate-trial');
    expect(outputs['SourceTrialCacheAuthTokenArn']).toBeDefined();
  });

  it('synthesizes offline with a pinned account and region, from the AZs committed in cdk.context.json', () => {
    const pinned = synthesize(exampleConfig('trial-pinned'));
    expect(pinned.stack.region).toBe('eu-west-1');
    expect(pinned.stack.vpc.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b']);
    pinned.template.resourceCountIs('AWS::ElastiCache::ReplicationGroup', 2);
    pinned.template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { Engine: 'valkey', NumCacheClusters: 2, MultiAZEnabled: true, AutomaticFailoverEnabled: true, Port: 6380 });
  });

  it('keeps a final snapshot of a created cache when the stack is destroyed or the cache replaced: it may hold the jobs a move carried to it', () => {
    // `cdk destroy` is the runbook's decommission step (redis-move.md §8), and a created target
    // (trial-pinned: replicas, Multi-AZ) is where a move leaves every job. CloudFormation's default
    // for a replication group is Delete: the destroy, or a change that replaces the group (its port,
    // its engine), deleted the Redis with the jobs on it.
    const pinned = synthesize(exampleConfig('trial-pinned'));
    const groups = Object.values(resources(pinned.template, 'AWS::ElastiCache::ReplicationGroup')) as unknown as { DeletionPolicy?: string; UpdateReplacePolicy?: string }[];
    expect(groups.map((g) => [g.DeletionPolicy, g.UpdateReplacePolicy])).toEqual([
      ['Snapshot', 'Snapshot'],
      ['Snapshot', 'Snapshot'],
    ]);
    expect(Object.values(resources(template, 'AWS::ElastiCache::ReplicationGroup')).map((g) => (g as unknown as { DeletionPolicy?: string }).DeletionPolicy)).toEqual(['Snapshot']);
  });
});
