import { randomUUID } from 'node:crypto';
import { LambdaTasks, StateNames, type WorkflowFunctionName } from '../constructs/state-names.js';
import { LOCAL_STATE_MACHINE_NAME } from './local-state-machine-name.js';
import { workflowDefinition } from './workflow-definition.js';

/** What a Task runs in process: the Lambda handlers' logic, given the task's input. */
export type LocalHandlers = Readonly<Record<WorkflowFunctionName, (input: unknown) => Promise<unknown>>>;

export interface LocalExecution {
  readonly executionArn: string;
  /** The execution's output (the summary), or its failure. */
  readonly output?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
  /** The execution it continues, for a continue-as-new execution. */
  readonly continues?: string;
}

/** A state event of a local execution (aws-local-stepfunctions' event log entry). */
export type LocalEvent = { readonly type: string; readonly state?: { readonly name: string } } & Record<string, unknown>;

export interface LocalRunOptions {
  /** Called for every state event (progress, tests counting transitions). */
  readonly onEvent?: (executionArn: string, event: LocalEvent) => void;
  /** Milliseconds to wait between retries instead of the definition's backoff (tests: 0). */
  readonly retryIntervalMs?: number;
  /**
   * Run a deployment's definition (from `cdk synth`'s template) instead of the local one, each
   * Lambda Task calling `invoke` with the function ARN its Resource names (the shipped-bundle
   * test runs the bundles there); `handlers` are then not used.
   */
  readonly deployed?: { readonly definition: Record<string, unknown>; readonly invoke: (functionArn: string, input: unknown) => Promise<unknown> };
}

/** The Task states of a definition whose Resource is a Lambda function's ARN, with that ARN. */
function lambdaTaskResources(definition: Record<string, unknown>): Record<string, string> {
  type S = { Type: string; Resource?: string; ItemProcessor?: { States: Record<string, S> }; Iterator?: { States: Record<string, S> } };
  const found: Record<string, string> = {};
  const walk = (states: Record<string, S>) => {
    for (const [name, s] of Object.entries(states)) {
      if (s.Type === 'Task' && s.Resource && /^arn:aws[a-z-]*:lambda:/.test(s.Resource)) found[name] = s.Resource;
      walk(s.ItemProcessor?.States ?? s.Iterator?.States ?? {});
    }
  };
  walk((definition as { States: Record<string, S> }).States);
  return found;
}

const ARN_PREFIX = `arn:aws:states:us-east-1:123456789012`;

/**
 * Runs the migration state machine exactly as synthesized by CDK (the generated definition,
 * infra/local/migration-workflow.asl.json, kept equal to it by a test), with aws-local-stepfunctions:
 * each Lambda Task calls the corresponding handler in this process, and "Continue in a new
 * execution" starts another local execution of the same definition. Resolves when the execution
 * and every execution it continued in have ended, first execution first.
 */
export async function runWorkflowLocally(input: unknown, handlers: LocalHandlers, options: LocalRunOptions = {}): Promise<LocalExecution[]> {
  // Loaded on first use: only run, move, demo and rollback need the emulator.
  await import('./promise-with-resolvers.js');
  const { StateMachine } = await import('aws-local-stepfunctions');
  // No validation at run time: it compiles the whole ASL JSON schema (~1 s) for a definition that
  // never changes between builds; test/workflow/state-machine-definition.test.ts validates it (and
  // test/infra/shipped-bundles.test.ts runs a deployment's, from cdk synth).
  const definition = options.deployed?.definition ?? workflowDefinition();
  const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });

  type TaskHandler = (input: unknown) => Promise<unknown>;
  const taskHandlers: Record<string, TaskHandler> = {};
  const deployed = options.deployed;
  if (deployed) for (const [state, arn] of Object.entries(lambdaTaskResources(definition))) taskHandlers[state] = (i) => deployed.invoke(arn, i);
  else for (const [state, fn] of Object.entries(LambdaTasks)) taskHandlers[state] = (i) => handlers[fn](i);

  const executions: Promise<LocalExecution>[] = [];
  const start = (executionInput: unknown, continues?: string): string => {
    const executionArn = `${ARN_PREFIX}:execution:${LOCAL_STATE_MACHINE_NAME}:${randomUUID()}`;
    executions.push(execute(executionArn, executionInput, continues));
    return executionArn;
  };
  // StepFunctionsStartExecution (request-response): start, answer at once with the new ARN.
  taskHandlers[StateNames.continueAsNew] = (parameters) => {
    const { Input } = parameters as { Input: { continuation: { from?: string } } };
    const executionArn = start(Input, Input.continuation.from);
    return Promise.resolve({ ExecutionArn: executionArn, StartDate: new Date().toISOString() });
  };

  const retryIntervalOverrides: Record<string, number> = {};
  if (options.retryIntervalMs !== undefined) for (const state of Object.keys(taskHandlers)) retryIntervalOverrides[state] = options.retryIntervalMs;

  async function execute(executionArn: string, executionInput: unknown, continues?: string): Promise<LocalExecution> {
    const run = machine.run(executionInput as never, {
      overrides: { taskResourceLocalHandlers: taskHandlers as never, retryIntervalOverrides },
      context: {
        Execution: { Id: executionArn, Name: executionArn.split(':').pop()!, Input: executionInput as never, StartTime: new Date().toISOString() },
        StateMachine: { Id: `${ARN_PREFIX}:stateMachine:${LOCAL_STATE_MACHINE_NAME}`, Name: LOCAL_STATE_MACHINE_NAME },
      } as never,
    });
    const events = options.onEvent
      ? (async () => {
          for await (const event of run.eventLogs) options.onEvent!(executionArn, event as unknown as LocalEvent);
        })()
      : Promise.resolve();
    try {
      const output = await run.result;
      await events;
      return { executionArn, output, ...(continues ? { continues } : {}) };
    } catch (error) {
      await events.catch(() => {});
      const e = error as Error & { getCause?: () => { name?: string; message?: string } };
      // aws-local-stepfunctions 3 gives the failing state's error (named by the Fail state) as `cause`.
      const cause = e.getCause?.() ?? (e.cause instanceof Error ? e.cause : e);
      return { executionArn, error: { name: cause.name ?? 'Error', message: cause.message ?? String(error) }, ...(continues ? { continues } : {}) };
    }
  }

  start(input);
  const finished: LocalExecution[] = [];
  // Executions may start more executions while they run: wait until none is left.
  for (let i = 0; i < executions.length; i++) finished.push(await executions[i]!);
  return finished;
}
