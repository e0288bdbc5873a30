import { resolve } from 'node:path';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { z } from 'zod';
import { ConfigError } from '../../core/config/config-error.js';
import { readStructuredFile } from '../../core/config/read-structured-file.js';
import { validateConfig } from '../../core/config/validate-config.js';
import { BATCH_SIZE } from '../../core/workflow/work-list.js';
import { MAX_CONCURRENCY_PROBLEM } from '../constructs/migration-workflow.js';
import { clusterModeProblem } from '../constructs/redis-endpoint.js';

/** cdk.json context key holding the configuration itself. */
export const CONFIG_CONTEXT_KEY = 'sidekiqMigrate';
/** Context key naming a JSON or YAML configuration file instead (`-c sidekiqMigrate:configFile=deploy/prod.yaml`). */
export const CONFIG_FILE_CONTEXT_KEY = 'sidekiqMigrate:configFile';
/** Context flag: inline stand-in code instead of bundling the handlers (a quick synth; never deploy it). */
export const STAND_IN_CONTEXT_KEY = 'sidekiqMigrate:standInCode';

// A complete ARN: Secrets Manager adds "-" and 6 characters to the name. Whether a given ARN is
// complete cannot be told from its text alone (a name may end like that), so the configuration
// says which it is: secretArn (complete) or secretName.
const secretArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/,
    "must be a Secrets Manager secret's complete ARN, with the 6 characters Secrets Manager adds (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf); for a secret known by its name, give secretName",
  );
const secretName = z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name (letters, digits and /_+=.@-), without the ARN');
const pemFile = z.string().regex(/\.(pem|crt)$/, 'must name a PEM file (.pem or .crt)');
const kmsKeyArn = z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)');
const port = z.number().int().min(1).max(65535);
const host = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/, 'must be a host name or an IPv4 address');
const securityGroupId = z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'must be a security group id (sg-…)');
const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, 'must be an IPv4 CIDR block (10.0.0.0/16)');
const clusterMode = z.enum(['disabled', 'enabled']).optional();

const connectionSchema = z
  .strictObject({
    /** An existing ElastiCache replication group (Redis OSS or Valkey, cluster mode disabled). */
    elastiCache: z
      .strictObject({ primaryEndpoint: host, port: port.optional(), securityGroupId, engine: z.enum(['redis', 'valkey']), clusterMode, manageIngress: z.boolean().optional() })
      .optional(),
    /** A self-managed or Redis Enterprise endpoint reachable from the VPC. */
    external: z.strictObject({ host, port, cidr, clusterMode }).optional(),
    /** A trial ElastiCache replication group created by the stack. */
    create: z
      .strictObject({
        engine: z.enum(['valkey', 'redis']).optional(),
        engineVersion: z.string().regex(/^\d+\.\d+$/, 'must be a major.minor version, e.g. 8.0').optional(),
        nodeType: z.string().regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a cache node type, e.g. cache.t4g.micro').optional(),
        replicas: z.number().int().min(0).max(5).optional(),
        multiAz: z.boolean().optional(),
        port: port.optional(),
      })
      .optional(),
    /** TLS in transit (default true). */
    tls: z.boolean().optional(),
    db: z.number().int().min(0).max(255).optional(),
    /** An ACL user (its password is in the secret). */
    username: z.string().min(1).optional(),
    /** Sidekiq key prefix (redis-namespace), e.g. "resque:gitlab:". */
    prefix: z.string().optional(),
    /** The AUTH token, or {"username","password"} of an ACL user: the secret's complete ARN… */
    secretArn: secretArn.optional(),
    /** …or its name, in the stack's account and region. */
    secretName: secretName.optional(),
    /**
     * The CA certificate(s) to trust for TLS, as a PEM file (relative to the working directory of
     * `cdk synth`): a private CA such as Redis Enterprise's self-signed one. Bundled with each
     * function that uses the connection. Public CAs (ElastiCache) need none.
     */
    tlsCaFile: pemFile.optional(),
    secretKmsKeyArn: kmsKeyArn.optional(),
  })
  .superRefine((c, ctx) => {
    const kinds = (['elastiCache', 'external', 'create'] as const).filter((k) => c[k] !== undefined);
    if (kinds.length !== 1) {
      const given = kinds.length > 0 ? `, not ${kinds.join(' and ')}` : '';
      ctx.addIssue({ code: 'custom', message: `give exactly one of elastiCache (an existing replication group), external (a self-managed or Redis Enterprise endpoint) or create (a trial cache)${given}` });
    }
    if (c.create && (c.secretArn !== undefined || c.secretName !== undefined || c.secretKmsKeyArn !== undefined || c.username !== undefined || c.tls === false || c.tlsCaFile !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'a created cache always uses TLS (with a public CA) and an AUTH token generated into Secrets Manager: leave out secretArn, secretName, secretKmsKeyArn, username, tls and tlsCaFile',
      });
    }
    if (c.secretArn !== undefined && c.secretName !== undefined) ctx.addIssue({ code: 'custom', path: ['secretName'], message: 'give the secret by secretArn (its complete ARN) or by secretName, not both' });
    if (c.tlsCaFile !== undefined && c.tls === false) ctx.addIssue({ code: 'custom', path: ['tlsCaFile'], message: 'a CA file is for TLS: not with tls false' });
    if (c.create?.multiAz && !c.create.replicas) ctx.addIssue({ code: 'custom', path: ['create', 'multiAz'], message: 'Multi-AZ needs at least one replica (create.replicas ≥ 1)' });
    const refuse = (path: string[], mode: string | undefined, hostName: string) => {
      if (mode === 'enabled') {
        ctx.addIssue({ code: 'custom', path: [...path, 'clusterMode'], message: 'cluster mode is not supported: sidekiq-migrate supports only a non-clustered primary (Sidekiq does not support Redis Cluster either)' });
      }
      const problem = clusterModeProblem(hostName);
      if (problem) ctx.addIssue({ code: 'custom', path: [...path, path[0] === 'external' ? 'host' : 'primaryEndpoint'], message: problem });
    };
    if (c.elastiCache) refuse(['elastiCache'], c.elastiCache.clusterMode, c.elastiCache.primaryEndpoint);
    if (c.external) refuse(['external'], c.external.clusterMode, c.external.host);
  });

const subnetId = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id (subnet-…)');
const vpcSchema = z
  .strictObject({
    /** A new VPC with isolated private subnets and no NAT (trials). */
    create: z.strictObject({ cidr: cidr.optional(), maxAzs: z.number().int().min(2).max(3).optional() }).optional(),
    /** An existing VPC: its id, the AZs and the private subnets (one or more per AZ, AZ order) the functions run in. */
    vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id (vpc-…)').optional(),
    availabilityZones: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, 'must be an availability zone, e.g. eu-west-1a')).min(1).optional(),
    privateSubnetIds: z.array(subnetId).min(1).optional(),
  })
  .superRefine((v, ctx) => {
    const existing = v.vpcId !== undefined || v.availabilityZones !== undefined || v.privateSubnetIds !== undefined;
    if ((v.create !== undefined) === existing) {
      ctx.addIssue({ code: 'custom', message: 'give either create (a new VPC) or vpcId, availabilityZones and privateSubnetIds (an existing one)' });
      return;
    }
    if (existing && (!v.vpcId || !v.availabilityZones || !v.privateSubnetIds)) {
      ctx.addIssue({ code: 'custom', message: 'an existing VPC needs vpcId, availabilityZones and privateSubnetIds' });
    } else if (existing && v.privateSubnetIds!.length % v.availabilityZones!.length !== 0) {
      ctx.addIssue({ code: 'custom', path: ['privateSubnetIds'], message: `give the same number of subnets in each availability zone (${v.privateSubnetIds!.length} subnets for ${v.availabilityZones!.length} zones)` });
    }
  });

const RETENTION_DAYS = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number');

export const deploymentConfigSchema = z
  .strictObject({
    stackName: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a CloudFormation stack name').optional(),
    /** Names the state machine, dashboard, alarms and schedules (default "sidekiq-migrate"). */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'use 1–40 letters, digits, "-" or "_"').optional(),
    /** Account and region; leave out for an environment-agnostic stack. */
    env: z.strictObject({ account: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id'), region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region, e.g. eu-west-1') }).optional(),
    vpc: vpcSchema,
    secretsManagerAccess: z.union([z.enum(['endpoint', 'nat']), z.strictObject({ endpointSecurityGroupId: securityGroupId })]).optional(),
    source: connectionSchema,
    target: connectionSchema.optional(),
    functions: z
      .strictObject({
        timeoutSeconds: z.number().int().min(30).max(900).optional(),
        memoryMb: z.number().int().min(128).max(10240).optional(),
        logRetentionDays: z
          .number()
          .refine((d) => RETENTION_DAYS.includes(d), `must be one of CloudWatch Logs' retention periods: ${RETENTION_DAYS.join(', ')}`)
          .optional(),
      })
      .optional(),
    /** Sets and queues migrated at once: the Map runs over one batch (BATCH_SIZE items) at a time, so more would never run. */
    maxConcurrency: z.number().int().min(1).max(BATCH_SIZE, MAX_CONCURRENCY_PROBLEM).optional(),
    drainCheck: z
      .strictObject({
        enabled: z.boolean().optional(),
        rateMinutes: z.number().int().min(1).max(60).optional(),
        connection: z.enum(['source', 'target']).optional(),
        retiredQueues: z.array(z.string().min(1)).optional(),
        /** Checks in a row with orphans (or stuck) before the alarm notifies (default 3). */
        persistPeriods: z.number().int().min(1).max(24).optional(),
        /** The move (transfer) the source's checks follow: each also looks at whether the target still carries what it moved (its target id). */
        runId: z.string().regex(/^[A-Za-z0-9_.-]{1,80}$/, 'use 1–80 letters, digits, "_", "." or "-"').optional(),
      })
      .optional(),
    /** Start a migration execution on a rate, to sweep leftovers; `input` is the execution input without runId. */
    sweep: z.strictObject({ enabled: z.boolean().optional(), rateMinutes: z.number().int().min(5).max(1440), input: z.record(z.string(), z.unknown()) }).optional(),
    notifications: z.strictObject({ emails: z.array(z.email()) }).optional(),
    alarms: z.strictObject({ functionErrorThreshold: z.number().int().min(1).optional() }).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.drainCheck?.connection === 'target' && !c.target) ctx.addIssue({ code: 'custom', path: ['drainCheck', 'connection'], message: 'there is no target connection to check' });
    if (c.drainCheck?.runId !== undefined && !c.target) ctx.addIssue({ code: 'custom', path: ['drainCheck', 'runId'], message: "there is no target connection: a move's target is looked at through it" });
    if (c.drainCheck?.runId !== undefined && c.drainCheck.connection === 'target') ctx.addIssue({ code: 'custom', path: ['drainCheck', 'runId'], message: 'a move is followed by checks of its source: leave connection out (or "source")' });
    if ((c.drainCheck?.rateMinutes ?? 5) * (c.drainCheck?.persistPeriods ?? 3) > 1440) {
      ctx.addIssue({ code: 'custom', path: ['drainCheck'], message: 'rateMinutes × persistPeriods may be at most 1440 (a CloudWatch alarm evaluates at most one day)' });
    }
  });

export type DeploymentConfig = z.output<typeof deploymentConfigSchema>;
export type ConnectionConfig = z.output<typeof connectionSchema>;

/** Validates a configuration, every problem reported together, each with its path. */
export function parseDeploymentConfig(raw: unknown, origin?: string): DeploymentConfig {
  try {
    return validateConfig(deploymentConfigSchema, raw, (path) => path.map(String).join('.'));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new Error(`Invalid sidekiq-migrate deployment configuration${origin ? ` (${origin})` : ''}:\n  - ${error.problems.join('\n  - ')}`, { cause: error });
  }
}

/**
 * The configuration from the app's context: the file named by `sidekiqMigrate:configFile`
 * (JSON or YAML, relative to the working directory), or else the `sidekiqMigrate` object (in
 * cdk.json, or a JSON string given with -c).
 */
export function readDeploymentConfig(node: Node, cwd = process.cwd()): DeploymentConfig {
  const file = node.tryGetContext(CONFIG_FILE_CONTEXT_KEY) as unknown;
  if (typeof file === 'string' && file !== '') return parseDeploymentConfig(readStructuredFile(resolve(cwd, file), 'deployment configuration file'), file);
  let raw = node.tryGetContext(CONFIG_CONTEXT_KEY) as unknown;
  if (raw === undefined) {
    throw new Error(`No sidekiq-migrate deployment configuration: set the "${CONFIG_CONTEXT_KEY}" context (cdk.json), or name a file with -c ${CONFIG_FILE_CONTEXT_KEY}=path/to/config.json`);
  }
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      throw new Error(`The "${CONFIG_CONTEXT_KEY}" context is a string but not JSON`);
    }
  }
  return parseDeploymentConfig(raw, `context "${CONFIG_CONTEXT_KEY}"`);
}

/** The stand-in-code flag: true or "true". */
export function standInCodeRequested(node: Node): boolean {
  const flag = node.tryGetContext(STAND_IN_CONTEXT_KEY) as unknown;
  return flag === true || flag === 'true';
}
