import { resolve } from 'node:path';
import { CfnOutput, Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { FunctionCode } from '../constructs/migration-functions.js';
import { existingElastiCache, externalRedis, type RedisEndpoint } from '../constructs/redis-endpoint.js';
import { SidekiqMigration, type SecretsManagerAccess } from '../constructs/sidekiq-migration.js';
import { TrialRedis } from '../constructs/trial-redis.js';
import type { ConnectionConfig, DeploymentConfig } from './deployment-config.js';

export interface SidekiqMigrateStackProps extends StackProps {
  /** A parsed configuration (deployment-config.ts). */
  readonly config: DeploymentConfig;
  /** Default "bundled"; "stand-in" for unit tests and quick synths. */
  readonly functionCode?: FunctionCode;
}

/**
 * The deployment of a Sidekiq migration, from a configuration: the VPC (new, or existing), the
 * source and optional target Redis (existing ElastiCache, an external endpoint, or a trial cache
 * created here), and the SidekiqMigration construct. Outputs the state machine ARN, the dashboard
 * URL and the notification topic ARN.
 */
export class SidekiqMigrateStack extends Stack {
  readonly migration: SidekiqMigration;
  readonly vpc: ec2.IVpc;
  readonly trialCaches: Record<string, TrialRedis> = {};

  constructor(scope: Construct, id: string, props: SidekiqMigrateStackProps) {
    const { config, functionCode, ...stackProps } = props;
    const env = stackProps.env ?? config.env;
    super(scope, id, {
      description: 'sidekiq-migrate: moves Sidekiq jobs inside Redis or between two Redis servers (Step Functions + Lambda), with drain checks and monitoring',
      ...stackProps,
      ...(env ? { env } : {}),
    });
    const { vpc, vpcSubnets } = this.network(config.vpc);
    this.vpc = vpc;

    const connections: Record<string, RedisEndpoint> = { source: this.endpoint('source', config.source, vpcSubnets) };
    if (config.target) connections['target'] = this.endpoint('target', config.target, vpcSubnets);

    const sm = config.secretsManagerAccess;
    const secretsManagerAccess: SecretsManagerAccess | undefined =
      sm === undefined || typeof sm === 'string' ? sm : { endpointSecurityGroup: ec2.SecurityGroup.fromSecurityGroupId(this, 'SecretsManagerEndpointSecurityGroup', sm.endpointSecurityGroupId) };
    const drain = config.drainCheck;
    this.migration = new SidekiqMigration(this, 'Migration', {
      ...(config.name ? { name: config.name } : {}),
      vpc,
      vpcSubnets,
      connections,
      ...(secretsManagerAccess ? { secretsManagerAccess } : {}),
      ...(functionCode ? { functionCode } : {}),
      ...(config.functions?.timeoutSeconds ? { functionTimeout: Duration.seconds(config.functions.timeoutSeconds) } : {}),
      ...(config.functions?.memoryMb ? { functionMemorySize: config.functions.memoryMb } : {}),
      ...(config.functions?.logRetentionDays ? { logRetention: config.functions.logRetentionDays as logs.RetentionDays } : {}),
      ...(config.maxConcurrency ? { maxConcurrency: config.maxConcurrency } : {}),
      drainCheck: {
        ...(drain?.enabled !== undefined ? { enabled: drain.enabled } : {}),
        ...(drain?.rateMinutes ? { rate: Duration.minutes(drain.rateMinutes) } : {}),
        ...(drain?.connection ? { connection: drain.connection } : {}),
        ...(drain?.retiredQueues ? { retiredQueues: drain.retiredQueues } : {}),
        ...(drain?.persistPeriods ? { persistPeriods: drain.persistPeriods } : {}),
        ...(drain?.runId ? { runId: drain.runId } : {}),
      },
      ...(config.sweep
        ? { sweep: { rate: Duration.minutes(config.sweep.rateMinutes), input: config.sweep.input, ...(config.sweep.enabled !== undefined ? { enabled: config.sweep.enabled } : {}) } }
        : {}),
      notificationEmails: config.notifications?.emails ?? [],
      ...(config.alarms?.functionErrorThreshold ? { functionErrorThreshold: config.alarms.functionErrorThreshold } : {}),
    });

    new CfnOutput(this, 'StateMachineArn', { value: this.migration.stateMachine.stateMachineArn, description: 'The migration state machine: start executions here (sidekiq-migrate run/move input)' });
    new CfnOutput(this, 'DrainCheckFunctionName', { value: this.migration.functions.functions.drainCheck.functionName, description: 'The drain check: run it on demand with sidekiq-migrate drain-check --deployed' });
    new CfnOutput(this, 'OperatorPolicyArn', { value: this.migration.operatorPolicy.managedPolicyArn, description: "Attach to the operators' role: start, watch, list and stop migrations, drain-check --deployed" });
    new CfnOutput(this, 'DashboardUrl', { value: this.migration.dashboardUrl, description: 'The CloudWatch dashboard of the migration' });
    new CfnOutput(this, 'NotificationTopicArn', { value: this.migration.topic.topicArn, description: 'Alarms and drain notifications: subscribe here' });
    for (const [name, cache] of Object.entries(this.trialCaches)) {
      new CfnOutput(this, `${capitalize(name)}TrialCacheEndpoint`, { value: cache.replicationGroup.attrPrimaryEndPointAddress, description: `Primary endpoint of the trial ${name} cache (TLS, port ${cache.endpoint.port})` });
      new CfnOutput(this, `${capitalize(name)}TrialCacheAuthTokenArn`, { value: cache.authToken.secretArn, description: `Secret holding the AUTH token of the trial ${name} cache` });
    }
  }

  private network(config: DeploymentConfig['vpc']): { vpc: ec2.IVpc; vpcSubnets: ec2.SubnetSelection } {
    if (config.create) {
      const flowLogs = new logs.LogGroup(this, 'VpcFlowLogs', { retention: logs.RetentionDays.ONE_MONTH });
      const vpc = new ec2.Vpc(this, 'Vpc', {
        ipAddresses: ec2.IpAddresses.cidr(config.create.cidr ?? '10.42.0.0/16'),
        maxAzs: config.create.maxAzs ?? 2,
        // Isolated: the functions reach only the caches and the Secrets Manager endpoint; no NAT to pay for.
        natGateways: 0,
        subnetConfiguration: [{ name: 'migration', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
        flowLogs: { rejected: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.REJECT } },
      });
      return { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } };
    }
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: config.vpcId!, availabilityZones: config.availabilityZones!, privateSubnetIds: config.privateSubnetIds! });
    for (const subnet of vpc.privateSubnets) {
      Validations.of(subnet).acknowledge({
        id: '@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason: 'Nothing here reads the subnets’ route tables: the functions and the interface endpoint need only the subnet ids.',
      });
    }
    return { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } };
  }

  private endpoint(name: 'source' | 'target', c: ConnectionConfig, vpcSubnets: ec2.SubnetSelection): RedisEndpoint {
    const common = {
      ...(c.tls !== undefined ? { tls: c.tls } : {}),
      ...(c.db !== undefined ? { db: c.db } : {}),
      ...(c.username !== undefined ? { username: c.username } : {}),
      ...(c.prefix !== undefined ? { prefix: c.prefix } : {}),
      ...(c.secretArn !== undefined ? { secretArn: c.secretArn } : {}),
      ...(c.secretName !== undefined ? { secretName: c.secretName } : {}),
      ...(c.tlsCaFile !== undefined ? { tlsCaFile: resolve(c.tlsCaFile) } : {}),
      ...(c.secretKmsKeyArn !== undefined ? { secretKeyArn: c.secretKmsKeyArn } : {}),
    };
    if (c.elastiCache) {
      const e = c.elastiCache;
      return existingElastiCache(this, name, {
        primaryEndpoint: e.primaryEndpoint,
        securityGroupId: e.securityGroupId,
        engine: e.engine,
        ...(e.port !== undefined ? { port: e.port } : {}),
        ...(e.clusterMode !== undefined ? { clusterMode: e.clusterMode } : {}),
        ...(e.manageIngress !== undefined ? { manageIngress: e.manageIngress } : {}),
        ...common,
      });
    }
    if (c.external) {
      return externalRedis(this, name, { host: c.external.host, port: c.external.port, cidr: c.external.cidr, ...(c.external.clusterMode ? { clusterMode: c.external.clusterMode } : {}), ...common });
    }
    const t = c.create!;
    const cache = new TrialRedis(this, `${capitalize(name)}TrialCache`, {
      vpc: this.vpc,
      vpcSubnets,
      name,
      ...(t.engine ? { engine: t.engine } : {}),
      ...(t.engineVersion ? { engineVersion: t.engineVersion } : {}),
      ...(t.nodeType ? { nodeType: t.nodeType } : {}),
      ...(t.replicas !== undefined ? { replicas: t.replicas } : {}),
      ...(t.multiAz !== undefined ? { multiAz: t.multiAz } : {}),
      ...(t.port !== undefined ? { port: t.port } : {}),
      ...(c.prefix !== undefined ? { prefix: c.prefix } : {}),
    });
    this.trialCaches[name] = cache;
    return cache.endpoint;
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
