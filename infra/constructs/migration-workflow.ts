import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { BATCH_SIZE } from '../../core/workflow/work-list.js';
import { RETRYABLE_ERRORS, StateNames, type WorkflowFunctionName } from './state-names.js';

/**
 * Lambda refused the invocation (concurrency or burst limit): nothing ran, so retrying is always
 * safe. One throttle must not fail an item, or the whole Map run.
 */
export const THROTTLED_LAMBDA_RETRY: sfn.RetryProps = {
  errors: ['Lambda.TooManyRequestsException'],
  interval: Duration.seconds(1),
  backoffRate: 2,
  maxAttempts: 8,
  maxDelay: Duration.seconds(30),
  jitterStrategy: sfn.JitterType.FULL,
};

/**
 * What a retried StartExecution cannot mend: the name is taken by an execution that has ended, or
 * by one with another input (ExecutionAlreadyExists), the name, input or ARN is invalid, the state
 * machine is gone, the role may not start it. Never retried (MaxAttempts 0: the first retrier whose
 * errors match decides, so CONTINUATION_START_RETRY's States.TaskFailed does not take these); the
 * Catch records the failure, but for a name taken (NAME_TAKEN: the continuation an earlier attempt
 * started, ended since). The API names its errors without "Exception"; integrations may add it.
 */
export const START_NOT_RETRIED: sfn.RetryProps = {
  errors: [
    ...['ExecutionAlreadyExists', 'InvalidName', 'InvalidExecutionInput', 'InvalidArn', 'StateMachineDoesNotExist', 'StateMachineDeleting'].flatMap((e) => [`StepFunctions.${e}`, `StepFunctions.${e}Exception`]),
    'StepFunctions.ValidationException',
    'States.Permissions',
  ],
  maxAttempts: 0,
};

/**
 * The continuation's name is taken by an execution that has ended (or has another input): caught
 * before any other error, as the start of that very continuation by an earlier attempt.
 */
export const NAME_TAKEN = ['StepFunctions.ExecutionAlreadyExists', 'StepFunctions.ExecutionAlreadyExistsException'];

/**
 * A continuation's StartExecution that failed otherwise: refused (throttled, too many open
 * executions: nothing started), or failed with a service or client error whose answer may have
 * been lost (the execution may have started). Every retry is safe: the continuation is started
 * under a name its page task or add-up chose (core/workflow/continuation-name.ts), the same on each
 * attempt, and Step Functions answers a StartExecution with the name and input of an open
 * execution with that execution, starting nothing. 8 attempts in all, as many as the refusals alone
 * had: the history-event budgets (docs/state-machine.md) count each retry.
 */
export const CONTINUATION_START_RETRY: sfn.RetryProps = {
  // The API names the open-executions error ExecutionLimitExceeded; integrations may add "Exception".
  errors: [
    'StepFunctions.ThrottlingException',
    'StepFunctions.ExecutionLimitExceeded',
    'StepFunctions.ExecutionLimitExceededException',
    'StepFunctions.AWSStepFunctionsException',
    'StepFunctions.SdkClientException',
    'States.TaskFailed',
  ],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 8,
  maxDelay: Duration.minutes(1),
  jitterStrategy: sfn.JitterType.FULL,
};

/**
 * Why a maxConcurrency above BATCH_SIZE is refused: the Map runs over one batch of the run's list at
 * a time, at most BATCH_SIZE sets and queues, and the next batch only once it has ended; a higher
 * figure ran BATCH_SIZE at once while the configuration said more.
 */
export const MAX_CONCURRENCY_PROBLEM = `at most ${BATCH_SIZE}: the Map runs over one batch of at most ${BATCH_SIZE} sets and queues at a time, so no more than ${BATCH_SIZE} would ever run at once`;

export interface MigrationWorkflowProps {
  /** One function per task (functions/*.ts). */
  readonly functions: Readonly<Record<WorkflowFunctionName, IFunction>>;
  /** A fixed name, so that the machine can start a new execution of itself (continue-as-new). */
  readonly stateMachineName: string;
  /** Work items migrated at the same time (at most BATCH_SIZE); Redis is single-threaded, so a few are plenty. */
  readonly maxConcurrency?: number;
  readonly logs?: logs.ILogGroup;
}

/**
 * The migration as a Step Functions state machine (JSONPath), its state the same size whatever the
 * number of sets and queues: Plan migration (lists the work on the source, returns the first
 * batch) → Any sets or queues left? → Migrate each set and queue (a Distributed Map over a batch
 * of at most 10 items; per item a loop of page tasks until the item is done, continuing in a new
 * execution after `maxIterations` loops) → Add up and list the next sets and queues (folds the
 * batch's results into bounded counters, reads the next batch) → Any sets or queues left? … →
 * Summarize. After BATCHES_PER_EXECUTION batches the rest of the list continues in a new
 * execution. Retryable errors are retried with backoff; an item that still fails is recorded and
 * the other items go on; any other failure releases the run lock before the execution fails.
 */
export class MigrationWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: MigrationWorkflowProps) {
    super(scope, id);
    const maxConcurrency = props.maxConcurrency ?? 4;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > BATCH_SIZE) throw new Error(`maxConcurrency ${maxConcurrency}: ${MAX_CONCURRENCY_PROBLEM}`);
    const fn = props.functions;
    // payloadResponseOnly: the Task's Resource is the function itself and its result is the
    // handler's return value (no Lambda envelope), which keeps state small and paths simple.
    const invoke = (name: string, lambdaFunction: IFunction, payload: Record<string, unknown> | undefined, resultPath: string | undefined) =>
      new tasks.LambdaInvoke(this, name, {
        lambdaFunction,
        payloadResponseOnly: true,
        ...(payload === undefined ? {} : { payload: sfn.TaskInput.fromObject(payload) }),
        ...(resultPath === undefined ? {} : { resultPath }),
        retryOnServiceExceptions: true,
      })
        .addRetry({ errors: RETRYABLE_ERRORS, interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 6, maxDelay: Duration.minutes(1) })
        .addRetry(THROTTLED_LAMBDA_RETRY);

    const releaseAfterFailure = invoke(StateNames.releaseAfterFailure, fn.releaseLock, { 'settings.$': '$.plan.settings' }, sfn.JsonPath.DISCARD).next(
      new sfn.Fail(this, StateNames.failed, { errorPath: '$.failure.Error', causePath: '$.failure.Cause' }),
    );

    // Per item: choose the task for the mode and kind, loop until done.
    const pageInput = { 'settings.$': '$.settings', 'item.$': '$.item' };
    const pageTasks = {
      rerouteSet: invoke(StateNames.rerouteSet, fn.rerouteSetPage, pageInput, '$.item'),
      rerouteQueue: invoke(StateNames.rerouteQueue, fn.rerouteQueueSlice, pageInput, '$.item'),
      transferSet: invoke(StateNames.transferSet, fn.transferSet, pageInput, '$.item'),
      transferQueue: invoke(StateNames.transferQueue, fn.transferQueue, pageInput, '$.item'),
    };
    const itemFailed = new sfn.Pass(this, StateNames.itemFailed, {
      parameters: { 'kind.$': '$.item.kind', 'name.$': '$.item.name', 'counters.$': '$.item.counters', 'error.$': '$.error' },
    });
    const itemFinished = new sfn.Pass(this, StateNames.itemFinished, {
      parameters: { 'kind.$': '$.item.kind', 'name.$': '$.item.name', 'counters.$': '$.item.counters', done: true },
    });
    const self = sfn.StateMachine.fromStateMachineName(this, 'Self', props.stateMachineName);
    const continueAsNew = new tasks.StepFunctionsStartExecution(this, StateNames.continueAsNew, {
      stateMachine: self,
      integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
      input: sfn.TaskInput.fromObject({ continuation: { 'settings.$': '$.settings', 'item.$': '$.item', 'from.$': '$$.Execution.Id' } }),
      // Named by the page task that left the item at its loop cap: a retried start starts it once.
      name: sfn.JsonPath.stringAt('$.item.continueAs'),
      resultSelector: { 'executionArn.$': '$.ExecutionArn' },
      resultPath: '$.continuation',
    })
      .addRetry(START_NOT_RETRIED)
      .addRetry(CONTINUATION_START_RETRY);
    const itemContinued = new sfn.Pass(this, StateNames.itemContinued, {
      parameters: { 'kind.$': '$.item.kind', 'name.$': '$.item.name', 'counters.$': '$.item.counters', 'continuedIn.$': '$.continuation.executionArn' },
    });
    // The name taken (ExecutionAlreadyExists, never retried): the continuation was started by an
    // earlier attempt whose answer was lost, and has ended since (Step Functions answers the name
    // and input of an OPEN execution with it, and refuses a closed one's). The name is this
    // continuation's alone (a digest of the run's start and the item's place in it): the item
    // continued there, as if that attempt had answered, and the run's result is what it did.
    continueAsNew.addCatch(
      new sfn.Pass(this, StateNames.continuationStartedEarlier, { parameters: { executionArn: this.executionArnNamed(props.stateMachineName, '$.item.continueAs') }, resultPath: '$.continuation' }).next(itemContinued),
      { errors: NAME_TAKEN, resultPath: sfn.JsonPath.DISCARD },
    );
    // A start that still fails: the item's failure, recorded as a page task's is (the add-up ends
    // the continuation its page task had announced, never started), and the other items go on.
    continueAsNew.addCatch(itemFailed, { resultPath: '$.error' });
    continueAsNew.next(itemContinued);

    const chooseStep = new sfn.Choice(this, StateNames.chooseStep);
    const isDone = new sfn.Choice(this, StateNames.itemDone)
      .when(sfn.Condition.booleanEquals('$.item.done', true), itemFinished)
      .when(sfn.Condition.numberGreaterThanEqualsJsonPath('$.item.iteration', '$.settings.maxIterations'), continueAsNew)
      .otherwise(chooseStep);
    for (const [key, task] of Object.entries(pageTasks)) {
      const [mode, kind] = key === 'rerouteSet' ? ['reroute', 'set'] : key === 'rerouteQueue' ? ['reroute', 'queue'] : key === 'transferSet' ? ['transfer', 'set'] : ['transfer', 'queue'];
      chooseStep.when(sfn.Condition.and(sfn.Condition.stringEquals('$.settings.mode', mode!), sfn.Condition.stringEquals('$.item.kind', kind!)), task);
      task.addCatch(itemFailed, { resultPath: '$.error' }).next(isDone);
    }

    const eachItem = new sfn.DistributedMap(this, StateNames.eachItem, {
      itemsPath: '$.plan.work.batch',
      itemSelector: { 'settings.$': '$.plan.settings', 'item.$': '$$.Map.Item.Value' },
      maxConcurrency,
      resultPath: '$.results',
      mapExecutionType: sfn.StateMachineType.STANDARD,
    });
    eachItem.itemProcessor(chooseStep);
    eachItem.addCatch(releaseAfterFailure, { resultPath: '$.failure' });

    // The plan task gets the execution input as it is, and the execution's ARN, which a new run's
    // plan records in the run lock (the clean-up after an execution's end tells the execution that
    // holds the run from an older one redriven after a later start); its result replaces the input
    // (the routing in it may be large): only the plan goes on.
    const plan = new tasks.LambdaInvoke(this, StateNames.plan, {
      lambdaFunction: fn.plan,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromObject({ 'executionInput.$': '$', 'executionArn.$': '$$.Execution.Id' }),
      // No ResultPath: the (selected) result is the state's whole output.
      resultSelector: { 'plan.$': '$' },
      retryOnServiceExceptions: true,
    })
      .addRetry({ errors: RETRYABLE_ERRORS, interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 6, maxDelay: Duration.minutes(1) })
      .addRetry(THROTTLED_LAMBDA_RETRY);
    plan.addCatch(
      new sfn.Fail(this, 'Could not plan the migration', { errorPath: '$.failure.Error', causePath: '$.failure.Cause' }),
      { resultPath: '$.failure' },
    );
    // Folds the batch's small results into the bounded tally and puts the next batch in their place.
    const addUp = invoke(
      StateNames.addUp,
      fn.summarize,
      { step: 'add-up', 'settings.$': '$.plan.settings', 'work.$': '$.plan.work', 'results.$': '$.results' },
      '$.plan.work',
    );
    addUp.addCatch(releaseAfterFailure, { resultPath: '$.failure' });
    const summarize = invoke(
      StateNames.summarize,
      fn.summarize,
      {
        step: 'summarize',
        'settings.$': '$.plan.settings',
        'execution.$': '$.plan.execution',
        'tally.$': '$.plan.work.tally',
        'resumed.$': '$.plan.resumed',
        'listContinuedIn.$': '$.plan.listContinuedIn',
      },
      undefined,
    );
    summarize.addCatch(releaseAfterFailure, { resultPath: '$.failure' });
    const continueList = new tasks.StepFunctionsStartExecution(this, StateNames.continueList, {
      stateMachine: self,
      integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
      input: sfn.TaskInput.fromObject({ continuation: { 'settings.$': '$.plan.settings', list: { 'next.$': '$.plan.work.continueAt' }, 'from.$': '$$.Execution.Id' } }),
      // Named by the add-up that handed the list on: a retried start starts it once.
      name: sfn.JsonPath.stringAt('$.plan.work.continueAs'),
      resultSelector: { 'executionArn.$': '$.ExecutionArn' },
      resultPath: '$.plan.listContinuedIn',
    })
      .addRetry(START_NOT_RETRIED)
      .addRetry(CONTINUATION_START_RETRY);
    // The name taken: started by an earlier attempt whose answer was lost, ended since (as an item's).
    continueList.addCatch(
      new sfn.Pass(this, StateNames.listContinuationStartedEarlier, { parameters: { executionArn: this.executionArnNamed(props.stateMachineName, '$.plan.work.continueAs') }, resultPath: '$.plan.listContinuedIn' }).next(summarize),
      { errors: NAME_TAKEN, resultPath: sfn.JsonPath.DISCARD },
    );
    continueList.addCatch(releaseAfterFailure, { resultPath: '$.failure' });
    continueList.next(summarize);

    const anyLeft = new sfn.Choice(this, StateNames.anyLeft)
      .when(sfn.Condition.booleanEquals('$.plan.work.more', true), eachItem)
      .when(sfn.Condition.isPresent('$.plan.work.continueAt'), continueList)
      .otherwise(summarize);
    eachItem.next(addUp);
    addUp.next(anyLeft);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(anyLeft)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      ...(props.logs ? { logs: { destination: props.logs, level: sfn.LogLevel.ERROR, includeExecutionData: false } } : {}),
    });
    // Continue-as-new starts this very machine, known by name to avoid a circular reference.
    self.grantStartExecution(this.stateMachine);
  }

  /** The ARN of this machine's execution named at `namePath` (as StartExecution names it). */
  private executionArnNamed(stateMachineName: string, namePath: string): string {
    const prefix = Stack.of(this).formatArn({ service: 'states', resource: 'execution', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    return sfn.JsonPath.format(`${prefix}:{}`, sfn.JsonPath.stringAt(namePath));
  }
}
