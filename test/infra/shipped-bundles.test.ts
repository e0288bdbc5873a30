import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LambdaTasks } from '../../infra/constructs/state-names.js';
import { extractDefinition } from '../../infra/local/extract-definition.js';
import { synthesizeLocalWorkflow } from '../../infra/local/local-workflow-stack.js';
import { runWorkflowLocally, type LocalExecution } from '../../infra/local/run-workflow-locally.js';
import { REPO_ROOT } from '../../infra/constructs/migration-functions.js';
import { TEST_CA_FILE, type RedisServerHandle, startRedisServers } from '../support/redis-server.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { deployedDefinition, resolveIntrinsics, synthesizeApp, taskStates, templateFunctions, type CloudAssembly, type TemplateFunction } from './support/cdk-out.js';
import { startFakeSecretsManager, type FakeSecretsManager } from './support/fake-secrets-manager.js';
import { node22Binary, Node22Lambdas } from './support/node22-lambdas.js';
import { exampleConfig } from './support/stacks.js';

/**
 * What `cdk deploy` ships, run as shipped: the CDK app synthesizes the deployment stack (the
 * Redis Enterprise → ElastiCache example, a private CA for each side) to a temporary cdk.out; its
 * state machine definition runs in aws-local-stepfunctions, each Lambda Task invoking the asset
 * bundle of the function its Resource names, in a warm Node 22 container (test/runtime/node22)
 * with the environment the template gives that function. The runtime's AWS SDK v3 is the only
 * package the bundles find (they leave @aws-sdk/* to the runtime); Secrets Manager is a fake on
 * loopback; both Redis servers are real, with TLS from the test CA.
 */

const SOURCE_USER = 'sidekiq-migrate'; // the example names this ACL user in the source URL
const SOURCE_PASSWORD = 'enterprise-pw-Hq27Xc';
const TARGET_TOKEN = 'elasticache-token-Vd81Pz';

let work: string;
let assembly: CloudAssembly;
let functions: Map<string, TemplateFunction>;
let definition: Record<string, unknown>;
let lambdas: Node22Lambdas;
let secretsManager: FakeSecretsManager;
let sourceServer: RedisServerHandle;
let targetServer: RedisServerHandle;
let source: Redis;
let target: Redis;

beforeAll(async () => {
  node22Binary(); // fails at once, naming the install command, when Node 22 is missing
  work = mkdtempSync(join(tmpdir(), 'shipped-bundles-'));
  // The deployment configuration: the example as documented, with the PEM of each side's CA.
  const example = exampleConfig('enterprise-to-elasticache');
  const config = { ...example, source: { ...(example['source'] as object), tlsCaFile: TEST_CA_FILE }, target: { ...(example['target'] as object), tlsCaFile: TEST_CA_FILE } };
  const configFile = join(work, 'deployment.json');
  writeFileSync(configFile, JSON.stringify(config));
  // What the nodejs22.x runtime provides beside /var/task: the AWS SDK v3, and nothing else.
  mkdirSync(join(work, 'node_modules'));
  symlinkSync(join(REPO_ROOT, 'node_modules', '@aws-sdk'), join(work, 'node_modules', '@aws-sdk'));

  assembly = synthesizeApp(configFile, join(work, 'cdk.out'));
  functions = templateFunctions(assembly);
  definition = deployedDefinition(assembly);

  [sourceServer, targetServer] = (await startRedisServers(
    { args: ['--user', SOURCE_USER, 'on', `>${SOURCE_PASSWORD}`, '~*', '&*', '+@all', '--user', 'default', 'off'], tls: true },
    { args: ['--requirepass', TARGET_TOKEN], tls: true },
  )) as [RedisServerHandle, RedisServerHandle];
  const tls = { ca: readFileSync(TEST_CA_FILE, 'utf8') };
  source = new Redis({ port: sourceServer.port, host: '127.0.0.1', username: SOURCE_USER, password: SOURCE_PASSWORD, tls, protocol: 2 });
  target = new Redis({ port: targetServer.port, host: '127.0.0.1', password: TARGET_TOKEN, tls, protocol: 2 });

  // The secrets as the example names them: the source's by name, the target's by complete ARN.
  const sourceSecret = (example['source'] as { secretName: string }).secretName;
  const targetSecret = (example['target'] as { secretArn: string }).secretArn;
  secretsManager = await startFakeSecretsManager({ [sourceSecret]: JSON.stringify({ username: SOURCE_USER, password: SOURCE_PASSWORD }), [targetSecret]: TARGET_TOKEN });

  const ports: Record<string, number> = { SOURCE: sourceServer.port, TARGET: targetServer.port };
  lambdas = new Node22Lambdas(
    functions,
    {
      region: assembly.region,
      extra: { AWS_ACCESS_KEY_ID: 'AKIAFAKEFORTESTS0000', AWS_SECRET_ACCESS_KEY: 'fake', AWS_SESSION_TOKEN: 'fake', AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url, POWERTOOLS_LOG_LEVEL: 'WARN' },
    },
    // The template's environment, with each Redis host:port pointed at its stand-in on loopback.
    (fn) => Object.fromEntries(Object.entries(fn.environment).map(([k, v]) => [k, /^SIDEKIQ_MIGRATE_(\w+)_URL$/.test(k) ? v.replace(/@?[^@/]+:\d+$/, (m) => `${m.startsWith('@') ? '@' : ''}127.0.0.1:${ports[k.split('_')[2]!]}`) : v])),
  );
}, 600_000);

afterAll(async () => {
  await lambdas?.close();
  source?.disconnect();
  target?.disconnect();
  await Promise.all([sourceServer?.stop(), targetServer?.stop(), secretsManager?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all([source.flushall(), target.flushall()]);
});

/** Each test runs whole executions through Node 22 processes: generous under a loaded machine. */
const TEST_TIMEOUT_MS = 180_000;

const run = (input: unknown): Promise<LocalExecution[]> =>
  runWorkflowLocally(input, {} as never, { retryIntervalMs: 0, deployed: { definition, invoke: (arn, i) => lambdas.invoke(arn, i) } });

const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i},"x",{"n":1.0}]` });

/** Every job on a Redis (key, bytes, score), sorted: the multiset to compare. */
async function jobsOn(redis: Redis): Promise<string[]> {
  return (await allJobs(redis, '')).filter((j) => !j.key.startsWith('sidekiq-migrate')).map((j) => JSON.stringify([j.key, j.payload, j.score ?? null])).sort();
}

async function seedSource(queued: Record<string, string[]>, retry: [number, string][]): Promise<void> {
  for (const [queue, payloads] of Object.entries(queued)) {
    await source.rpush(`queue:${queue}`, ...payloads);
    await source.sadd('queues', queue);
  }
  for (const [score, payload] of retry) await source.zadd('retry', score, payload);
}

function expectAllSucceeded(executions: LocalExecution[]): void {
  for (const e of executions) expect(e.error, `${e.executionArn}: ${JSON.stringify(e.error)}`).toBeUndefined();
}

describe('the shipped bundles, run as deployed (Node 22, the template’s environment, real Redis over TLS with a private CA)', () => {
  it('synthesizes one nodejs22.x bundle per function, and runs them on Node 22', async () => {
    expect([...functions.values()].map((f) => f.runtime)).toEqual([...functions.values()].map(() => 'nodejs22.x'));
    const plan = [...functions.values()].find((f) => Object.keys(f.environment).includes('SIDEKIQ_MIGRATE_TARGET_URL'))!;
    expect(plan.environment['SIDEKIQ_MIGRATE_SOURCE_TLS_CA_FILE']).toBe('tls/source-ca.pem');
    expect(readFileSync(join(plan.codeDirectory, 'tls', 'source-ca.pem'), 'utf8')).toBe(readFileSync(TEST_CA_FILE, 'utf8'));
  }, TEST_TIMEOUT_MS);

  it('re-routes: every job of a retired queue moves to its new queue, bytes kept but the queue name, set entries rewritten in place', async () => {
    const old = Array.from({ length: 45 }, (_, i) => job('Mapped::Worker', 'old_queue', i));
    const kept = Array.from({ length: 5 }, (_, i) => job('Other::Worker', 'other', i));
    const retries: [number, string][] = Array.from({ length: 12 }, (_, i) => [1795459303 + i, job('Mapped::Worker', 'old_queue', 100 + i)]);
    await seedSource({ old_queue: old, other: kept }, retries);

    const executions = await run({ runId: 'shipped-reroute', mode: 'reroute', routing: { kind: 'mapping', mapping: { 'Mapped::Worker': 'new_queue' } }, pageSize: 10 });

    expectAllSucceeded(executions);
    expect(executions[0]!.output).toMatchObject({ complete: true });
    const renamed = (p: string) => p.replace('"queue":"old_queue"', '"queue":"new_queue"');
    expect(await jobsOn(source)).toEqual(
      [
        ...old.map((p) => JSON.stringify(['queue:new_queue', renamed(p), null])),
        ...kept.map((p) => JSON.stringify(['queue:other', p, null])),
        ...retries.map(([s, p]) => JSON.stringify(['retry', renamed(p), String(s)])),
      ].sort(),
    );
    expect(await source.exists('sidekiq-migrate:lock')).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('transfers: every job to the target, byte for byte with its score, the source left empty; secrets read by name and by ARN', async () => {
    const queued = Array.from({ length: 40 }, (_, i) => job('A::Worker', 'default', i));
    const mailers = Array.from({ length: 7 }, (_, i) => job('Mailer', 'mailers', i));
    const retries: [number, string][] = Array.from({ length: 15 }, (_, i) => [1795459303 + i, job('A::Worker', 'default', 200 + i)]);
    await seedSource({ default: queued, mailers }, retries);
    const before = await jobsOn(source);

    const executions = await run({ runId: 'shipped-transfer', mode: 'transfer', target: 'target', pageSize: 10 });

    expectAllSucceeded(executions);
    expect(executions[0]!.output).toMatchObject({ mode: 'transfer', complete: true });
    expect(await jobsOn(target)).toEqual(before);
    expect(await jobsOn(source)).toEqual([]);
    expect(new Set(secretsManager.calls)).toEqual(new Set(['sidekiq/enterprise-acl', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sidekiq/new-redis-auth-MnOpQr']));
  }, TEST_TIMEOUT_MS);

  it('a selective transfer (as `start --classes-file` builds it) carries only the selected class, re-routed, across continuations; the rest stays', async () => {
    // Interleaved on one shared queue and in retry: the moving class and a staying one.
    const queued = Array.from({ length: 24 }, (_, i) => job(i % 2 === 0 ? 'Moving::Worker' : 'Staying::Worker', 'default', i));
    const retries: [number, string][] = Array.from({ length: 6 }, (_, i) => [1795459303 + i, job(i % 2 === 0 ? 'Moving::Worker' : 'Staying::Worker', 'default', 300 + i)]);
    await seedSource({ default: queued }, retries);
    const moving = (p: string) => p.includes('"Moving::Worker"');
    const routed = (p: string) => p.replace('"queue":"default"', '"queue":"shard_default"');

    const executions = await run({
      runId: 'shipped-selective',
      mode: 'transfer',
      target: 'target',
      routing: { kind: 'mapping', mapping: { 'Moving::Worker': 'shard_default' }, liveQueues: [] },
      classes: ['Moving::Worker'],
      sets: ['retry'],
      pageSize: 4,
      pagesPerInvocation: 1,
      maxIterations: 2,
    });

    expectAllSucceeded(executions);
    expect(executions.length).toBeGreaterThan(1); // the continued executions read the stored selection too
    expect(await jobsOn(target)).toEqual(
      [...queued.filter(moving).map((p) => JSON.stringify(['queue:shard_default', routed(p), null])), ...retries.filter(([, p]) => moving(p)).map(([sc, p]) => JSON.stringify(['retry', routed(p), String(sc)]))].sort(),
    );
    expect(await jobsOn(source)).toEqual(
      [...queued.filter((p) => !moving(p)).map((p) => JSON.stringify(['queue:default', p, null])), ...retries.filter(([, p]) => !moving(p)).map(([sc, p]) => JSON.stringify(['retry', p, String(sc)]))].sort(),
    );
    expect(await source.exists('sidekiq-migrate:lock')).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('continues in new executions when an item needs more loops than maxIterations, and the continuations complete it', async () => {
    const old = Array.from({ length: 30 }, (_, i) => job('Mapped::Worker', 'old_queue', i));
    await seedSource({ old_queue: old }, []);

    const executions = await run({
      runId: 'shipped-continued',
      mode: 'reroute',
      routing: { kind: 'mapping', mapping: { 'Mapped::Worker': 'new_queue' } },
      sets: [],
      pageSize: 5,
      pagesPerInvocation: 1,
      maxIterations: 2,
    });

    expectAllSucceeded(executions);
    expect(executions.length).toBeGreaterThan(1);
    expect(executions.slice(1).every((e) => e.continues !== undefined)).toBe(true);
    expect(await jobsOn(source)).toEqual(old.map((p) => JSON.stringify(['queue:new_queue', p.replace('"queue":"old_queue"', '"queue":"new_queue"'), null])).sort());
    expect(await source.exists('sidekiq-migrate:lock')).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('delivers to the execution-ended function exactly the ends its EventBridge rule matches, which release a stopped run’s lock', async () => {
    // The rule on this machine's executions, and the function it targets.
    const rules = Object.values(assembly.resources).filter((r) => r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties['EventPattern'] ?? {}).includes('"aws.states"'));
    expect(rules).toHaveLength(1);
    const targets = (rules[0]!.Properties['Targets'] as { Arn: unknown }[]).map((t) => functions.get(resolveIntrinsics(t.Arn, assembly)));
    expect(targets.map((t) => t && bundleEntry(t))).toEqual(['execution-ended.ts']);
    const ended = targets[0]!;
    const rule = rules[0]!;
    const pattern = JSON.parse(JSON.stringify(rule.Properties['EventPattern'], (_k, v: unknown) => (isIntrinsic(v) ? resolveIntrinsics(v, assembly) : v))) as Pattern;
    const machineArn = `arn:aws:states:${assembly.region}:${assembly.account}:stateMachine:sidekiq-migrate-re`;
    const input = { runId: 'shipped-stopped', mode: 'reroute', routing: { kind: 'renames', renames: { a: 'b' } } };
    // A run holds its lock, as when its execution was stopped mid-way.
    const { StartAt, States } = definition as { StartAt: string; States: Record<string, { Resource: string }> };
    await lambdas.invoke(States[StartAt]!.Resource, input);
    expect(await source.exists('sidekiq-migrate:lock')).toBe(1);
    const endedAt = Date.now() + 1_000; // the execution ended after its plan took the lock
    const event = (status: string, stateMachineArn = machineArn) => ({
      version: '0',
      id: `${status}-event`,
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: assembly.account,
      region: assembly.region,
      detail: { executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:shipped-stopped`, stateMachineArn, status, stopDate: endedAt, input: JSON.stringify(input), inputDetails: { included: true } },
    });
    const events = [event('RUNNING'), event('SUCCEEDED'), event('ABORTED', `${machineArn}-other`), event('ABORTED')];

    const delivered = events.filter((e) => matches(pattern, e));
    const outputs = [];
    for (const e of delivered) outputs.push(await lambdas.invoke(ended.arn, e));

    expect(delivered.map((e) => e.id)).toEqual(['ABORTED-event']);
    expect(outputs).toEqual([expect.objectContaining({ status: 'ABORTED', action: 'stop', released: true })]);
    expect(await source.exists('sidekiq-migrate:lock')).toBe(0);
    // FAILED and TIMED_OUT ends reach it too; a success or another machine's execution does not.
    expect(['FAILED', 'TIMED_OUT'].map((s) => matches(pattern, event(s)))).toEqual([true, true]);
  }, TEST_TIMEOUT_MS);
});

describe('the deployed wiring, Task by Task', () => {
  it('each Lambda Task of the deployment calls the function whose bundle is that Task’s handler in the local definition', () => {
    const local = extractDefinition(synthesizeLocalWorkflow().workflow.stateMachine);
    const deployedTasks = taskStates(definition).filter((t) => t.Resource?.includes(':lambda:'));
    const localTasks = taskStates(local).filter((t) => t.Resource?.includes(':lambda:'));
    expect(deployedTasks.map((t) => t.name).sort()).toEqual(localTasks.map((t) => t.name).sort());

    // Each handler's entry file, named after the handler the local runner runs for that Task
    // (rerouteQueueSlice → functions/reroute-queue-slice.ts), found in the bundle's source map.
    const calls = deployedTasks.map((t) => [t.name, bundleEntry(functions.get(t.Resource!)!)]);
    const expected = deployedTasks.map((t) => [t.name, `${kebab(LambdaTasks[t.name as keyof typeof LambdaTasks])}.ts`]);
    expect(calls).toEqual(expected);
    // One bundle per handler ("Add up…" and "Summarize" both run the summarize function).
    expect(new Set(calls.map(([, entry]) => entry)).size).toBe(new Set(Object.values(LambdaTasks)).size);
  }, TEST_TIMEOUT_MS);
});

/** The one functions/*.ts entry a bundle was built from (its source map's sources). */
function bundleEntry(fn: TemplateFunction): string {
  const map = JSON.parse(readFileSync(join(fn.codeDirectory, 'index.mjs.map'), 'utf8')) as { sources: string[] };
  const entries = map.sources.filter((s) => /(^|\/)functions\/[^/]+\.ts$/.test(s));
  if (entries.length !== 1) throw new Error(`${fn.logicalId}: expected one entry in functions/, found ${entries.join(', ') || 'none'}`);
  return basename(entries[0]!);
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

type Pattern = { [key: string]: Pattern | (string | number | boolean)[] };

function isIntrinsic(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && /^(Ref|Fn::)/.test(Object.keys(v)[0]!);
}

/**
 * EventBridge's matching for the patterns this stack writes: every field of the pattern must be
 * in the event, a list matches when the event's value is one of its (exact) values, an object
 * matches the event's object field by field. Content filters are not modelled: refused.
 */
function matches(pattern: Pattern, event: unknown): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = (event as Record<string, unknown> | undefined)?.[key];
    if (Array.isArray(expected)) {
      for (const v of expected) if (typeof v === 'object') throw new Error(`content filter ${JSON.stringify(v)} is not modelled`);
      return expected.includes(actual as never);
    }
    return typeof actual === 'object' && actual !== null && matches(expected, actual);
  });
}
