import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { describe, expect, it } from 'vitest';
import { startOptionsSchema } from '../../core/config/deployed-options.js';
import { externalRedis } from '../../infra/constructs/redis-endpoint.js';
import { SidekiqMigration } from '../../infra/constructs/sidekiq-migration.js';
import { runCli } from '../support/run-cli.js';

/** The construct the CDK app deploys, with these connections (and drain check): synthesized, or what it threw. */
function synth(names: readonly string[], drainCheckConnection?: string): { env: Record<string, string> } | { error: string } {
  const stack = new Stack(new App(), 'ConnectionNames');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  try {
    const connections = Object.fromEntries(names.map((name, i) => [name, externalRedis(stack, `redis${i}`, { host: `redis${i}.internal`, port: 6379, cidr: '10.0.0.0/16', tls: false })]));
    new SidekiqMigration(stack, 'Migration', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      connections,
      functionCode: 'stand-in',
      ...(drainCheckConnection !== undefined ? { drainCheck: { connection: drainCheckConnection } } : {}),
    });
    const plan = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).find((f) => (f as { Properties: { Environment?: unknown } }).Properties.Environment);
    return { env: (plan as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties.Environment.Variables };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

const startAccepts = (name: string) => startOptionsSchema.safeParse({ mode: 'transfer', source: name, target: name === 'target' ? 'other' : 'target' }).success;

// The CDK app took any connection name (`Old_Redis`, `old.redis`, `source `, ''), where `start
// --source` refuses all of them: a deployed connection start could not name, and `Old_Redis`,
// `old_redis` and `old-redis` all deployed as SIDEKIQ_MIGRATE_OLD_REDIS_*. One rule now.
describe('connection names: one rule for the CDK app and start', { timeout: 120_000 }, () => {
  it('a name start refuses fails synth, naming it; a name start takes deploys', () => {
    const names = ['a', `x${'y'.repeat(30)}`, 'Old_Redis', 'old_redis', 'old.redis', 'Source', 'source ', ' ', '', '1redis', '-x', `x${'y'.repeat(31)}`];
    for (const name of names) {
      const result = synth(['source', name]);
      expect('env' in result, `${JSON.stringify(name)}: ${'error' in result ? result.error : 'deployed'}`).toBe(startAccepts(name));
    }
    expect(synth(['source', 'old-redis'])).toMatchObject({ env: { SIDEKIQ_MIGRATE_OLD_REDIS_URL: 'redis://redis1.internal:6379' } });
  });

  it('says what is wrong, as start says it', async () => {
    expect(synth(['source', 'Old_Redis'])).toEqual({
      error: 'connections: "Old_Redis" is not a connection name of the deployment (e.g. source or target): lowercase letters, digits and "-", starting with a letter, at most 31',
    });
    expect(synth(['source', ' '])).toEqual({ error: 'connections: a connection name of the deployment (e.g. source or target), not blank' });
    expect(synth(['source'], 'Source')).toEqual({
      error: 'drainCheck.connection: "Source" is not a connection name of the deployment (e.g. source or target): lowercase letters, digits and "-", starting with a letter, at most 31',
    });
    const start = await runCli('start', '--mode', 'transfer', '--source', 'Old_Redis', '--state-machine', 'arn:aws:states:eu-west-1:123456789012:stateMachine:x');
    expect({ code: start.code, stderr: start.stderr }).toEqual({
      code: 2,
      stderr: '--source: "Old_Redis" is not a connection name of the deployment (e.g. source or target): lowercase letters, digits and "-", starting with a letter, at most 31\n',
    });
  });
});
