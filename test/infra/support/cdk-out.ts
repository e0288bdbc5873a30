import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../infra/constructs/migration-functions.js';
import { CONFIG_FILE_CONTEXT_KEY } from '../../../infra/stacks/deployment-config.js';
import { CDK_CONTEXT } from './stacks.js';

type Resource = { Type: string; Properties: Record<string, unknown> };
export type Resources = Record<string, Resource>;

export interface CloudAssembly {
  readonly outdir: string;
  readonly stackName: string;
  readonly resources: Resources;
  readonly account: string;
  readonly region: string;
}

/**
 * Runs the CDK app (infra/bin/app.ts) as `cdk synth` does, in a child process, with the context
 * of cdk.context.json and a configuration file, writing the cloud assembly (template and asset
 * bundles) to `outdir`.
 */
export function synthesizeApp(configFile: string, outdir: string): CloudAssembly {
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(REPO_ROOT, 'infra', 'bin', 'app.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_CONTEXT, [CONFIG_FILE_CONTEXT_KEY]: configFile }) },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; environment?: string; properties?: { templateFile?: string } }>;
  };
  const [stackName, stack] = Object.entries(manifest.artifacts).find(([, a]) => a.type === 'aws:cloudformation:stack')!;
  const [, account, region] = /^aws:\/\/([^/]+)\/(.+)$/.exec(stack.environment ?? '') ?? [];
  const template = JSON.parse(readFileSync(join(outdir, stack.properties!.templateFile!), 'utf8')) as { Resources: Resources };
  return { outdir, stackName, resources: template.Resources, account: account!, region: region! };
}

/** A function of the template: where its bundle is and what the template gives it. */
export interface TemplateFunction {
  readonly logicalId: string;
  readonly arn: string;
  /** The asset directory in cdk.out: what Lambda unpacks to /var/task. */
  readonly codeDirectory: string;
  readonly handler: string;
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly environment: Readonly<Record<string, string>>;
}

export function functionArn(assembly: CloudAssembly, logicalId: string): string {
  return `arn:aws:lambda:${assembly.region}:${assembly.account}:function:${logicalId}`;
}

/** Every AWS::Lambda::Function of the template, by ARN (as resolveIntrinsics writes them). */
export function templateFunctions(assembly: CloudAssembly): Map<string, TemplateFunction> {
  const functions = new Map<string, TemplateFunction>();
  for (const [logicalId, r] of Object.entries(assembly.resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const p = r.Properties as { Code: { S3Key?: string }; Handler: string; Runtime: string; Timeout?: number; MemorySize?: number; Environment?: { Variables: Record<string, unknown> } };
    if (!p.Code.S3Key) throw new Error(`${logicalId} has no asset code (synthesized with stand-in code?)`);
    const environment: Record<string, string> = {};
    for (const [k, v] of Object.entries(p.Environment?.Variables ?? {})) environment[k] = resolveIntrinsics(v, assembly);
    functions.set(functionArn(assembly, logicalId), {
      logicalId,
      arn: functionArn(assembly, logicalId),
      codeDirectory: join(assembly.outdir, `asset.${p.Code.S3Key.replace(/\.zip$/, '')}`),
      handler: p.Handler,
      runtime: p.Runtime,
      timeoutSeconds: p.Timeout ?? 3,
      memoryMb: p.MemorySize ?? 128,
      environment,
    });
  }
  return functions;
}

/** The state machine's definition as deployed, with function ARNs resolved to `…:function:<logicalId>`. */
export function deployedDefinition(assembly: CloudAssembly): Record<string, unknown> {
  const machines = Object.values(assembly.resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine in ${assembly.stackName}, found ${machines.length}`);
  return JSON.parse(resolveIntrinsics(machines[0]!.Properties['DefinitionString'], assembly)) as Record<string, unknown>;
}

/** A CloudFormation value with its intrinsics resolved as CloudFormation would, for this stack. */
export function resolveIntrinsics(value: unknown, assembly: CloudAssembly): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  const o = value as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [separator, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolveIntrinsics(p, assembly)).join(separator);
  }
  if (o['Ref'] !== undefined) {
    const ref = o['Ref'] as string;
    if (ref === 'AWS::Partition') return 'aws';
    if (ref === 'AWS::Region') return assembly.region;
    if (ref === 'AWS::AccountId') return assembly.account;
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    const resource = assembly.resources[ref];
    // Ref of a state machine is its ARN, from its (fixed) name.
    if (resource?.Type === 'AWS::StepFunctions::StateMachine') return `arn:aws:states:${assembly.region}:${assembly.account}:stateMachine:${String(resource.Properties['StateMachineName'])}`;
    return `ref:${ref}`;
  }
  if (o['Fn::GetAtt']) {
    const [logicalId, attribute] = o['Fn::GetAtt'] as [string, string];
    if (assembly.resources[logicalId]?.Type === 'AWS::Lambda::Function' && attribute === 'Arn') return functionArn(assembly, logicalId);
    return `getatt:${logicalId}.${attribute}`;
  }
  throw new Error(`Cannot resolve the intrinsic ${JSON.stringify(o).slice(0, 120)}`);
}

export interface TaskState {
  readonly name: string;
  readonly Type: string;
  readonly Resource?: string;
}

/** Every Task state of a definition, nested Map and Parallel states included. */
export function taskStates(definition: Record<string, unknown>): TaskState[] {
  type S = { Type: string; Resource?: string; ItemProcessor?: { States: Record<string, S> }; Iterator?: { States: Record<string, S> }; Branches?: { States: Record<string, S> }[] };
  const walk = (states: Record<string, S>): TaskState[] =>
    Object.entries(states).flatMap(([name, s]) => [
      ...(s.Type === 'Task' ? [{ name, Type: s.Type, ...(s.Resource ? { Resource: s.Resource } : {}) }] : []),
      ...walk(s.ItemProcessor?.States ?? s.Iterator?.States ?? {}),
      ...(s.Branches ?? []).flatMap((b) => walk(b.States)),
    ]);
  return walk((definition as { States: Record<string, S> }).States);
}
