import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { BATCH_SIZE } from '../../core/workflow/work-list.js';
import { MigrationWorkflow } from '../../infra/constructs/migration-workflow.js';
import { existingElastiCache, externalRedis } from '../../infra/constructs/redis-endpoint.js';
import { CONFIG_CONTEXT_KEY, CONFIG_FILE_CONTEXT_KEY, parseDeploymentConfig, readDeploymentConfig, STAND_IN_CONTEXT_KEY, standInCodeRequested } from '../../infra/stacks/deployment-config.js';
import { cdkJsonConfig, EXAMPLES, exampleConfig, synthesize } from './support/stacks.js';

const existingVpc = { vpcId: 'vpc-0a1b2c3d4e5f60718', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-0a1b2c3d4e5f60718'] };
const elastiCache = (primaryEndpoint: string, extra: Record<string, unknown> = {}) => ({
  elastiCache: { primaryEndpoint, securityGroupId: 'sg-0123456789abcdef0', engine: 'valkey', ...extra },
});
const withSource = (source: unknown, rest: Record<string, unknown> = {}) => ({ vpc: existingVpc, source, ...rest });

describe('the deployment configuration', () => {
  it("accepts cdk.json's configuration and every example", () => {
    expect(() => parseDeploymentConfig(cdkJsonConfig())).not.toThrow();
    for (const name of EXAMPLES) expect(() => parseDeploymentConfig(exampleConfig(name)), name).not.toThrow();
  });

  it.each([
    ['a cluster-mode configuration endpoint', elastiCache('gitlab.abc123.clustercfg.euw1.cache.amazonaws.com'), /source\.elastiCache\.primaryEndpoint: .*configuration endpoint \(Redis Cluster\)/],
    ['an ElastiCache Serverless endpoint', elastiCache('gitlab-abc123.serverless.euw1.cache.amazonaws.com'), /source\.elastiCache\.primaryEndpoint: .*Serverless endpoint, which is always cluster mode/],
    ['a replication group declared in cluster mode', elastiCache('master.gitlab.abc123.euw1.cache.amazonaws.com', { clusterMode: 'enabled' }), /source\.elastiCache\.clusterMode: cluster mode is not supported/],
    ['an external endpoint declared in cluster mode', { external: { host: 'redis.internal', port: 12000, cidr: '10.0.0.0/8', clusterMode: 'enabled' } }, /source\.external\.clusterMode: cluster mode is not supported/],
    ['a reader endpoint', elastiCache('replica.gitlab.abc123.euw1.cache.amazonaws.com'), /source\.elastiCache\.primaryEndpoint: .*reader endpoint/],
    ['a reader endpoint (no TLS naming)', elastiCache('gitlab-ro.abc123.ng.0001.euw1.cache.amazonaws.com'), /reader endpoint/],
  ])('refuses %s at synth time, saying why', (_what, source, message) => {
    // Act
    const parse = () => parseDeploymentConfig(withSource(source));

    // Assess
    expect(parse).toThrow(message);
    expect(parse).toThrow(/Invalid sidekiq-migrate deployment configuration/);
  });

  it('refuses a maxConcurrency above the 10 sets and queues a batch holds: the Map runs over one batch at a time, so 11 to 40 ran 10 at once while the configuration said more', () => {
    // Act
    const parse = (maxConcurrency: number) => () => parseDeploymentConfig(withSource(elastiCache('master.gitlab.abc123.euw1.cache.amazonaws.com'), { maxConcurrency }));

    // Assess
    expect(parse(BATCH_SIZE)).not.toThrow();
    expect(parse(BATCH_SIZE + 1)).toThrow(/maxConcurrency: .*at most 10.*batch of at most 10 sets and queues/);
    expect(parse(40)).toThrow(/maxConcurrency/);
    const stack = new Stack(new App(), 'S');
    const fn = (name: string) => lambda.Function.fromFunctionArn(stack, name, `arn:aws:lambda:eu-west-1:123456789012:function:${name}`);
    const functions = Object.fromEntries(['plan', 'rerouteSetPage', 'rerouteQueueSlice', 'transferSet', 'transferQueue', 'summarize', 'releaseLock'].map((n) => [n, fn(n)])) as never;
    expect(() => new MigrationWorkflow(stack, 'W', { functions, stateMachineName: 'w', maxConcurrency: BATCH_SIZE + 1 })).toThrow(/maxConcurrency 11: at most 10/);
  });

  it('refuses cluster mode in the construct API too, not only in the configuration', () => {
    const stack = new Stack(new App(), 'S');
    expect(() =>
      existingElastiCache(stack, 'source', { primaryEndpoint: 'gitlab.abc123.clustercfg.euw1.cache.amazonaws.com', securityGroupId: 'sg-0123456789abcdef0', engine: 'redis' }),
    ).toThrow(/source: .*cluster-mode configuration endpoint/);
    expect(() => externalRedis(stack, 'target', { host: 'redis.internal', port: 6379, cidr: '10.0.0.0/8', clusterMode: 'enabled' })).toThrow(/target: cluster mode "enabled" is not supported/);
  });

  it('reports every problem at once, each with its path', () => {
    // Prepare
    const config = {
      vpc: { create: {}, vpcId: 'vpc-0a1b2c3d4e5f60718' },
      source: { create: {}, elastiCache: elastiCache('master.a.b.euw1.cache.amazonaws.com').elastiCache, secretArn: 'not-an-arn' },
      drainCheck: { connection: 'target', rateMines: 5 },
    };

    // Act
    let message = '';
    try {
      parseDeploymentConfig(config);
    } catch (error) {
      message = (error as Error).message;
    }

    // Assess
    expect(message).toContain('vpc: give either create (a new VPC) or vpcId, availabilityZones and privateSubnetIds');
    expect(message).toContain("source.secretArn: must be a Secrets Manager secret's complete ARN");
    expect(message).toContain('source: give exactly one of elastiCache');
    expect(message).toContain('not elastiCache and create');
    expect(message).toContain('drainCheck: unknown option(s) rateMines');
    expect(message).toContain('drainCheck.connection: there is no target connection to check');
  });

  it('keeps secrets out of a created cache’s configuration and checks the shape of an existing VPC', () => {
    expect(() => parseDeploymentConfig({ vpc: { create: {} }, source: { create: {}, secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x' } })).toThrow(
      /a created cache always uses TLS \(with a public CA\) and an AUTH token generated into Secrets Manager/,
    );
    expect(() => parseDeploymentConfig({ vpc: { ...existingVpc, availabilityZones: ['eu-west-1a', 'eu-west-1b'] }, source: elastiCache('master.a.b.euw1.cache.amazonaws.com') })).toThrow(
      /vpc\.privateSubnetIds: give the same number of subnets in each availability zone/,
    );
    expect(() => parseDeploymentConfig({ vpc: { create: {} }, source: { create: { multiAz: true } } })).toThrow(/source\.create\.multiAz: Multi-AZ needs at least one replica/);
  });

  it('checks the sweep input with the schema the plan step applies, at synth time', () => {
    const base = { vpc: { create: {} }, source: { create: {} } };
    expect(() => synthesize({ ...base, sweep: { rateMinutes: 60, input: { mode: 'reroute' } } })).toThrow(/sweep\.input\.routing: a re-route needs routing/);
    expect(() => synthesize({ ...base, sweep: { rateMinutes: 60, input: { mode: 'transfer', target: 'target' } } })).toThrow(/sweep\.input: connection "target" is not configured/);
    expect(() => synthesize({ ...base, sweep: { rateMinutes: 60, input: { runId: 'x', mode: 'reroute', routing: { kind: 'renames', renames: { a: 'b' } } } } })).toThrow(/leave out runId/);
  });

  it('is read from a file named in the context (JSON or YAML), or from the context itself', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-config-'));
    writeFileSync(join(dir, 'prod.yaml'), 'vpc:\n  create: {}\nsource:\n  create:\n    engine: redis\nname: from-yaml\n');
    const inline = { ...cdkJsonConfig(), name: 'from-context' };

    // Act
    const fromFile = readDeploymentConfig(new App({ context: { [CONFIG_FILE_CONTEXT_KEY]: 'prod.yaml', [CONFIG_CONTEXT_KEY]: inline } }).node, dir);
    const fromContext = readDeploymentConfig(new App({ context: { [CONFIG_CONTEXT_KEY]: inline } }).node);
    const fromJsonString = readDeploymentConfig(new App({ context: { [CONFIG_CONTEXT_KEY]: JSON.stringify(inline) } }).node);

    // Assess
    expect(fromFile.name).toBe('from-yaml');
    expect(fromFile.source.create?.engine).toBe('redis');
    expect(fromContext.name).toBe('from-context');
    expect(fromJsonString.name).toBe('from-context');
    expect(() => readDeploymentConfig(new App().node)).toThrow(/No sidekiq-migrate deployment configuration: set the "sidekiqMigrate" context/);
    expect(() => readDeploymentConfig(new App({ context: { [CONFIG_FILE_CONTEXT_KEY]: 'prod.yaml' } }).node, dir + '-missing')).toThrow(/deployment configuration file/);
    expect(standInCodeRequested(new App({ context: { [STAND_IN_CONTEXT_KEY]: 'true' } }).node)).toBe(true);
    expect(standInCodeRequested(new App().node)).toBe(false);
  });
});
