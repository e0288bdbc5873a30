import { readFileSync } from 'node:fs';
import { Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { caCertificatesProblem, TEXT_BEFORE_BEGIN } from '../../core/config/ca-certificates.js';
import { withoutByteOrderMark } from '../../core/config/read-input-file.js';

/**
 * One Redis the Lambdas work on, as the deployment sees it: where it is, how the functions'
 * security group may reach it, and where its credentials are. Never a password: the functions get
 * the secret's ARN and read it from Secrets Manager.
 */
export interface RedisEndpoint {
  /** Host name (a token for a cache this stack creates). */
  readonly host: string;
  readonly port: number;
  /** rediss:// (TLS in transit). */
  readonly tls: boolean;
  readonly db?: number;
  /** An ACL user named in the URL (its password is in the secret). */
  readonly username?: string;
  /** Sidekiq key prefix (redis-namespace), e.g. "resque:gitlab:". */
  readonly prefix?: string;
  /** The AUTH token, or `{"username","password"}` of an ACL user. */
  readonly secret?: secretsmanager.ISecret;
  /** The customer-managed key the secret is encrypted with, if not the AWS-managed one. */
  readonly secretKey?: kms.IKey;
  /** An absolute path to a PEM of the CA(s) to trust for TLS (a private CA); bundled with the functions. */
  readonly tlsCaFile?: string;
  /**
   * How the functions reach it: through its security group (an ElastiCache cache; ingress from
   * the functions' group is added when the group is mutable), or to an address range (a
   * self-managed or Redis Enterprise endpoint reachable from the VPC).
   */
  readonly peer: { readonly securityGroup: ec2.ISecurityGroup } | { readonly cidr: string };
  /** For messages and rule descriptions: "source (ElastiCache valkey)". */
  readonly description: string;
}

export interface ExistingElastiCacheProps {
  /** The replication group's primary endpoint address (never the reader or configuration endpoint). */
  readonly primaryEndpoint: string;
  readonly port?: number;
  readonly securityGroupId: string;
  readonly engine: 'redis' | 'valkey';
  /** Cluster mode: only "disabled" is supported; anything else is refused at synth time. */
  readonly clusterMode?: 'disabled' | 'enabled';
  /** Add an ingress rule from the functions to the cache's group (default true). */
  readonly manageIngress?: boolean;
  readonly tls?: boolean;
  readonly db?: number;
  readonly username?: string;
  readonly prefix?: string;
  /** The secret's complete ARN (with the suffix Secrets Manager adds)… */
  readonly secretArn?: string;
  /** …or its name (in the stack's account and region). */
  readonly secretName?: string;
  readonly secretKeyArn?: string;
  /** A PEM of the CA(s) to trust for TLS (absolute path). */
  readonly tlsCaFile?: string;
}

export interface ExternalRedisProps {
  /** A self-managed or Redis Enterprise endpoint, reachable from the VPC (peering, VPN, PrivateLink). */
  readonly host: string;
  readonly port: number;
  /** The address range the endpoint is in: the functions may reach only this range, only on `port`. */
  readonly cidr: string;
  readonly clusterMode?: 'disabled' | 'enabled';
  readonly tls?: boolean;
  readonly db?: number;
  readonly username?: string;
  readonly prefix?: string;
  /** The secret's complete ARN (with the suffix Secrets Manager adds)… */
  readonly secretArn?: string;
  /** …or its name (in the stack's account and region). */
  readonly secretName?: string;
  readonly secretKeyArn?: string;
  /** A PEM of the CA(s) to trust for TLS (absolute path). */
  readonly tlsCaFile?: string;
}

/** Why a host cannot be migrated from or to, when its name alone says so (ElastiCache's naming); undefined otherwise. */
export function clusterModeProblem(host: string): string | undefined {
  if (Token.isUnresolved(host)) return undefined;
  const name = host.toLowerCase();
  const unsupported = 'sidekiq-migrate supports only a non-clustered primary (Sidekiq does not support Redis Cluster either): use a replication group with cluster mode disabled, and its primary endpoint';
  if (/\.clustercfg\./.test(name)) return `${host} is a cluster-mode configuration endpoint (Redis Cluster); ${unsupported}`;
  if (/\.serverless\./.test(name)) return `${host} is an ElastiCache Serverless endpoint, which is always cluster mode; ${unsupported}`;
  if (/^replica\./.test(name) || /-ro\.[a-z0-9]+\.ng\./.test(name)) return `${host} is a reader endpoint (read-only replicas); migrations write, so give the primary endpoint`;
  return undefined;
}

/** Throws the cluster-mode problem of an endpoint, if its configuration shows one. */
export function refuseClusterMode(what: string, host: string, clusterMode: string | undefined): void {
  if (clusterMode !== undefined && clusterMode !== 'disabled') {
    throw new Error(`${what}: cluster mode "${clusterMode}" is not supported: sidekiq-migrate supports only a non-clustered primary (Sidekiq does not support Redis Cluster either)`);
  }
  const problem = clusterModeProblem(host);
  if (problem) throw new Error(`${what}: ${problem}`);
}

/**
 * The secret, as the configuration names it: a complete ARN, or a name (whose grant then matches
 * the suffix Secrets Manager adds, `NAME-??????`). Never guessed from the ARN's text: a name may
 * end in "-" and 6 letters too.
 */
function importSecret(scope: Construct, id: string, props: { secretArn?: string; secretName?: string }): secretsmanager.ISecret | undefined {
  if (props.secretArn !== undefined && props.secretName !== undefined) throw new Error(`${id}: give the secret by secretArn or by secretName, not both`);
  if (props.secretArn !== undefined) return secretsmanager.Secret.fromSecretCompleteArn(scope, `${id}Secret`, props.secretArn);
  if (props.secretName !== undefined) return secretsmanager.Secret.fromSecretNameV2(scope, `${id}Secret`, props.secretName);
  return undefined;
}

/** A readable PEM of at least one certificate, or a synth-time error naming the file. */
function checkCaFile(id: string, file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let pem: string;
  try {
    // As the functions read it (functions/support/lambda-connections.ts) and the CLI reads --tls-ca.
    pem = withoutByteOrderMark(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${id}: the TLS CA file ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  // As the CLI's --tls-ca (cli/workflow/connect-options.ts): the functions' TLS is Node's too.
  const problem = caCertificatesProblem(pem);
  if (problem && 'none' in problem) throw new Error(`${id}: the TLS CA file ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  if (problem && 'textBefore' in problem) throw new Error(`${id}: the TLS CA file ${file}: certificate ${problem.textBefore} of the file ${TEXT_BEFORE_BEGIN}`);
  if (problem) throw new Error(`${id}: the TLS CA file ${file}: certificate ${problem.unreadable} of the file is not readable`);
  return file;
}

function importKey(scope: Construct, id: string, arn: string | undefined): kms.IKey | undefined {
  return arn === undefined ? undefined : kms.Key.fromKeyArn(scope, `${id}SecretKey`, arn);
}

/**
 * An existing ElastiCache replication group (Redis OSS or Valkey, cluster mode disabled). Refuses,
 * with the reason, a configuration or serverless endpoint, a reader endpoint, or cluster mode.
 */
export function existingElastiCache(scope: Construct, id: string, props: ExistingElastiCacheProps): RedisEndpoint {
  refuseClusterMode(id, props.primaryEndpoint, props.clusterMode);
  const securityGroup = ec2.SecurityGroup.fromSecurityGroupId(scope, `${id}CacheSecurityGroup`, props.securityGroupId, { mutable: props.manageIngress ?? true });
  const secret = importSecret(scope, id, props);
  const secretKey = importKey(scope, id, props.secretKeyArn);
  const tlsCaFile = checkCaFile(id, props.tlsCaFile);
  return {
    host: props.primaryEndpoint,
    port: props.port ?? 6379,
    tls: props.tls ?? true,
    ...(props.db !== undefined ? { db: props.db } : {}),
    ...(props.username !== undefined ? { username: props.username } : {}),
    ...(props.prefix !== undefined ? { prefix: props.prefix } : {}),
    ...(secret ? { secret } : {}),
    ...(secretKey ? { secretKey } : {}),
    ...(tlsCaFile ? { tlsCaFile } : {}),
    peer: { securityGroup },
    description: `${id} (ElastiCache ${props.engine})`,
  };
}

/** A self-managed or Redis Enterprise endpoint reachable from the VPC. */
export function externalRedis(scope: Construct, id: string, props: ExternalRedisProps): RedisEndpoint {
  refuseClusterMode(id, props.host, props.clusterMode);
  const secret = importSecret(scope, id, props);
  const secretKey = importKey(scope, id, props.secretKeyArn);
  const tlsCaFile = checkCaFile(id, props.tlsCaFile);
  return {
    host: props.host,
    port: props.port,
    tls: props.tls ?? true,
    ...(props.db !== undefined ? { db: props.db } : {}),
    ...(props.username !== undefined ? { username: props.username } : {}),
    ...(props.prefix !== undefined ? { prefix: props.prefix } : {}),
    ...(secret ? { secret } : {}),
    ...(secretKey ? { secretKey } : {}),
    ...(tlsCaFile ? { tlsCaFile } : {}),
    peer: { cidr: props.cidr },
    description: `${id} (${props.host})`,
  };
}

/** The URL the functions get: scheme, user, host, port and db; never a password. */
export function redisUrlOf(endpoint: RedisEndpoint): string {
  const user = endpoint.username !== undefined ? `${encodeURIComponent(endpoint.username)}@` : '';
  const db = endpoint.db ? `/${endpoint.db}` : '';
  return `${endpoint.tls ? 'rediss' : 'redis'}://${user}${endpoint.host}:${endpoint.port}${db}`;
}
