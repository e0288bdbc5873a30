import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { cdkJsonConfig, EXAMPLES, exampleConfig, synthesize } from './support/stacks.js';

const configs: [string, Record<string, unknown>][] = [['cdk.json', cdkJsonConfig()], ...EXAMPLES.map((name) => [name, exampleConfig(name)] as [string, Record<string, unknown>])];

/** cdk-nag 3 is a CDK validation plugin: validateScope runs its rules over a construct tree, as `cdk synth` does. */
function nagFindings(app: IConstruct): string[] {
  const report = new AwsSolutionsChecks(app).validateScope(app);
  return report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
}

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason }))),
  );
}

// Each test synthesizes whole stacks and runs every rule over them: ~5 s on a quiet 2-core machine,
// past 40 s for the first one on a loaded one (a full suite beside other work).
describe("cdk-nag's AWS Solutions rules", { timeout: 120_000 }, () => {
  it.each(configs)('report nothing unacknowledged for %s', (_name, config) => {
    const { app } = synthesize(config);
    expect(nagFindings(app)).toEqual([]);
  });

  it('pass at synth, where the app registers them (cdk synth fails on an error)', () => {
    const { app } = synthesize(cdkJsonConfig());
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  it('do find problems (the check is not vacuous)', () => {
    const { app, stack } = synthesize(cdkJsonConfig());
    new sns.Topic(stack, 'PlainTopic');
    expect(nagFindings(app)).toEqual([expect.stringMatching(/^error AwsSolutions-SNS3: .*PlainTopic/)]);
    const plain = new App();
    new sns.Topic(new Stack(plain, 'S'), 'T');
    Validations.of(plain).addPlugins(new AwsSolutionsChecks(plain));
    expect(() => plain.synth()).toThrow(/AwsSolutions-SNS3/);
  });

  it('are acknowledged only where documented, each with its reason', () => {
    // Prepare: the configuration with every kind of resource (trial caches, a sweep).
    const { app } = synthesize(exampleConfig('trial-pinned'));

    // Act (aws-cdk-lib acknowledges a few of its own CloudFormation-Validate rules: not ours)
    const acks = acknowledgements(app).filter((a) => a.id.startsWith('AwsSolutions-'));

    // Assess: one line per kind of acknowledgement (ids name resources; normalized here).
    const kinds = new Set(
      acks.map((a) =>
        a.id
          .replace(/<\w+\.Arn>:\*/, '<function>.Arn:*')
          .replace(/execution:\{.*\}(\/\*)?:\*/, (_m, children: string | undefined) => `execution:<state machine>${children ?? ''}:*`)
          .replace(/arn:<AWS::Partition>:states:[^:]+:[^:]+:/, 'arn:…:states:…:')
          .replace(/(execution|mapRun):sidekiq-migrate[\w-]*(\/\*|:\*)\]$/, (_m, kind: string, tail: string) => `${kind}:<name>${tail}]`),
      ),
    );
    expect([...kinds].sort()).toEqual([
      'AwsSolutions-AEC4', // trial cache without Multi-AZ (the source; the target has it)
      'AwsSolutions-AEC5', // trial cache on 6379
      'AwsSolutions-IAM5[Resource::*]', // ENI, X-Ray and log-delivery actions: no resource-level permissions
      'AwsSolutions-IAM5[Resource::<function>.Arn:*]', // LambdaInvoke / scheduler grant function versions
      'AwsSolutions-IAM5[Resource::arn:…:states:…:execution:<name>/*]', // operator policy: map children
      'AwsSolutions-IAM5[Resource::arn:…:states:…:execution:<name>:*]', // operator policy: executions
      'AwsSolutions-IAM5[Resource::arn:…:states:…:execution:<state machine>/*:*]', // Distributed Map redrive
      'AwsSolutions-IAM5[Resource::arn:…:states:…:execution:<state machine>:*]', // Distributed Map children
      'AwsSolutions-IAM5[Resource::arn:…:states:…:mapRun:<name>/*]', // operator policy: map runs
      'AwsSolutions-L1', // nodejs22.x, not the latest runtime
      'AwsSolutions-SF1', // state machine logs ERROR, not ALL
      'AwsSolutions-SMG4', // trial cache AUTH token not rotated
    ]);
    for (const a of acks) expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThan(60);
  });
});
