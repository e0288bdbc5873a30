import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { RedisEndpoint } from './redis-endpoint.js';

export interface TrialRedisProps {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  /** Default "valkey". */
  readonly engine?: 'valkey' | 'redis';
  /** Default 8.0 for Valkey, 7.1 for Redis OSS. */
  readonly engineVersion?: string;
  /** Default cache.t4g.micro. */
  readonly nodeType?: string;
  /** Read replicas besides the primary (default 0: one node, no failover). */
  readonly replicas?: number;
  /** Multi-AZ with automatic failover (needs at least one replica; default false). */
  readonly multiAz?: boolean;
  readonly port?: number;
  /** Sidekiq key prefix the migrated application uses. */
  readonly prefix?: string;
  /** Connection name, for descriptions ("source"). */
  readonly name: string;
}

/**
 * A small ElastiCache replication group for trials: cluster mode disabled, TLS in transit
 * required, encrypted at rest, an AUTH token generated into Secrets Manager, in the given
 * subnets, behind a security group that admits only what the migration functions are allowed.
 * Destroying the stack (or replacing the group) keeps a final snapshot of its data.
 */
export class TrialRedis extends Construct {
  readonly endpoint: RedisEndpoint;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  readonly securityGroup: ec2.SecurityGroup;
  readonly authToken: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: TrialRedisProps) {
    super(scope, id);
    const engine = props.engine ?? 'valkey';
    const port = props.port ?? 6379;
    const replicas = props.replicas ?? 0;
    if (props.multiAz && replicas < 1) throw new Error(`${id}: multiAz needs at least one replica`);

    // ElastiCache AUTH tokens: 16–128 printable characters without @, " or /; letters and digits only here.
    this.authToken = new secretsmanager.Secret(this, 'AuthToken', {
      description: `AUTH token of the trial ${engine} cache (${props.name}) of sidekiq-migrate`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(this.authToken).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'An ElastiCache AUTH token cannot be rotated by a Secrets Manager rotation function alone (it takes a ModifyReplicationGroup ROTATE then SET); this cache is for trials. Rotate by hand if kept.',
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Trial ${engine} cache (${props.name}) of sidekiq-migrate: ingress only from the migration functions`,
      allowAllOutbound: false,
    });
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: `Subnets of the trial ${engine} cache (${props.name}) of sidekiq-migrate`,
      subnetIds: props.vpc.selectSubnets(props.vpcSubnets).subnetIds,
    });

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: `sidekiq-migrate trial ${props.name}`,
      engine,
      engineVersion: props.engineVersion ?? (engine === 'valkey' ? '8.0' : '7.1'),
      cacheNodeType: props.nodeType ?? 'cache.t4g.micro',
      clusterMode: 'disabled',
      numCacheClusters: 1 + replicas,
      automaticFailoverEnabled: replicas > 0,
      multiAzEnabled: props.multiAz ?? false,
      port,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      authToken: this.authToken.secretValue.unsafeUnwrap(),
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      snapshotRetentionLimit: 1,
    });
    // A final snapshot, never a plain delete: a created target is where a move leaves every job,
    // and `cdk destroy` (the runbook's decommission step), or a change that replaces the group (its
    // port, its engine), would otherwise delete the Redis with them (CloudFormation's default).
    this.replicationGroup.applyRemovalPolicy(RemovalPolicy.SNAPSHOT);
    if (!props.multiAz) {
      Validations.of(this.replicationGroup).acknowledge({
        id: 'AwsSolutions-AEC4',
        reason: 'A trial cache: one node keeps it cheap. Set create.replicas ≥ 1 and create.multiAz true for a production-like cache.',
      });
    }
    if (port === 6379) {
      Validations.of(this.replicationGroup).acknowledge({
        id: 'AwsSolutions-AEC5',
        reason: 'Sidekiq and its tooling expect 6379; a non-default port hides nothing (the security group admits only the migration functions, and TLS plus an AUTH token are required). Set create.port to change it.',
      });
    }

    this.endpoint = {
      host: this.replicationGroup.attrPrimaryEndPointAddress,
      port,
      tls: true,
      ...(props.prefix !== undefined ? { prefix: props.prefix } : {}),
      secret: this.authToken,
      peer: { securityGroup: this.securityGroup },
      description: `${props.name} (trial ElastiCache ${engine})`,
    };
  }
}
