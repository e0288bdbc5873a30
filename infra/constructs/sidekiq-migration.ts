import { Aws, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ExecutionEndedRule } from './execution-ended-rule.js';
import { MigrationAlarms } from './migration-alarms.js';
import { MigrationDashboard } from './migration-dashboard.js';
import { MigrationFunctions, type FunctionCode } from './migration-functions.js';
import { OperatorPolicy } from './operator-policy.js';
import { MigrationSchedules, type DrainCheckScheduleOptions, type SweepScheduleOptions } from './migration-schedules.js';
import { MigrationWorkflow } from './migration-workflow.js';
import { acknowledgeStateMachineFindings } from './nag-acknowledgements.js';
import type { RedisEndpoint } from './redis-endpoint.js';
import { connectionNameProblem } from '../../core/config/connection-name.js';

/**
 * How the functions reach Secrets Manager (only when a connection has a secret): an interface
 * endpoint this construct creates (default; private DNS must not be taken by another endpoint of
 * the VPC), an existing endpoint's security group, or through a NAT (HTTPS to anywhere).
 */
export type SecretsManagerAccess = 'endpoint' | 'nat' | { readonly endpointSecurityGroup: ec2.ISecurityGroup };

export interface SidekiqMigrationProps {
  /** Names the state machine, dashboard, alarms and schedules (default "sidekiq-migrate"). */
  readonly name?: string;
  readonly vpc: ec2.IVpc;
  /** Private subnets for the functions (and the Secrets Manager endpoint). */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** "source" (required) and, for transfers, "target". */
  readonly connections: Readonly<Record<string, RedisEndpoint>>;
  readonly secretsManagerAccess?: SecretsManagerAccess;
  readonly functionCode?: FunctionCode;
  readonly functionTimeout?: Duration;
  readonly functionMemorySize?: number;
  readonly logRetention?: logs.RetentionDays;
  /** Sets and queues migrated at once (default 4). */
  readonly maxConcurrency?: number;
  /** Scheduled drain checks, and their alarms: `persistPeriods` checks in a row before orphans or stuck notify. */
  readonly drainCheck?: DrainCheckScheduleOptions & { readonly persistPeriods?: number };
  readonly sweep?: SweepScheduleOptions;
  /** Subscribed to the notification topic (each confirms by mail). */
  readonly notificationEmails?: readonly string[];
  readonly functionErrorThreshold?: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;

/**
 * Sidekiq migration on AWS: the Lambda functions in the VPC, allowed to reach only the Redis
 * ports (and Secrets Manager); the migration state machine (MigrationWorkflow) with logging and
 * X-Ray; the clean-up after stopped, timed-out or failed executions (ExecutionEndedRule);
 * scheduled drain checks and an optional sweep; alarms notifying an encrypted SNS topic; and a
 * CloudWatch dashboard.
 */
export class SidekiqMigration extends Construct {
  readonly name: string;
  readonly securityGroup: ec2.SecurityGroup;
  readonly functions: MigrationFunctions;
  readonly workflow: MigrationWorkflow;
  readonly stateMachine: sfn.StateMachine;
  readonly topic: sns.Topic;
  readonly schedules: MigrationSchedules;
  readonly alarms: MigrationAlarms;
  /** Cleans up after executions stopped from the CLI or console (stop marker, lock release). */
  readonly executionEnded: ExecutionEndedRule;
  readonly dashboard: MigrationDashboard;
  /** Attach to the operators' role: what the CLI's deployed commands need (operator-policy.ts). */
  readonly operatorPolicy: iam.ManagedPolicy;
  /** The dashboard in the CloudWatch console. */
  readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: SidekiqMigrationProps) {
    super(scope, id);
    this.name = props.name ?? 'sidekiq-migrate';
    if (!NAME.test(this.name)) throw new Error(`name "${this.name}": use 1–40 letters, digits, "-" or "_", starting with a letter or digit`);
    if (!props.connections['source']) throw new Error('connections: a "source" connection is required');
    // The rule start --source/--target and drain-check --connection apply (connection-name.ts): a
    // connection deployed is one the CLI can name, and no two deploy as the same SIDEKIQ_MIGRATE_<NAME>_*.
    for (const name of Object.keys(props.connections)) {
      const problem = connectionNameProblem(name);
      if (problem) throw new Error(`connections: ${problem}`);
    }
    const drainProblem = props.drainCheck?.connection !== undefined ? connectionNameProblem(props.drainCheck.connection) : undefined;
    if (drainProblem) throw new Error(`drainCheck.connection: ${drainProblem}`);

    this.securityGroup = new ec2.SecurityGroup(this, 'FunctionsSecurityGroup', {
      vpc: props.vpc,
      description: 'sidekiq-migrate functions: out only to the Redis ports (and HTTPS to Secrets Manager)',
      allowAllOutbound: false,
    });
    for (const [name, endpoint] of Object.entries(props.connections)) this.allowRedis(name, endpoint);
    if (Object.values(props.connections).some((c) => c.secret)) this.allowSecretsManager(props);

    const drainCheckConnection = props.drainCheck?.connection ?? 'source';
    this.functions = new MigrationFunctions(this, 'Functions', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroup: this.securityGroup,
      connections: props.connections,
      drainCheckConnection,
      // After a move, the check looks at its target too (its id): the function reads that connection as well.
      ...(props.drainCheck?.runId && drainCheckConnection === 'source' && props.connections['target'] ? { drainCheckMoveTarget: 'target' } : {}),
      ...(props.functionCode ? { code: props.functionCode } : {}),
      ...(props.functionTimeout ? { timeout: props.functionTimeout } : {}),
      ...(props.functionMemorySize ? { memorySize: props.functionMemorySize } : {}),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    const fns = this.functions.functions;

    // Under /aws/vendedlogs/: CloudWatch Logs then needs no resource policy per log group (the
    // account's one policy has a 5,120-character limit that busy accounts reach).
    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      logGroupName: `/aws/vendedlogs/states/${this.name}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    const { drainCheck: _drainCheck, executionEnded: _executionEnded, ...workflowFunctions } = fns;
    this.workflow = new MigrationWorkflow(this, 'Workflow', {
      functions: workflowFunctions,
      stateMachineName: this.name,
      ...(props.maxConcurrency !== undefined ? { maxConcurrency: props.maxConcurrency } : {}),
      logs: stateMachineLogs,
    });
    this.stateMachine = this.workflow.stateMachine;
    acknowledgeStateMachineFindings(this.stateMachine, workflowFunctions);

    this.topic = this.notificationTopic(props.notificationEmails ?? []);
    this.schedules = new MigrationSchedules(this, 'Schedules', {
      name: this.name,
      drainCheckFunction: fns.drainCheck,
      stateMachine: this.stateMachine,
      connections: Object.keys(props.connections),
      ...(props.drainCheck ? { drainCheck: props.drainCheck } : {}),
      ...(props.sweep ? { sweep: props.sweep } : {}),
    });
    const drainCheckRate = props.drainCheck?.rate ?? Duration.minutes(5);
    const drainChecksRun = props.drainCheck?.enabled ?? true;
    this.alarms = new MigrationAlarms(this, 'Alarms', {
      name: this.name,
      stateMachine: this.stateMachine,
      functions: fns,
      topic: this.topic,
      ...(drainChecksRun ? { drain: { period: drainCheckRate, connection: drainCheckConnection, ...(props.drainCheck?.persistPeriods ? { persistPeriods: props.drainCheck.persistPeriods } : {}) } } : {}),
      ...(props.functionErrorThreshold !== undefined ? { functionErrorThreshold: props.functionErrorThreshold } : {}),
    });
    this.executionEnded = new ExecutionEndedRule(this, 'ExecutionEnded', {
      name: this.name,
      stateMachine: this.stateMachine,
      function: fns.executionEnded,
      deadLetterQueue: this.functions.executionEndedDeadLetters,
      topic: this.topic,
    });
    this.operatorPolicy = new OperatorPolicy(this, 'Operator', { name: this.name, stateMachine: this.stateMachine, drainCheckFunction: fns.drainCheck }).policy;
    this.dashboard = new MigrationDashboard(this, 'Dashboard', {
      dashboardName: this.name,
      stateMachine: this.stateMachine,
      functions: fns,
      logGroups: this.functions.logGroups,
      alarms: [...this.alarms.all, this.executionEnded.deadLettersAlarm],
      drainCheckPeriod: drainCheckRate,
    });
    this.dashboardUrl = `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.name}`;
  }

  /** Out from the functions to the Redis port only; into the cache's group from the functions only. */
  private allowRedis(name: string, endpoint: RedisEndpoint): void {
    const port = ec2.Port.tcp(endpoint.port);
    const description = `sidekiq-migrate functions to ${name} Redis`;
    if ('securityGroup' in endpoint.peer) this.securityGroup.connections.allowTo(endpoint.peer.securityGroup, port, description);
    else this.securityGroup.addEgressRule(ec2.Peer.ipv4(endpoint.peer.cidr), port, description);
  }

  private allowSecretsManager(props: SidekiqMigrationProps): void {
    const access = props.secretsManagerAccess ?? 'endpoint';
    const https = ec2.Port.tcp(443);
    if (access === 'nat') {
      this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), https, 'HTTPS to Secrets Manager through the NAT');
    } else if (access === 'endpoint') {
      const endpointSecurityGroup = new ec2.SecurityGroup(this, 'SecretsManagerEndpointSecurityGroup', {
        vpc: props.vpc,
        description: 'Secrets Manager endpoint of sidekiq-migrate: HTTPS from the migration functions only',
        allowAllOutbound: false,
      });
      new ec2.InterfaceVpcEndpoint(this, 'SecretsManagerEndpoint', {
        vpc: props.vpc,
        service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        subnets: props.vpcSubnets,
        privateDnsEnabled: true,
        open: false,
        securityGroups: [endpointSecurityGroup],
      });
      this.securityGroup.connections.allowTo(endpointSecurityGroup, https, 'sidekiq-migrate functions to Secrets Manager');
    } else {
      this.securityGroup.connections.allowTo(access.endpointSecurityGroup, https, 'sidekiq-migrate functions to Secrets Manager');
    }
  }

  /** SNS with a customer-managed key that CloudWatch may use (alarms cannot publish to aws/sns-encrypted topics). */
  private notificationTopic(emails: readonly string[]): sns.Topic {
    const key = new kms.Key(this, 'NotificationsKey', {
      description: 'sidekiq-migrate notifications (SNS): usable by CloudWatch alarms',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const topic = new sns.Topic(this, 'Notifications', { displayName: `${this.name} notifications`, masterKey: key, enforceSSL: true });
    // enforceSSL gives the topic a policy holding only a Deny (of plain HTTP). With a topic policy
    // present, an alarm's publish needs an Allow in it: CloudWatch alarms of this account only.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
        },
      }),
    );
    for (const email of emails) topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }
}
