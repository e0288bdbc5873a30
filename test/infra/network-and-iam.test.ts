import { describe, expect, it } from 'vitest';
import { readConnectionEnv } from '../../functions/support/connection-env.js';
import { cdkJsonConfig, exampleConfig, flatten, logicalId, resources, synthesize, type Synthesized } from './support/stacks.js';

const stacks = {
  trial: synthesize(cdkJsonConfig()),
  transfer: synthesize(exampleConfig('elasticache-transfer')),
  enterprise: synthesize(exampleConfig('enterprise-to-elasticache')),
  pinned: synthesize(exampleConfig('trial-pinned')),
};
type Case = keyof typeof stacks;

interface Rule {
  readonly peer: string;
  readonly port: string;
}

/** A security group's rules, from both its inline rules and the separate rule resources. */
function rulesOf(s: Synthesized, direction: 'ingress' | 'egress', groupRef: unknown): Rule[] {
  const type = direction === 'ingress' ? 'AWS::EC2::SecurityGroupIngress' : 'AWS::EC2::SecurityGroupEgress';
  const peerOf = (r: Record<string, unknown>) => flatten(r['SourceSecurityGroupId'] ?? r['DestinationSecurityGroupId'] ?? r['CidrIp']);
  const portOf = (r: Record<string, unknown>) => `${String(r['IpProtocol'])}/${String(r['FromPort'])}-${String(r['ToPort'])}`;
  const separate = Object.values(resources(s.template, type))
    .filter((r) => flatten(r.Properties['GroupId']) === flatten(groupRef))
    .map((r) => ({ peer: peerOf(r.Properties), port: portOf(r.Properties) }));
  const own = Object.entries(resources(s.template, 'AWS::EC2::SecurityGroup')).find(([id]) => flatten({ 'Fn::GetAtt': [id, 'GroupId'] }) === flatten(groupRef));
  const inline = ((own?.[1].Properties[direction === 'ingress' ? 'SecurityGroupIngress' : 'SecurityGroupEgress'] as Record<string, unknown>[] | undefined) ?? [])
    // CDK's placeholder when a group may send nothing at all.
    .filter((r) => r['CidrIp'] !== '255.255.255.255/32')
    .map((r) => ({ peer: peerOf(r), port: portOf(r) }));
  return [...separate, ...inline].sort((a, b) => `${a.peer}${a.port}`.localeCompare(`${b.peer}${b.port}`));
}

const sorted = (rules: Rule[]) => [...rules].sort((a, b) => `${a.peer}${a.port}`.localeCompare(`${b.peer}${b.port}`));
const groupId = (construct: { node: { defaultChild?: unknown } }, s: Synthesized) => flatten({ 'Fn::GetAtt': [logicalId(construct, s.stack), 'GroupId'] });
const functionsGroup = (s: Synthesized) => ({ 'Fn::GetAtt': [logicalId(s.stack.migration.securityGroup, s.stack), 'GroupId'] });
const endpointGroup = (s: Synthesized) => groupId(s.stack.migration.node.findChild('SecretsManagerEndpointSecurityGroup') as never, s);
const trialGroup = (s: Synthesized, name: string) => groupId(s.stack.trialCaches[name]!.securityGroup, s);

describe('network: the functions reach only the Redis ports, and only the functions reach Redis', () => {
  const expectedEgress: Record<Case, (s: Synthesized) => Rule[]> = {
    trial: (s) => [
      { peer: trialGroup(s, 'source'), port: 'tcp/6379-6379' },
      { peer: endpointGroup(s), port: 'tcp/443-443' },
    ],
    transfer: (s) => [
      { peer: 'sg-0123456789abcdef0', port: 'tcp/6379-6379' },
      { peer: 'sg-0fedcba9876543210', port: 'tcp/6379-6379' },
      { peer: endpointGroup(s), port: 'tcp/443-443' },
    ],
    enterprise: () => [
      { peer: '10.20.0.0/16', port: 'tcp/12000-12000' },
      { peer: 'sg-0fedcba9876543210', port: 'tcp/6379-6379' },
      // secretsManagerAccess "nat": HTTPS out through the NAT, to Secrets Manager's public endpoint.
      { peer: '0.0.0.0/0', port: 'tcp/443-443' },
    ],
    pinned: (s) => [
      { peer: trialGroup(s, 'source'), port: 'tcp/6379-6379' },
      { peer: trialGroup(s, 'target'), port: 'tcp/6380-6380' },
      { peer: endpointGroup(s), port: 'tcp/443-443' },
    ],
  };

  it.each(Object.keys(stacks) as Case[])('%s: the functions’ group sends only to the Redis port(s) and HTTPS to Secrets Manager, and receives nothing', (name) => {
    const s = stacks[name];
    expect(rulesOf(s, 'egress', functionsGroup(s))).toEqual(sorted(expectedEgress[name](s)));
    expect(rulesOf(s, 'ingress', functionsGroup(s))).toEqual([]);
  });

  it.each(Object.keys(stacks) as Case[])('%s: every ingress rule admits only the functions, on the port of the group it opens', (name) => {
    const s = stacks[name];
    const functions = flatten(functionsGroup(s));
    const ingress = Object.values(resources(s.template, 'AWS::EC2::SecurityGroupIngress')).map((r) => ({ group: flatten(r.Properties['GroupId']), from: flatten(r.Properties['SourceSecurityGroupId'] ?? r.Properties['CidrIp']), port: r.Properties['FromPort'] }));
    // The enterprise example's only cache group is managed elsewhere (manageIngress false).
    expect(ingress.length > 0).toBe(name !== 'enterprise');
    for (const rule of ingress) expect(rule.from, JSON.stringify(rule)).toBe(functions);
    for (const sg of Object.values(resources(s.template, 'AWS::EC2::SecurityGroup'))) expect(sg.Properties['SecurityGroupIngress']).toBeUndefined();
    const egressOfFunctions = rulesOf(s, 'egress', functionsGroup(s));
    for (const rule of ingress) expect(egressOfFunctions, JSON.stringify(rule)).toContainEqual({ peer: rule.group, port: `tcp/${String(rule.port)}-${String(rule.port)}` });
  });

  it('opens an existing cache’s group only when asked to (manageIngress)', () => {
    const ingressTo = (s: Synthesized, sg: string) => Object.values(resources(s.template, 'AWS::EC2::SecurityGroupIngress')).filter((r) => r.Properties['GroupId'] === sg);
    expect(ingressTo(stacks.transfer, 'sg-0fedcba9876543210')).toHaveLength(1);
    expect(ingressTo(stacks.enterprise, 'sg-0fedcba9876543210')).toHaveLength(0);
  });
});

const WILDCARD_ALLOWED = new Set([
  // Lambda's VPC network interfaces (as in AWSLambdaVPCAccessExecutionRole): no resource-level permissions.
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
  // X-Ray (functions and state machine).
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  // State machine logging (CloudWatch Logs vended delivery).
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function statementsOf(s: Synthesized, policyFilter: (id: string) => boolean = () => true): (Statement & { policy: string })[] {
  return Object.entries(resources(s.template, 'AWS::IAM::Policy'))
    .filter(([id]) => policyFilter(id))
    .flatMap(([id, p]) => (p.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement.map((st) => ({ ...st, policy: id })));
}
const rolePolicy = (s: Synthesized, fn: 'drainCheck' | 'plan') => (id: string) => id.startsWith(logicalId(s.stack.migration.functions.node.findChild(`${fn}Role`) as never, s.stack).replace(/[0-9A-F]{8}$/, ''));

describe('IAM: least privilege, scoped to named resources', () => {
  it.each(Object.keys(stacks) as Case[])('%s: no wildcard action; "*" only for actions that have no resource-level permissions; other wildcards only where names are made at run time', (name) => {
    const s = stacks[name];
    const functionArns = Object.values(s.stack.migration.functions.functions).map((f) => `<${logicalId(f, s.stack)}.Arn>`);
    const sm = logicalId(s.stack.migration.stateMachine, s.stack);
    for (const st of statementsOf(s)) {
      const actions = list(st.Action);
      for (const action of actions) expect(action, st.policy).not.toMatch(/\*/);
      for (const resource of list(st.Resource).map(flatten)) {
        if (resource === '*') expect(actions.filter((a) => !WILDCARD_ALLOWED.has(a)), st.policy).toEqual([]);
        else if (resource.includes('*')) {
          const versions = functionArns.some((arn) => resource === `${arn}:*`) && actions.every((a) => a === 'lambda:InvokeFunction');
          const childExecutions = resource.includes(`{"Ref":"${sm}"}`) && /:execution:.*(:\*|\/\*:\*)$/.test(resource);
          expect(versions || childExecutions, `${st.policy}: ${resource}`).toBe(true);
        }
      }
    }
    for (const role of Object.values(resources(s.template, 'AWS::IAM::Role'))) expect(role.Properties['ManagedPolicyArns']).toBeUndefined();
  });

  it('lets the state machine invoke only its functions and start only itself', () => {
    const s = stacks.transfer;
    const sm = logicalId(s.stack.migration.stateMachine, s.stack);
    const own = [`<Ref:${sm}>`, 'arn:<Ref:AWS::Partition>:states:eu-west-1:123456789012:stateMachine:sidekiq-migrate'];
    const functionArns = Object.values(s.stack.migration.functions.functions).map((f) => `<${logicalId(f, s.stack)}.Arn>`);
    for (const st of statementsOf(s)) {
      const resources = list(st.Resource).map(flatten);
      if (list(st.Action).includes('states:StartExecution')) for (const r of resources) expect(own).toContain(r);
      if (list(st.Action).includes('lambda:InvokeFunction')) for (const r of resources) expect(functionArns).toContain(r.replace(/:\*$/, ''));
    }
  });

  it('lets each function read only the secrets of its connections, and the drain check only the one it checks', () => {
    const s = stacks.transfer;
    const reads = (filter: (id: string) => boolean) => statementsOf(s, filter).filter((st) => list(st.Action).includes('secretsmanager:GetSecretValue')).flatMap((st) => list(st.Resource).map(flatten));
    const source = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sidekiq/old-redis-auth-AbCdEf';
    const target = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sidekiq/new-redis-acl-user-GhIjKl';
    expect(reads(rolePolicy(s, 'plan'))).toEqual([source, target]);
    expect(reads(rolePolicy(s, 'drainCheck'))).toEqual([source]);
    expect(reads(() => true).every((arn) => arn === source || arn === target)).toBe(true);
  });

  it('matches a secret given by name with the suffix Secrets Manager adds (NAME-??????), and decrypts a customer-managed key only through Secrets Manager', () => {
    const s = stacks.enterprise;
    const reads = statementsOf(s, rolePolicy(s, 'plan')).filter((st) => list(st.Action).includes('secretsmanager:GetSecretValue'));
    expect(reads.flatMap((st) => list(st.Resource).map(flatten))).toEqual(['arn:<Ref:AWS::Partition>:secretsmanager:eu-west-1:123456789012:secret:sidekiq/enterprise-acl-??????', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sidekiq/new-redis-auth-MnOpQr']);
    const decrypt = statementsOf(s, rolePolicy(s, 'plan')).find((st) => list(st.Action).includes('kms:Decrypt'))!;
    expect(decrypt.Resource).toBe('arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(decrypt.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } });
  });
});

describe('function environments: where each Redis is, never its password', () => {
  const ALLOWED = /^(SIDEKIQ_MIGRATE_(SOURCE|TARGET)_(URL|PREFIX|SECRET_ARN|SECRET_NAME|TLS_CA_FILE)|NODE_OPTIONS)$/;
  const envOf = (s: Synthesized) =>
    Object.entries(s.stack.migration.functions.functions).map(([name, fn]) => {
      const props = resources(s.template, 'AWS::Lambda::Function')[logicalId(fn, s.stack)]!.Properties;
      return [name, (props['Environment'] as { Variables: Record<string, unknown> }).Variables] as const;
    });

  it.each(Object.keys(stacks) as Case[])('%s: only URLs, prefixes, secret ARNs or names and CA files, which the handlers accept as they are', (name) => {
    for (const [fn, variables] of envOf(stacks[name])) {
      const env: Record<string, string> = {};
      for (const [key, raw] of Object.entries(variables)) {
        expect(key, fn).toMatch(ALLOWED);
        const value = flatten(raw);
        expect(value, `${fn} ${key}`).not.toMatch(/resolve:secretsmanager|SecretString|password/i);
        if (key.endsWith('_SECRET_ARN')) expect(value, `${fn} ${key}`).toMatch(/^(arn:aws:secretsmanager:[^<]+|<Ref:\w+AuthToken\w+>)$/);
        // Tokens of resources created by the stack stand in for what CloudFormation will fill in.
        env[key] = key.endsWith('_SECRET_ARN') && value.startsWith('<') ? 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:created-AbCdEf' : value.replace(/<[^>]+>/g, 'cache.example');
      }
      // Act: the functions' own parser (functions/support/connection-env.ts).
      const parsed = readConnectionEnv(env);
      // Assess
      expect(Object.keys(parsed).sort(), fn).toEqual(fn === 'drainCheck' || !variables['SIDEKIQ_MIGRATE_TARGET_URL'] ? ['SOURCE'] : ['SOURCE', 'TARGET']);
      for (const c of Object.values(parsed)) expect(c.url.password, fn).toBeUndefined();
    }
  });

  it('gives TLS URLs (rediss://) with the ACL user, the port and the prefix as configured', () => {
    const [, plan] = envOf(stacks.enterprise).find(([n]) => n === 'plan')!;
    expect(plan['SIDEKIQ_MIGRATE_SOURCE_URL']).toBe('rediss://sidekiq-migrate@redis-12000.internal.example.com:12000');
    expect(plan['SIDEKIQ_MIGRATE_TARGET_URL']).toBe('rediss://master.gitlab-sidekiq-valkey.def456.euw1.cache.amazonaws.com:6379');
    const [, transferPlan] = envOf(stacks.transfer).find(([n]) => n === 'plan')!;
    expect(transferPlan['SIDEKIQ_MIGRATE_SOURCE_PREFIX']).toBe('resque:gitlab:');
    const [, trialPlan] = envOf(stacks.pinned).find(([n]) => n === 'plan')!;
    expect(flatten(trialPlan['SIDEKIQ_MIGRATE_TARGET_URL'])).toMatch(/^rediss:\/\/<\w+\.PrimaryEndPoint\.Address>:6380$/);
  });
});
