import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { FunctionCode } from '../../../infra/constructs/migration-functions.js';
import { parseDeploymentConfig } from '../../../infra/stacks/deployment-config.js';
import { SidekiqMigrateStack } from '../../../infra/stacks/sidekiq-migrate-stack.js';
import { repoPath } from '../../support/paths.js';

/** cdk.context.json, as the CLI would load it (the AZs of the pinned examples). */
export const CDK_CONTEXT = JSON.parse(readFileSync(repoPath('cdk.context.json'), 'utf8')) as Record<string, unknown>;

/** The configuration in cdk.json's context: what a plain `cdk synth` deploys. */
export function cdkJsonConfig(): Record<string, unknown> {
  return (JSON.parse(readFileSync(repoPath('cdk.json'), 'utf8')) as { context: { sidekiqMigrate: Record<string, unknown> } }).context.sidekiqMigrate;
}

export const EXAMPLES = ['elasticache-transfer', 'enterprise-to-elasticache', 'trial-pinned', 'localstack'] as const;
export type ExampleName = (typeof EXAMPLES)[number];

export function exampleConfig(name: ExampleName): Record<string, unknown> {
  return JSON.parse(readFileSync(repoPath(`infra/stacks/examples/${name}.json`), 'utf8')) as Record<string, unknown>;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: SidekiqMigrateStack;
  readonly template: Template;
}

/** A stack from a raw configuration (stand-in code unless said otherwise), with cdk.context.json loaded. */
export function synthesize(config: unknown, options: { functionCode?: FunctionCode; outdir?: string } = {}): Synthesized {
  const app = new App({ context: CDK_CONTEXT, ...(options.outdir ? { outdir: options.outdir } : {}) });
  const stack = new SidekiqMigrateStack(app, 'SidekiqMigrateTest', { config: parseDeploymentConfig(config), functionCode: options.functionCode ?? 'stand-in' });
  return { app, stack, template: Template.fromStack(stack) };
}

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DependsOn?: unknown }>;

export function resources(template: Template, type?: string): Resources {
  const all = (template.toJSON() as { Resources: Resources }).Resources;
  return Object.fromEntries(Object.entries(all).filter(([, r]) => type === undefined || r.Type === type));
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(construct: { node: { defaultChild?: unknown } }, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

/**
 * A CloudFormation value with its intrinsics replaced by readable placeholders (`<Ref:X>`,
 * `<X.Arn>`), joins concatenated: enough to read a URL, an ARN or a dashboard body.
 */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  const o = value as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [separator, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(separator);
  }
  if (o['Ref'] !== undefined) return `<Ref:${String(o['Ref'])}>`;
  if (o['Fn::GetAtt']) {
    const [id, attribute] = o['Fn::GetAtt'] as [string, string];
    return `<${id}.${attribute}>`;
  }
  if (o['Fn::Select']) return `<Select:${JSON.stringify(o['Fn::Select'])}>`;
  return JSON.stringify(value);
}
