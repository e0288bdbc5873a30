import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDeploymentConfig } from '../../infra/stacks/deployment-config.js';
import { TEST_CA_FILE } from '../support/redis-server.js';
import { exampleConfig, flatten, logicalId, resources, synthesize } from './support/stacks.js';

/**
 * What a review of the synthesized template found, each checked on the template `cdk synth`
 * writes for the transfer example (and, for secrets and CAs, configurations made for it).
 */
const transfer = synthesize(exampleConfig('elasticache-transfer'));

interface State {
  readonly Type: string;
  readonly Resource?: string;
  readonly Retry?: { ErrorEquals: string[]; MaxAttempts?: number; IntervalSeconds?: number; BackoffRate?: number }[];
  readonly ItemProcessor?: { States: Record<string, State> };
  readonly Iterator?: { States: Record<string, State> };
  readonly Branches?: { States: Record<string, State> }[];
}

/** Every state of a definition, nested Map and Parallel states included, by name. */
function allStates(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, s]) => [
    [name, s] as [string, State],
    ...allStates(s.ItemProcessor?.States ?? s.Iterator?.States ?? {}),
    ...(s.Branches ?? []).flatMap((b) => allStates(b.States)),
  ]);
}

const definition = JSON.parse(flatten(Object.values(resources(transfer.template, 'AWS::StepFunctions::StateMachine'))[0]!.Properties['DefinitionString'])) as { States: Record<string, State> };
const tasks = allStates(definition.States).filter(([, s]) => s.Type === 'Task');

describe('the state machine retries what was refused before it ran', () => {
  it('retries Lambda.TooManyRequestsException on every Lambda Task, with backoff', () => {
    const lambdaTasks = tasks.filter(([, s]) => /:lambda:|<\w+\.Arn>/.test(s.Resource ?? ''));
    expect(lambdaTasks.length).toBeGreaterThanOrEqual(7);
    for (const [name, task] of lambdaTasks) {
      const retry = task.Retry?.find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'));
      expect(retry, name).toMatchObject({ MaxAttempts: 8, BackoffRate: 2 });
    }
  });

  it('retries a start of a continuation execution refused or whose answer was lost (it is named: a retry cannot start a second), never one a retry cannot mend, and catches what still fails', () => {
    // An item's continuation, and the rest of a long list's.
    const starts = tasks.filter(([, s]) => (s.Resource ?? '').endsWith(':states:::states:startExecution'));
    expect(starts).toHaveLength(2);
    for (const [name, start] of starts) {
      // Named by the task that decided to continue: the same name on every attempt.
      expect(Object.keys((start as { Parameters?: object }).Parameters ?? {}), name).toContain('Name.$');
      expect(start.Retry, name).toEqual([
        // First: what a retry cannot mend (the name taken, invalid parameters) is never retried.
        expect.objectContaining({ ErrorEquals: expect.arrayContaining(['StepFunctions.ExecutionAlreadyExists', 'StepFunctions.ExecutionAlreadyExistsException', 'StepFunctions.InvalidName', 'StepFunctions.InvalidExecutionInput', 'States.Permissions']), MaxAttempts: 0 }),
        expect.objectContaining({
          ErrorEquals: ['StepFunctions.ThrottlingException', 'StepFunctions.ExecutionLimitExceeded', 'StepFunctions.ExecutionLimitExceededException', 'StepFunctions.AWSStepFunctionsException', 'StepFunctions.SdkClientException', 'States.TaskFailed'],
          MaxAttempts: 8,
          BackoffRate: 2,
        }),
      ]);
      // The name taken first (the continuation an earlier attempt started, ended since), then the rest.
      expect((start as { Catch?: { ErrorEquals: string[] }[] }).Catch?.map((c) => c.ErrorEquals), name).toEqual([['StepFunctions.ExecutionAlreadyExists', 'StepFunctions.ExecutionAlreadyExistsException'], ['States.ALL']]);
      const startedEarlier = allStates(definition.States).find(([n]) => n === (start as unknown as { Catch: { Next: string }[] }).Catch[0]!.Next)![1] as State & { Parameters: Record<string, string> };
      // The execution of that name, on this deployment's state machine (partition, region and account its own).
      expect(startedEarlier.Type, name).toBe('Pass');
      const started = (start as unknown as { Parameters: Record<string, string> }).Parameters;
      expect(started['StateMachineArn'], name).toMatch(/^arn:<Ref:AWS::Partition>:states:eu-west-1:123456789012:stateMachine:sidekiq-migrate$/);
      expect(startedEarlier.Parameters['executionArn.$'], name).toBe(`States.Format('${started['StateMachineArn']!.replace(':stateMachine:', ':execution:')}:{}', ${started['Name.$']})`);
    }
  });
});

describe("the state machine's log group", () => {
  it('is named under /aws/vendedlogs/states/ (no CloudWatch Logs resource policy per log group), and is the one the state machine logs to', () => {
    const machine = Object.values(resources(transfer.template, 'AWS::StepFunctions::StateMachine'))[0]!;
    const destination = (machine.Properties['LoggingConfiguration'] as { Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }[] }).Destinations[0]!;
    const [logGroupId] = destination.CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'];
    expect(resources(transfer.template, 'AWS::Logs::LogGroup')[logGroupId]!.Properties['LogGroupName']).toBe('/aws/vendedlogs/states/sidekiq-migrate');
  });
});

describe('secrets: a complete ARN or a name, said explicitly', () => {
  const withSecret = (secret: Record<string, string>) =>
    synthesize({ ...exampleConfig('elasticache-transfer'), source: { ...(exampleConfig('elasticache-transfer')['source'] as object), secretArn: undefined, ...secret } });
  const readsOf = (s: ReturnType<typeof synthesize>) =>
    Object.entries(resources(s.template, 'AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith(logicalId(s.stack.migration.functions.node.findChild('planRole') as never, s.stack).replace(/[0-9A-F]{8}$/, '')))
      .flatMap(([, p]) => (p.Properties['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement)
      .filter((st) => [st.Action].flat().includes('secretsmanager:GetSecretValue'))
      .flatMap((st) => [st.Resource].flat().map(flatten));
  const planEnv = (s: ReturnType<typeof synthesize>) =>
    (resources(s.template, 'AWS::Lambda::Function')[logicalId(s.stack.migration.functions.functions.plan, s.stack)]!.Properties['Environment'] as { Variables: Record<string, string> }).Variables;

  it('grants a secret named like "sidekiq/redis-source" as NAME-?????? and gives the function its name', () => {
    const named = withSecret({ secretName: 'sidekiq/redis-source' });

    expect(readsOf(named)).toContain('arn:<Ref:AWS::Partition>:secretsmanager:eu-west-1:123456789012:secret:sidekiq/redis-source-??????');
    expect(planEnv(named)['SIDEKIQ_MIGRATE_SOURCE_SECRET_NAME']).toBe('sidekiq/redis-source');
    expect(planEnv(named)['SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN']).toBeUndefined();
  });

  it('grants a complete ARN exactly and gives the function that ARN', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sidekiq/redis-source-AbCdEf';
    const complete = withSecret({ secretArn: arn });

    expect(readsOf(complete)).toContain(arn);
    expect(planEnv(complete)['SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN']).toBe(arn);
  });

  it('refuses an ARN without the 6-character suffix, and both forms at once, saying which to give', () => {
    // (An ARN of a name like "sidekiq/redis-source" looks complete: hence secretName, said explicitly.)
    const base = exampleConfig('elasticache-transfer');
    const source = base['source'] as Record<string, unknown>;
    expect(() => parseDeploymentConfig({ ...base, source: { ...source, secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sidekiq/enterprise-acl' } })).toThrow(
      /source\.secretArn: must be a Secrets Manager secret's complete ARN, .* for a secret known by its name, give secretName/,
    );
    expect(() => parseDeploymentConfig({ ...base, source: { ...source, secretName: 'sidekiq/redis-source' } })).toThrow(
      /source\.secretName: give the secret by secretArn \(its complete ARN\) or by secretName, not both/,
    );
  });
});

describe('a private CA for TLS (tlsCaFile)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ca-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('points each function of the connection at the CA bundled with it', () => {
    const base = exampleConfig('enterprise-to-elasticache');
    const s = synthesize({ ...base, source: { ...(base['source'] as object), tlsCaFile: TEST_CA_FILE } });
    for (const [name, fn] of Object.entries(s.stack.migration.functions.functions)) {
      const env = (resources(s.template, 'AWS::Lambda::Function')[logicalId(fn, s.stack)]!.Properties['Environment'] as { Variables: Record<string, string> }).Variables;
      expect(env['SIDEKIQ_MIGRATE_SOURCE_TLS_CA_FILE'], name).toBe('tls/source-ca.pem');
      expect(env['SIDEKIQ_MIGRATE_TARGET_TLS_CA_FILE'], name).toBeUndefined();
    }
  });

  it('refuses, at synth, a CA file that is missing or holds no certificate, and a CA without TLS', () => {
    const base = exampleConfig('enterprise-to-elasticache');
    const notPem = join(dir, 'not-a-cert.pem');
    writeFileSync(notPem, 'hello\n');
    expect(() => synthesize({ ...base, source: { ...(base['source'] as object), tlsCaFile: join(dir, 'missing.pem') } })).toThrow(/source: the TLS CA file .*missing\.pem cannot be read/);
    expect(() => synthesize({ ...base, source: { ...(base['source'] as object), tlsCaFile: notPem } })).toThrow(/source: the TLS CA file .*not-a-cert\.pem holds no PEM certificate/);
    expect(() => parseDeploymentConfig({ ...base, source: { ...(base['source'] as object), tls: false, tlsCaFile: notPem } })).toThrow(/source\.tlsCaFile: a CA file is for TLS: not with tls false/);
  });

  // What the CLI's --tls-ca takes (cli/workflow/connect-options.ts), the deployment takes: the
  // functions' TLS is Node's as the CLI's is. A CA in OpenSSL's trusted form was refused here (Node
  // trusts it), and a certificate damaged or cut short beside a good one went into the bundle
  // without a word (the functions' TLS then trusts less than the file says; the CLI refuses it).
  it("takes a CA in OpenSSL's trusted form, and refuses a damaged or cut-short certificate beside a good one, as the CLI does", () => {
    const base = exampleConfig('enterprise-to-elasticache');
    const pem = readFileSync(TEST_CA_FILE, 'utf8');
    const der = Buffer.concat([new X509Certificate(pem).raw, Buffer.from([0x30, 0x00])]);
    const trusted = join(dir, 'trusted.pem');
    writeFileSync(trusted, `-----BEGIN TRUSTED CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END TRUSTED CERTIFICATE-----\n`);
    const damaged = join(dir, 'damaged.pem');
    writeFileSync(damaged, `${pem}-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n`);
    const cut = join(dir, 'cut.pem');
    writeFileSync(cut, `${pem}${pem.trimEnd().split('\n').slice(0, -1).join('\n')}\n`);

    expect(() => synthesize({ ...base, source: { ...(base['source'] as object), tlsCaFile: trusted } })).not.toThrow();
    expect(() => synthesize({ ...base, source: { ...(base['source'] as object), tlsCaFile: damaged } })).toThrow(/^source: the TLS CA file .*damaged\.pem: certificate 2 of the file is not readable$/);
    expect(() => synthesize({ ...base, target: { ...(base['target'] as object), tlsCaFile: cut } })).toThrow(/^target: the TLS CA file .*cut\.pem: certificate 2 of the file is not readable$/);
  });

  // A byte order mark (U+FEFF) before a certificate: the functions read the file as the CLI reads
  // --tls-ca (core/config/read-input-file.ts: one at the start of the file stripped), and what Node's
  // TLS then leaves out (a mark anywhere but at the start of the file or on the line right after the
  // certificate before it) is refused here as the CLI refuses it (cli-credentials-tls.test.ts).
  it('takes a CA file with a byte order mark, and refuses a certificate Node would leave out for one, as the CLI does', () => {
    const base = exampleConfig('enterprise-to-elasticache');
    const pem = readFileSync(TEST_CA_FILE, 'utf8');
    const bom = join(dir, 'bom.pem');
    writeFileSync(bom, `\uFEFF${pem}\uFEFF${pem}`);
    const afterBlank = join(dir, 'bom-after-blank.pem');
    writeFileSync(afterBlank, `${pem}\n\uFEFF${pem}`);

    expect(() => synthesize({ ...base, source: { ...(base['source'] as object), tlsCaFile: bom } })).not.toThrow();
    expect(() => synthesize({ ...base, source: { ...(base['source'] as object), tlsCaFile: afterBlank } })).toThrow(
      /^source: the TLS CA file .*bom-after-blank\.pem: certificate 2 of the file has text before -----BEGIN on its line \(a byte order mark, U\+FEFF, counts too, but at the start of the file or of the line after the certificate before it\): Node's TLS leaves such a certificate out without a word; remove that text$/,
    );
  });
});
