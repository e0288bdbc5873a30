import { randomUUID } from 'node:crypto';
import { WORKFLOW_FUNCTION_TIMEOUT_SECONDS } from '../constructs/function-timeouts.js';
import { LambdaTasks, StateNames, type WorkflowFunctionName } from '../constructs/state-names.js';
import { QuotaErrors } from './aws-quotas.js';
import { executionStatusChange, LOCAL_ARN_PREFIX } from './execution-status-change.js';
import { LOCAL_STATE_MACHINE_NAME } from './local-state-machine-name.js';
import { interceptChildRuns, type EmulatorRun } from './distributed-map-children.js';
import { payloadViolation, QuotaEnforcement, QuotaExceededError, type QuotaUsage } from './quota-enforcement.js';
import { WarmContainers, type LocalInvocationContext } from './warm-containers.js';
import { workflowDefinition } from './workflow-definition.js';

/** What a Task runs in process: the Lambda handlers' logic, given the task's input. */
export type LocalHandlers = Readonly<Record<WorkflowFunctionName, (input: unknown, context?: LocalInvocationContext) => Promise<unknown>>>;
export type { LocalInvocationContext };

export interface LocalExecution {
  readonly executionArn: string;
  /**
   * How it ended, as Step Functions says: TIMED_OUT past its state machine's TimeoutSeconds (the
   * shipped definition sets none). Never ABORTED: nothing calls StopExecution on a local execution
   * (Ctrl-C stops the run by its stop marker, as `stop`'s clean-up does on AWS, and the
   * executions end as that makes them end).
   */
  readonly status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  /** The execution's output (the summary), or its failure. */
  readonly output?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
  /** The execution it continues, for a continue-as-new execution. */
  readonly continues?: string;
  /** What it used of Step Functions' quotas (history events, state sizes). */
  readonly usage?: QuotaUsage;
  /**
   * A failed execution's clean-up (`executionEnded`, as the execution-ended rule runs it on AWS):
   * what it returned, or what it failed with (on AWS the event would go to the dead-letter queue
   * and the lock expire on its own).
   */
  readonly cleanUp?: { readonly output: unknown } | { readonly error: { readonly name: string; readonly message: string } };
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
   * test runs the bundles there, each in warm containers with its template timeout); `handlers`
   * are then not used. The Step Functions quotas apply the same.
   */
  readonly deployed?: { readonly definition: Record<string, unknown>; readonly invoke: (functionArn: string, input: unknown) => Promise<unknown> };
  /**
   * A new warm container of a function: its own handler (a fresh module instance, say). Without
   * it every container of a function runs `handlers[name]`; either way a container serves one
   * invocation at a time, as Lambda does.
   */
  readonly newContainer?: (name: WorkflowFunctionName) => (input: unknown, context?: LocalInvocationContext) => Promise<unknown>;
  /** Milliseconds each function may run, instead of the deployed timeout (tests). */
  readonly functionTimeoutMs?: Partial<Record<WorkflowFunctionName, number>>;
  /**
   * The execution-ended rule's target: called with the "Step Functions Execution Status Change"
   * event of each execution that failed (the root or a continuation), once it has ended and before
   * the run resolves, as the rule invokes the execution-ended function on AWS. It stops the run
   * and releases its lock where no Catch did (a state over 256 KiB, a history over 25,000 events).
   */
  readonly executionEnded?: (event: Record<string, unknown>) => Promise<unknown>;
  /**
   * The local definition changed (tests: given an execution timeout, which the shipped one does
   * not set), its Tasks still calling `handlers`. Without it, the generated definition.
   */
  readonly definition?: Record<string, unknown>;
  /**
   * Fault injection (tests): asked at each StartExecution a continuation state makes (every
   * attempt, retries included). `before`: the call fails with `error` and starts nothing (a
   * refusal, an outage); `after`: the execution starts (as Step Functions would start it) and the
   * call fails with `error` all the same (its answer lost on the way back); `afterItEnded`: as
   * `after`, and the call fails only once the execution it started has ended (the retry, after its
   * backoff, finds the name taken by an execution that ended). Undefined: the call goes through.
   */
  readonly startExecutionFault?: (call: StartExecutionCall) => StartExecutionFault | undefined;
}

/** A StartExecution a continuation state makes (LocalRunOptions.startExecutionFault). */
export interface StartExecutionCall {
  readonly state: string;
  /** The execution name it asks for; undefined: Step Functions would pick one. */
  readonly name?: string;
  /** Calls of this state with this name so far, this one included (1: the first attempt). */
  readonly attempt: number;
}

export interface StartExecutionFault {
  readonly when: 'before' | 'after' | 'afterItEnded';
  readonly error: { readonly name: string; readonly message: string };
}

/**
 * What StartExecution enforces of an execution's name: 1 to 80 characters, none of whitespace,
 * brackets, wildcards, `"#%\^|~`$&,;:/`, or control characters (the API reference's rules).
 */
const INVALID_EXECUTION_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

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

type DistributedMapState = { Type: string; ItemProcessor?: { ProcessorConfig?: { Mode?: string }; States: Record<string, unknown> } };

/** The Distributed Map states of a definition: each of their items runs as a child execution. */
function distributedMapStates(definition: Record<string, unknown>): Map<string, DistributedMapState & { ItemProcessor: object & { States: Record<string, unknown> } }> {
  const states = (definition as { States: Record<string, DistributedMapState> }).States;
  return new Map(Object.entries(states).filter(([, s]) => s.Type === 'Map' && s.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') as [string, DistributedMapState & { ItemProcessor: object & { States: Record<string, unknown> } }][]);
}

/** An error a state's Retry and Catch do not take (aws-local-stepfunctions reads these two flags). */
function uncatchable(error: QuotaExceededError): QuotaExceededError {
  return Object.assign(new QuotaExceededError(error.name, error.message), { isCatchable: false, isRetryable: false });
}

/** What a child execution failed with: the error of its failing state (aws-local-stepfunctions wraps it), or the abort. */
function childError(error: unknown): { name: string; message: string } {
  const e = error as Error & { getCause?: () => Error | undefined };
  const cause = e.getCause?.() ?? (e.cause instanceof Error ? e.cause : e);
  return { name: cause.name ?? 'Error', message: cause.message ?? String(error) };
}

const ARN_PREFIX = LOCAL_ARN_PREFIX;

/** The error of an execution that timed out, as Step Functions names it. */
const STATES_TIMEOUT = 'States.Timeout';

/**
 * Runs the migration state machine exactly as synthesized by CDK (the generated definition,
 * infra/local/migration-workflow.asl.json, kept equal to it by a test), with aws-local-stepfunctions,
 * under the quotas AWS enforces (aws-quotas.ts): a state input or output over 256 KiB fails the
 * execution with States.DataLimitExceeded (no Catch catches it), a history over 25,000 events
 * fails it (States.Runtime), each function runs at most its timeout, and a warm container serves
 * one invocation at a time. Each item of a Distributed Map is a child execution under those quotas
 * of its own: a child that fails (for any reason) fails the Map with
 * States.ExceedToleratedFailureThreshold, which the Map's Catch takes, as on AWS. Each Lambda Task calls the
 * corresponding handler in this process, and "Continue in a new execution" starts another local
 * execution of the same definition. Resolves when the execution and every execution it continued
 * in have ended, first execution first.
 */
export async function runWorkflowLocally(input: unknown, handlers: LocalHandlers, options: LocalRunOptions = {}): Promise<LocalExecution[]> {
  // Loaded on first use: only run, move, demo and rollback need the emulator.
  await import('./promise-with-resolvers.js');
  const { StateMachine } = await import('aws-local-stepfunctions');
  // No validation at run time: it compiles the whole ASL JSON schema (~1 s) for a definition that
  // never changes between builds; test/workflow/state-machine-definition.test.ts validates it (and
  // test/infra/shipped-bundles.test.ts runs a deployment's, from cdk synth).
  const definition = options.deployed?.definition ?? options.definition ?? workflowDefinition();
  const localDefinition = withAwsTaskTimeouts(definition);
  const machine = new StateMachine(localDefinition as never, { validationOptions: { noValidate: true } });
  const distributed = distributedMapStates(localDefinition);
  const maps = new Set(distributed.keys());
  // The states that run inside a Distributed Map's child executions (the definition has no other nesting).
  const childStates = new Set([...distributed.values()].flatMap((m) => Object.keys(m.ItemProcessor.States)));
  // Per execution: the first child execution of its Map Run that failed. AWS then fails the Map
  // Run and stops its other children: none of them takes another state. (A failed Map Run ends
  // the execution through the Map's Catch: it is never entered again.)
  const failedChildren = new Map<string, QuotaExceededError>();
  for (const [mapName, map] of distributed) {
    interceptChildRuns(StateMachine, map.ItemProcessor, (run, runOptions) => childExecution(mapName, run, runOptions?.context?.Execution?.Id ?? ''));
  }

  /**
   * One item's child execution, as AWS runs it: its own history and state sizes are enforced on it
   * alone (it is stopped at once when it passes one), and its failure, whatever its error, fails
   * the Map with States.ExceedToleratedFailureThreshold (the Map tolerates no failed item), which
   * the Map's Catch takes. The child's own error is named in the cause.
   */
  function childExecution(mapName: string, run: EmulatorRun, parentArn: string): EmulatorRun {
    const quotas = new QuotaEnforcement(new Set(), true);
    const eventLogs = (async function* () {
      for await (const event of run.eventLogs) {
        quotas.observe(event as never);
        if (quotas.violation) {
          if (!failedChildren.has(parentArn)) failedChildren.set(parentArn, quotas.violation);
          run.abort();
        }
        yield event;
      }
    })();
    const result = run.result.catch((error: unknown) => {
      const failed = quotas.violation ?? childError(error);
      if (!failedChildren.has(parentArn)) failedChildren.set(parentArn, new QuotaExceededError(failed.name, failed.message));
      throw new QuotaExceededError(QuotaErrors.mapRunFailed, `The Distributed Map '${mapName}' tolerates no failed item, and a child execution failed with ${failed.name}: ${failed.message}`);
    });
    return { abort: run.abort, eventLogs, result };
  }

  // Which execution each task call belongs to: its quotas are checked on the task's parameters and
  // result. Over 256 KiB, a task of the execution itself fails the execution; a task of a child
  // execution fails that child (no Catch of the child's takes it) and so the Map.
  type TaskHandler = (input: unknown, quotas: QuotaEnforcement) => Promise<unknown>;
  const tooLarge = (state: string, violation: QuotaExceededError, quotas: QuotaEnforcement): QuotaExceededError => {
    if (childStates.has(state)) return uncatchable(violation);
    quotas.fail(violation.name, violation.message);
    return violation;
  };
  const checked =
    (state: string, call: (input: unknown) => Promise<unknown>): TaskHandler =>
    async (i, quotas) => {
      const parameters = payloadViolation(state, 'parameters', i);
      // On AWS a task whose parameters are too large is never invoked.
      if (parameters) throw tooLarge(state, parameters, quotas);
      const result = await call(i);
      const returned = payloadViolation(state, 'result', result);
      if (returned) throw tooLarge(state, returned, quotas);
      // What Lambda hands Step Functions is the result's JSON: a Date is its string, an undefined
      // member is gone, nothing is shared with an invocation that goes on (a timed-out one).
      return result === undefined ? null : (JSON.parse(JSON.stringify(result)) as unknown);
    };
  const taskHandlers: Record<string, TaskHandler> = {};
  const deployed = options.deployed;
  if (deployed) {
    for (const [state, arn] of Object.entries(lambdaTaskResources(definition))) taskHandlers[state] = checked(state, (i) => deployed.invoke(arn, i));
  } else {
    const containers = new WarmContainers((name) => options.newContainer?.(name) ?? handlers[name]);
    for (const [state, fn] of Object.entries(LambdaTasks)) {
      const timeoutMs = options.functionTimeoutMs?.[fn] ?? WORKFLOW_FUNCTION_TIMEOUT_SECONDS * 1000;
      const timedOut = () => new QuotaExceededError(QuotaErrors.functionTimedOut, `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
      taskHandlers[state] = checked(state, (i) => containers.invoke(fn, i, timeoutMs, timedOut));
    }
  }

  const executions: Promise<LocalExecution>[] = [];
  // Each execution by name, as StartExecution looks names up: its input as given (a string, as the
  // API compares it), and whether it is still open.
  const byName = new Map<string, { executionArn: string; input: string; startDate: string; open: boolean; ended: Promise<LocalExecution> }>();
  const start = (executionInput: unknown, continues?: string, name: string = randomUUID()): string => {
    const executionArn = `${ARN_PREFIX}:execution:${LOCAL_STATE_MACHINE_NAME}:${name}`;
    const entry = { executionArn, input: JSON.stringify(executionInput), startDate: new Date().toISOString(), open: true, ended: undefined as unknown as Promise<LocalExecution> };
    byName.set(name, entry);
    entry.ended = execute(executionArn, executionInput, continues).finally(() => {
      entry.open = false;
    });
    executions.push(entry.ended);
    return executionArn;
  };
  const stepFunctionsError = (name: string, message: string) => Object.assign(new Error(message), { name });
  /**
   * StartExecution (request-response), as Step Functions answers it for a name it is given: a name
   * never used starts an execution; the name of an open execution with an identical input starts
   * nothing and answers with that execution (the call is idempotent); with another input, or the
   * name of an execution that has ended, it fails with ExecutionAlreadyExists and starts nothing.
   * Without a name, a new one is picked.
   */
  const startExecution = (parameters: unknown): { ExecutionArn: string; StartDate: string } => {
    const { Input, Name } = parameters as { Input: { continuation: { from?: string } }; Name?: string };
    if (Name !== undefined) {
      if (typeof Name !== 'string' || Name.length < 1 || Name.length > 80 || INVALID_EXECUTION_NAME.test(Name)) {
        throw stepFunctionsError('StepFunctions.InvalidNameException', `Invalid Name: '${String(Name)}'`);
      }
      const existing = byName.get(Name);
      if (existing) {
        if (existing.open && existing.input === JSON.stringify(Input)) return { ExecutionArn: existing.executionArn, StartDate: existing.startDate };
        throw stepFunctionsError('StepFunctions.ExecutionAlreadyExistsException', `Execution Already Exists: '${existing.executionArn}'`);
      }
    }
    const executionArn = start(Input, Input.continuation.from, Name);
    return { ExecutionArn: executionArn, StartDate: byName.get(executionArn.split(':').pop()!)!.startDate };
  };
  const startCalls = new Map<string, number>();
  // Its parameters (the new execution's input, with the state machine's ARN) are held to 256 KiB
  // as every task's: over them Step Functions fails the task, and starts nothing.
  for (const state of [StateNames.continueAsNew, StateNames.continueList]) {
    taskHandlers[state] = async (parameters, quotas) => {
      const violation = payloadViolation(state, 'parameters', parameters);
      if (violation) throw tooLarge(state, violation, quotas);
      const name = (parameters as { Name?: string }).Name;
      const key = `${state}\u0000${name ?? ''}`;
      const attempt = (startCalls.get(key) ?? 0) + 1;
      startCalls.set(key, attempt);
      const fault = options.startExecutionFault?.({ state, ...(name === undefined ? {} : { name }), attempt });
      if (fault?.when === 'before') throw stepFunctionsError(fault.error.name, fault.error.message);
      const answer = startExecution(parameters);
      if (fault?.when === 'afterItEnded') await byName.get(answer.ExecutionArn.split(':').pop()!)!.ended;
      if (fault?.when === 'after' || fault?.when === 'afterItEnded') throw stepFunctionsError(fault.error.name, fault.error.message);
      return answer;
    };
  }

  const retryIntervalOverrides: Record<string, number> = {};
  if (options.retryIntervalMs !== undefined) for (const state of Object.keys(taskHandlers)) retryIntervalOverrides[state] = options.retryIntervalMs;

  async function execute(executionArn: string, executionInput: unknown, continues?: string): Promise<LocalExecution> {
    const quotas = new QuotaEnforcement(maps);
    // Set once the run exists: a task that finds a quota passed aborts the execution, then fails.
    // It must settle: the emulator holds a timer for each task until it does, which would keep the
    // process alive long after the execution ended. Aborted, the execution takes no further state.
    const running: { abort?: () => void } = {};
    const stop = (): Promise<never> => {
      running.abort?.();
      const violation = quotas.violation!;
      return Promise.reject(new QuotaExceededError(violation.name, violation.message));
    };
    const localHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [state, handler] of Object.entries(taskHandlers)) {
      localHandlers[state] = async (i) => {
        // Let the event log catch up: a state that passed a quota before this task stops the
        // execution here, before the task runs (on AWS it would never be scheduled).
        await new Promise((resolve) => setImmediate(resolve));
        if (quotas.violation) return stop();
        // A child of a Map Run that failed: AWS has stopped it, this state is never scheduled.
        const failedChild = childStates.has(state) ? failedChildren.get(executionArn) : undefined;
        if (failedChild) throw uncatchable(failedChild);
        try {
          return await handler(i, quotas);
        } catch (error) {
          if (quotas.violation) return stop();
          throw error;
        }
      };
    }
    const startDate = Date.now();
    const stateMachineArn = `${ARN_PREFIX}:stateMachine:${LOCAL_STATE_MACHINE_NAME}`;
    const run = machine.run(executionInput as never, {
      overrides: { taskResourceLocalHandlers: localHandlers as never, retryIntervalOverrides },
      context: {
        Execution: { Id: executionArn, Name: executionArn.split(':').pop()!, Input: executionInput as never, StartTime: new Date(startDate).toISOString() },
        StateMachine: { Id: stateMachineArn, Name: LOCAL_STATE_MACHINE_NAME },
      } as never,
    });
    running.abort = run.abort;
    const events = (async () => {
      for await (const event of run.eventLogs) {
        quotas.observe(event as never);
        if (quotas.violation) run.abort();
        options.onEvent?.(executionArn, event as unknown as LocalEvent);
      }
    })();
    const extra = () => ({ usage: quotas.usage(), ...(continues ? { continues } : {}) });
    try {
      const output = await run.result;
      await events;
      if (quotas.violation) throw quotas.violation;
      return { executionArn, status: 'SUCCEEDED', output, ...extra() };
    } catch (error) {
      await events.catch(() => {});
      const violation = quotas.violation;
      const e = error as Error & { getCause?: () => { name?: string; message?: string } };
      // aws-local-stepfunctions 3 gives the failing state's error (named by the Fail state) as `cause`.
      const cause = e.getCause?.() ?? (e.cause instanceof Error ? e.cause : e);
      // Past the definition's TimeoutSeconds the emulator rejects with its own error; Step
      // Functions ends the execution TIMED_OUT, with States.Timeout.
      const timedOut = !violation && e.name === 'ExecutionTimeoutError';
      const status = timedOut ? 'TIMED_OUT' : 'FAILED';
      const failure = violation
        ? { name: violation.name, message: violation.message }
        : timedOut
          ? { name: STATES_TIMEOUT, message: `The execution ran longer than its state machine's TimeoutSeconds (${String(localDefinition['TimeoutSeconds'])} s).` }
          : { name: cause.name ?? 'Error', message: cause.message ?? String(error) };
      const cleanUp = await endedRule({ executionArn, stateMachineArn, input: executionInput, startDate, stopDate: Date.now(), status, error: failure });
      return { executionArn, status, error: failure, ...extra(), ...(cleanUp ? { cleanUp } : {}) };
    }
  }

  /** The execution-ended rule: its target runs on the event of an execution that failed or timed out (LocalRunOptions.executionEnded). */
  async function endedRule(ended: Parameters<typeof executionStatusChange>[0]): Promise<LocalExecution['cleanUp']> {
    if (!options.executionEnded) return undefined;
    try {
      return { output: await options.executionEnded(executionStatusChange(ended)) };
    } catch (error) {
      const e = error as Error;
      return { error: { name: e.name ?? 'Error', message: e.message ?? String(error) } };
    }
  }

  start(input);
  const finished: LocalExecution[] = [];
  // Executions may start more executions while they run: wait until none is left.
  for (let i = 0; i < executions.length; i++) finished.push(await executions[i]!);
  return finished;
}

/**
 * The longest timeout a Node timer takes (2^31 - 1 ms, about 24.8 days): a longer one fires at once.
 */
const LONGEST_TIMER_SECONDS = Math.floor(0x7fffffff / 1000);

/**
 * The definition with every Task state that names no timeout given the longest one a timer takes.
 * On AWS such a Task has none (TimeoutSeconds defaults to 99,999,999 s): a Lambda task ends at the
 * function's own timeout, which the local runner enforces (Sandbox.Timedout). aws-local-stepfunctions
 * would fail it with States.Timeout after 60 s: a plan of 10,000 queues or a page task on a slow
 * link would fail locally where it passes on AWS.
 */
export function withAwsTaskTimeouts(definition: Record<string, unknown>): Record<string, unknown> {
  type S = Record<string, unknown> & { Type?: string; ItemProcessor?: { States: Record<string, S> }; Iterator?: { States: Record<string, S> }; Branches?: { States: Record<string, S> }[] };
  const states = (all: Record<string, S>): Record<string, S> =>
    Object.fromEntries(
      Object.entries(all).map(([name, state]) => {
        const copy: S = { ...state };
        if (copy.Type === 'Task' && copy['TimeoutSeconds'] === undefined && copy['TimeoutSecondsPath'] === undefined) copy['TimeoutSeconds'] = LONGEST_TIMER_SECONDS;
        if (state.ItemProcessor) copy.ItemProcessor = { ...state.ItemProcessor, States: states(state.ItemProcessor.States) };
        if (state.Iterator) copy.Iterator = { ...state.Iterator, States: states(state.Iterator.States) };
        if (state.Branches) copy.Branches = state.Branches.map((b) => ({ ...b, States: states(b.States) }));
        return [name, copy];
      }),
    );
  return { ...definition, States: states(definition['States'] as Record<string, S>) };
}
