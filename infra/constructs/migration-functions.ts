import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { envVariable } from '../../functions/support/connection-env.js';
import { DRAIN_CHECK_FUNCTION_TIMEOUT_SECONDS, WORKFLOW_FUNCTION_TIMEOUT_SECONDS } from './function-timeouts.js';
import { redisUrlOf, type RedisEndpoint } from './redis-endpoint.js';
import type { WorkflowFunctionName } from './state-names.js';

/** The repository root: entries, package-lock.json and core/redis/lua are found from here. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Each function's handler file in functions/. */
export const FUNCTION_ENTRIES = {
  plan: 'plan.ts',
  rerouteSetPage: 'reroute-set-page.ts',
  rerouteQueueSlice: 'reroute-queue-slice.ts',
  transferSet: 'transfer-set.ts',
  transferQueue: 'transfer-queue.ts',
  summarize: 'summarize.ts',
  releaseLock: 'release-lock.ts',
  drainCheck: 'drain-check.ts',
  executionEnded: 'execution-ended.ts',
} as const satisfies Record<WorkflowFunctionName | 'drainCheck' | 'executionEnded', string>;

export type MigrationFunctionName = keyof typeof FUNCTION_ENTRIES;

/** A workflow function's timeout unless the deployment sets one (a page task stops 45 s before it). */
export const DEFAULT_WORKFLOW_FUNCTION_TIMEOUT = Duration.seconds(WORKFLOW_FUNCTION_TIMEOUT_SECONDS);

/**
 * `bundled`: NodejsFunction, bundled locally by esbuild (no Docker). `stand-in`: inline code that
 * throws, with every other setting identical: for unit tests and quick synths that do not deploy.
 */
export type FunctionCode = 'bundled' | 'stand-in';

export interface MigrationFunctionsProps {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  /** Connection name ("source", "target") → the Redis it names. */
  readonly connections: Readonly<Record<string, RedisEndpoint>>;
  /** The one connection the drain-check function may read. */
  readonly drainCheckConnection: string;
  /** The target connection the drain-check function may read too: after a move (drainCheck.runId), it looks at the move's target. */
  readonly drainCheckMoveTarget?: string;
  readonly code?: FunctionCode;
  /** Workflow functions (default 5 minutes: a page task stops 45 s before it). */
  readonly timeout?: Duration;
  /** Workflow functions (default 1024 MB). */
  readonly memorySize?: number;
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Bundled output: ESM for Node 22; CommonJS dependencies get a `require` (the banner). `caFiles`:
 * bundle path (`tls/source-ca.pem`) → the PEM to copy there, for the function's private CAs.
 */
const bundling = (caFiles: Readonly<Record<string, string>>) => ({
  format: OutputFormat.ESM,
  target: 'node22',
  banner: "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
  // The Node 22 runtime provides the AWS SDK v3.
  externalModules: ['@aws-sdk/*'],
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  forceDockerBundling: false,
  commandHooks: {
    beforeBundling: (): string[] => [],
    beforeInstall: (): string[] => [],
    // core/redis/lua-script.ts reads ./lua/NAME.lua beside the module: beside index.mjs once bundled.
    afterBundling: (inputDir: string, outputDir: string): string[] => [
      `cp -r "${join(inputDir, 'core', 'redis', 'lua')}" "${join(outputDir, 'lua')}"`,
      ...Object.entries(caFiles).map(([to, from]) => `mkdir -p "${dirname(join(outputDir, to))}" && cp "${from}" "${join(outputDir, to)}"`),
    ],
  },
});

const STAND_IN = 'exports.handler = async () => { throw new Error("stand-in code: synthesized without bundling (functionCode stand-in)"); };';

/**
 * The migration's Lambda functions, one per handler in functions/: Node 22 on arm64, in the given
 * private subnets and security group, X-Ray tracing, a log group each. Each has a role of its own
 * with only what it uses: its log group, the VPC network interfaces, X-Ray, and reading the
 * secrets of its connections. The environment names each connection's URL (never a password),
 * key prefix and secret ARN.
 */
export class MigrationFunctions extends Construct {
  readonly functions: Record<MigrationFunctionName, lambda.Function>;
  readonly logGroups: Record<MigrationFunctionName, logs.LogGroup>;
  /**
   * Events the execution-ended function could not handle after its retries (it is invoked
   * asynchronously, by EventBridge): a stopped run's lock may stay held until its TTL, so they are
   * kept here (14 days) for an operator, and alarmed on (ExecutionEndedRule).
   */
  readonly executionEndedDeadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: MigrationFunctionsProps) {
    super(scope, id);
    const drainCheckEndpoint = props.connections[props.drainCheckConnection];
    if (!drainCheckEndpoint) throw new Error(`drain check: no connection named "${props.drainCheckConnection}" (configured: ${Object.keys(props.connections).join(', ')})`);

    this.executionEndedDeadLetters = new sqs.Queue(this, 'executionEndedDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.functions = {} as Record<MigrationFunctionName, lambda.Function>;
    this.logGroups = {} as Record<MigrationFunctionName, logs.LogGroup>;
    for (const name of Object.keys(FUNCTION_ENTRIES) as MigrationFunctionName[]) {
      const drainCheck = name === 'drainCheck';
      const executionEnded = name === 'executionEnded';
      const moveTarget = props.drainCheckMoveTarget;
      const connections = drainCheck
        ? { [props.drainCheckConnection]: drainCheckEndpoint, ...(moveTarget && props.connections[moveTarget] ? { [moveTarget]: props.connections[moveTarget] } : {}) }
        : props.connections;
      const logGroup = new logs.LogGroup(this, `${name}Logs`, { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
      const role = this.roleFor(name, logGroup, connections);
      const common: Omit<lambda.FunctionProps, 'code' | 'handler'> = {
        description: `sidekiq-migrate ${FUNCTION_ENTRIES[name].replace(/\.ts$/, '')}`,
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: drainCheck || executionEnded ? 512 : (props.memorySize ?? 1024),
        timeout: drainCheck ? Duration.seconds(DRAIN_CHECK_FUNCTION_TIMEOUT_SECONDS) : executionEnded ? Duration.minutes(1) : (props.timeout ?? DEFAULT_WORKFLOW_FUNCTION_TIMEOUT),
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets,
        securityGroups: [props.securityGroup],
        role,
        logGroup,
        tracing: lambda.Tracing.ACTIVE,
        environment: { ...connectionEnvironment(connections), ...(props.code === 'stand-in' ? {} : { NODE_OPTIONS: '--enable-source-maps' }) },
        // Invoked asynchronously (EventBridge): Lambda retries a failure (Redis unreachable) twice,
        // within the hour, then keeps the event in the dead-letter queue.
        ...(executionEnded ? { retryAttempts: 2, maxEventAge: Duration.hours(1), deadLetterQueue: this.executionEndedDeadLetters } : {}),
        // Invoked asynchronously by its schedule: Lambda's defaults would run a failed check twice
        // more, and keep a throttled one for 6 hours. A late check is worthless once the next one
        // is due (and one that timed out on a large Redis would only load it again): none.
        // `drain-check --deployed` invokes it synchronously, where this does not apply.
        ...(drainCheck ? { retryAttempts: 0, maxEventAge: Duration.minutes(1) } : {}),
      };
      this.functions[name] =
        props.code === 'stand-in'
          ? new lambda.Function(this, name, { ...common, handler: 'index.handler', code: lambda.Code.fromInline(STAND_IN) })
          : new NodejsFunction(this, name, {
              ...common,
              entry: join(REPO_ROOT, 'functions', FUNCTION_ENTRIES[name]),
              handler: 'handler',
              projectRoot: REPO_ROOT,
              depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
              bundling: bundling(caFilesOf(connections)),
            });
      Validations.of(this.functions[name]).acknowledge({
        id: 'AwsSolutions-L1',
        reason: 'nodejs22.x on purpose: the handlers are bundled for and tested against Node 22 (supported until 2027-04-30); nodejs24.x is not validated yet.',
      });
      this.logGroups[name] = logGroup;
    }
  }

  private roleFor(name: MigrationFunctionName, logGroup: logs.LogGroup, connections: Readonly<Record<string, RedisEndpoint>>): iam.Role {
    const role = new iam.Role(this, `${name}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `sidekiq-migrate ${name}: its log group, VPC network interfaces, X-Ray, its Redis secrets`,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    // What AWSLambdaVPCAccessExecutionRole grants, inline: Lambda attaches the function's network
    // interfaces with these; EC2 offers no resource-level scoping for the Describe calls.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        resources: ['*'],
      }),
    );
    const secrets = Object.values(connections).flatMap((c) => (c.secret ? [c.secret] : []));
    if (secrets.length > 0) {
      // A partial ARN (no random suffix) matches the secret's full ARN with "-??????".
      const arns = secrets.map((s) => s.secretFullArn ?? `${s.secretArn}-??????`);
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [...new Set(arns)] }));
    }
    const keys = Object.values(connections).flatMap((c) => (c.secretKey ? [c.secretKey.keyArn] : []));
    if (keys.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [...new Set(keys)],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only for actions without resource-level permissions: the EC2 network-interface actions Lambda needs to attach a function to the VPC (as in AWSLambdaVPCAccessExecutionRole) and X-Ray PutTraceSegments/PutTelemetryRecords (tracing).',
    });
    return role;
  }
}

/** Where a connection's CA PEM is in a function bundle (relative to its code directory). */
export function caBundlePath(connection: string): string {
  return `tls/${connection}-ca.pem`;
}

function caFilesOf(connections: Readonly<Record<string, RedisEndpoint>>): Record<string, string> {
  return Object.fromEntries(Object.entries(connections).flatMap(([name, e]) => (e.tlsCaFile ? [[caBundlePath(name), e.tlsCaFile]] : [])));
}

/**
 * SIDEKIQ_MIGRATE_<NAME>_URL, _PREFIX, _SECRET_ARN (a complete ARN) or _SECRET_NAME, and
 * _TLS_CA_FILE for each connection (functions/support/connection-env.ts).
 */
export function connectionEnvironment(connections: Readonly<Record<string, RedisEndpoint>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, endpoint] of Object.entries(connections)) {
    env[envVariable(name, 'URL')] = redisUrlOf(endpoint);
    if (endpoint.prefix) env[envVariable(name, 'PREFIX')] = endpoint.prefix;
    if (endpoint.secret?.secretFullArn) env[envVariable(name, 'SECRET_ARN')] = endpoint.secret.secretFullArn;
    else if (endpoint.secret) env[envVariable(name, 'SECRET_NAME')] = endpoint.secret.secretName;
    if (endpoint.tlsCaFile) env[envVariable(name, 'TLS_CA_FILE')] = caBundlePath(name);
  }
  return env;
}
