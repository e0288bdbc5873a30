import { createRequire } from 'node:module';
import { Template, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BATCH_SIZE, BATCHES_PER_EXECUTION } from '../../core/workflow/work-list.js';
import { MAX_ITERATIONS, workflowInputSchema } from '../../core/workflow/workflow-input.js';
import { LambdaTasks, StateNames } from '../../infra/constructs/state-names.js';
import { extractDefinition } from '../../infra/local/extract-definition.js';
import { synthesizeLocalWorkflow } from '../../infra/local/local-workflow-stack.js';

const aslValidator = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (sep?: string) => string };

const { stack, workflow } = synthesizeLocalWorkflow();
const template = Template.fromStack(stack);
const definition = extractDefinition(workflow.stateMachine) as { States: Record<string, State>; StartAt: string };
interface State {
  Type: string;
  Next?: string;
  End?: boolean;
  Resource?: string;
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number; BackoffRate?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Choices?: { Next: string }[];
  Default?: string;
  ItemProcessor?: { StartAt: string; States: Record<string, State>; ProcessorConfig?: { Mode?: string } };
  MaxConcurrency?: number;
  Parameters?: Record<string, unknown>;
  ItemsPath?: string;
  ResultPath?: string;
  ResultSelector?: Record<string, unknown>;
}
const itemStates = definition.States[StateNames.eachItem]!.ItemProcessor!.States;

describe('the migration state machine, as CDK synthesizes it', () => {
  it('is valid Amazon States Language', () => {
    const result = aslValidator(definition);
    expect(result.isValid, result.errorsText('\n')).toBe(true);
  });

  it('reads as the runbook: plan, then per batch migrate each set and queue and add up, then summarize', () => {
    expect(definition.StartAt).toBe(StateNames.plan);
    expect(definition.States[StateNames.plan]!.Next).toBe(StateNames.anyLeft);
    expect(definition.States[StateNames.anyLeft]!.Choices!.map((c) => c.Next)).toEqual([StateNames.eachItem, StateNames.continueList]);
    expect(definition.States[StateNames.anyLeft]!.Default).toBe(StateNames.summarize);
    expect(definition.States[StateNames.eachItem]!.Next).toBe(StateNames.addUp);
    expect(definition.States[StateNames.addUp]!.Next).toBe(StateNames.anyLeft);
    expect(definition.States[StateNames.continueList]!.Next).toBe(StateNames.summarize);
    expect(definition.States[StateNames.summarize]!.End).toBe(true);
  });

  it('carries no list of items past the plan: the Map reads a batch, the plan result replaces the execution input', () => {
    expect(definition.States[StateNames.eachItem]).toMatchObject({ ItemsPath: '$.plan.work.batch', ResultPath: '$.results' });
    expect(definition.States[StateNames.plan]).toMatchObject({ ResultSelector: { 'plan.$': '$' } });
    expect(definition.States[StateNames.plan]).not.toHaveProperty('ResultPath');
    expect(definition.States[StateNames.addUp]).toMatchObject({ ResultPath: '$.plan.work', Parameters: { step: 'add-up', 'results.$': '$.results' } });
  });

  it('has a Task for every handler, each retrying only retryable errors, with backoff', () => {
    const tasks = { ...definition.States, ...itemStates };
    for (const name of Object.keys(LambdaTasks)) {
      const task = tasks[name]!;
      expect(task.Type, name).toBe('Task');
      expect(task.Resource, name).toMatch(/^arn:aws:lambda:.*:function:/);
      const retry = task.Retry!.find((r) => r.ErrorEquals.includes('RetryableError'));
      expect(retry, name).toMatchObject({ MaxAttempts: 6, BackoffRate: 2 });
      expect(task.Retry!.flatMap((r) => r.ErrorEquals)).not.toContain('States.ALL');
    }
  });

  it('records a failed item and goes on with the others; a failing map or summary releases the lock', () => {
    for (const page of [StateNames.rerouteSet, StateNames.rerouteQueue, StateNames.transferSet, StateNames.transferQueue]) {
      expect(itemStates[page]!.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: StateNames.itemFailed }]);
    }
    expect(itemStates[StateNames.itemFailed]!.Type).toBe('Pass');
    expect(definition.States[StateNames.eachItem]!.Catch![0]!.Next).toBe(StateNames.releaseAfterFailure);
    expect(definition.States[StateNames.summarize]!.Catch![0]!.Next).toBe(StateNames.releaseAfterFailure);
    expect(definition.States[StateNames.addUp]!.Catch![0]!.Next).toBe(StateNames.releaseAfterFailure);
    expect(definition.States[StateNames.continueList]!.Catch!.map((c) => c.Next)).toEqual([StateNames.listContinuationStartedEarlier, StateNames.releaseAfterFailure]);
    expect(definition.States[StateNames.releaseAfterFailure]!.Next).toBe(StateNames.failed);
  });

  // ExecutionAlreadyExists is never retried: a continuation's name taken is its start by an
  // earlier attempt whose answer was lost (the name is that continuation's alone), ended since.
  it('takes a continuation\'s name already taken as its start by an earlier attempt: the item (or the list) continued in the execution of that name', () => {
    const names = ['StepFunctions.ExecutionAlreadyExists', 'StepFunctions.ExecutionAlreadyExistsException'];
    const prefix = 'arn:aws:states:us-east-1:123456789012:execution:sidekiq-migrate-local';
    expect(itemStates[StateNames.continueAsNew]!.Catch).toEqual([
      { ErrorEquals: names, ResultPath: null, Next: StateNames.continuationStartedEarlier },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: StateNames.itemFailed },
    ]);
    expect(itemStates[StateNames.continuationStartedEarlier]).toMatchObject({
      Type: 'Pass',
      Parameters: { 'executionArn.$': `States.Format('${prefix}:{}', $.item.continueAs)` },
      ResultPath: '$.continuation',
      Next: StateNames.itemContinued,
    });
    expect(definition.States[StateNames.continueList]!.Catch![0]).toEqual({ ErrorEquals: names, ResultPath: null, Next: StateNames.listContinuationStartedEarlier });
    expect(definition.States[StateNames.listContinuationStartedEarlier]).toMatchObject({
      Type: 'Pass',
      Parameters: { 'executionArn.$': `States.Format('${prefix}:{}', $.plan.work.continueAs)` },
      ResultPath: '$.plan.listContinuedIn',
      Next: StateNames.summarize,
    });
  });

  it('fans out with a Distributed Map of bounded concurrency', () => {
    const map = definition.States[StateNames.eachItem]!;
    expect(map.ItemProcessor!.ProcessorConfig!.Mode).toBe('DISTRIBUTED');
    expect(map.MaxConcurrency).toBe(4);
  });

  it('loops each item until done, and continues in a new execution of itself at the iteration cap', () => {
    const done = itemStates[StateNames.itemDone]!;
    expect(done.Choices!.map((c) => c.Next)).toEqual([StateNames.itemFinished, StateNames.continueAsNew]);
    expect(done.Default).toBe(StateNames.chooseStep);
    const cont = itemStates[StateNames.continueAsNew]!;
    expect(cont.Resource).toBe('arn:aws:states:::states:startExecution');
    expect(cont.Parameters).toMatchObject({ StateMachineArn: expect.stringContaining(':stateMachine:sidekiq-migrate-local') });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'sidekiq-migrate-local', TracingConfiguration: { Enabled: true } });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'states:StartExecution', Resource: Match.objectLike({ 'Fn::Join': Match.anyValue() }) })]) },
    });
  });

  it('caps maxIterations so that an item at the cap stays below 25,000 history events, every page retried as often as allowed', () => {
    // Prepare: the states one loop iteration passes through, read from the definition.
    const loop: string[] = [];
    let state = StateNames.chooseStep as string;
    while (!loop.includes(state)) {
      loop.push(state);
      const s = itemStates[state]!;
      state = s.Type === 'Choice' ? (state === StateNames.itemDone ? s.Default! : s.Choices![0]!.Next) : s.Next!;
    }
    // Events a state adds to the history (Step Functions' HistoryEvent types): a Task 5
    // (Entered, Scheduled, Started, Succeeded, Exited) and 3 per retry (Failed, Scheduled,
    // Started), a Choice or Pass 2. Each retrier of a page task counts its own attempts.
    const retriesOf = (name: string) => (itemStates[name]!.Retry ?? []).reduce((n, r) => n + (r.MaxAttempts ?? 3), 0);
    const events = loop.reduce((n, name) => n + (itemStates[name]!.Type === 'Task' ? 5 : 2), 0);
    const worstEvents = events + 3 * Math.max(...[StateNames.rerouteSet, StateNames.rerouteQueue, StateNames.transferSet, StateNames.transferQueue].map(retriesOf));
    // An item's execution besides its loops: started, handed over (a Task and its retries, the Pass
    // that finds its continuation started by an earlier attempt, a Pass), ended.
    const handOver = 1 + 5 + 3 * retriesOf(StateNames.continueAsNew) + 2 + 2 + 1;
    const defaults = workflowInputSchema.parse({ runId: 'r', mode: 'transfer', target: 't' });

    // Act
    const jobsPerIteration = defaults.pageSize * defaults.pagesPerInvocation;
    const iterationsPerMillion = Math.ceil(1_000_000 / jobsPerIteration);
    const transitionsPerMillion = iterationsPerMillion * loop.length;

    // Assess
    expect(loop).toEqual([StateNames.chooseStep, StateNames.rerouteSet, StateNames.itemDone]);
    expect(events).toBe(9);
    expect(worstEvents).toBe(69);
    expect(iterationsPerMillion).toBe(20);
    expect(transitionsPerMillion).toBe(60);
    expect(defaults.maxIterations).toBe(MAX_ITERATIONS);
    expect(MAX_ITERATIONS * worstEvents + handOver).toBe(24_875);
    expect(MAX_ITERATIONS * worstEvents + handOver).toBeLessThan(25_000);
    expect(() => workflowInputSchema.parse({ runId: 'r', mode: 'transfer', target: 't', maxIterations: MAX_ITERATIONS + 1 })).toThrow(/maxIterations|360/);
  });

  it('hands the rest of a long list to a new execution before the loop over batches passes 25,000 events', () => {
    // A batch: the Choice 2, the Distributed Map 6 in this history (MapStateEntered,
    // MapStateStarted, MapRunStarted, MapRunSucceeded, MapStateSucceeded, MapStateExited),
    // "Add up…" 5 and 3 per retry.
    const addUpRetries = (definition.States[StateNames.addUp]!.Retry ?? []).reduce((n, r) => n + (r.MaxAttempts ?? 3), 0);
    const worstPerBatch = 2 + 6 + 5 + 3 * addUpRetries;
    const taskWorst = (name: string) => 5 + 3 * (definition.States[name]!.Retry ?? []).reduce((n, r) => n + (r.MaxAttempts ?? 3), 0);
    // The hand-over: its Task and retries, and the Pass that finds the list's continuation started by an earlier attempt.
    const around = 1 + taskWorst(StateNames.plan) + 2 + taskWorst(StateNames.continueList) + 2 + taskWorst(StateNames.summarize) + 1;
    expect(worstPerBatch).toBe(73);
    expect(around).toBe(165);
    expect(BATCHES_PER_EXECUTION * worstPerBatch + around).toBe(24_985);
    expect(BATCHES_PER_EXECUTION * worstPerBatch + around).toBeLessThan(25_000);
    expect(BATCH_SIZE).toBeLessThanOrEqual(10);
  });
});
