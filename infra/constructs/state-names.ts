/**
 * The state machine's state names: plain English, so that the console graph reads as the runbook.
 * The local runner maps the Task states to handlers by these names.
 */
export const StateNames = {
  plan: 'Plan migration',
  anyLeft: 'Any sets or queues left?',
  eachItem: 'Migrate each set and queue',
  addUp: 'Add up and list the next sets and queues',
  continueList: 'Continue the list in a new execution',
  listContinuationStartedEarlier: 'The list’s continuation had started',
  chooseStep: 'Choose the step for this item',
  rerouteSet: 'Re-route a page of the set',
  rerouteQueue: 'Re-route a slice of the queue',
  transferSet: 'Transfer a slice of the set',
  transferQueue: 'Transfer a slice of the queue',
  itemDone: 'Is this item done?',
  itemFinished: 'Item finished',
  continueAsNew: 'Continue in a new execution',
  itemContinued: 'Item continued elsewhere',
  continuationStartedEarlier: 'Its continuation had started',
  itemFailed: 'Record the item failure',
  summarize: 'Summarize',
  releaseAfterFailure: 'Release the run lock after a failure',
  failed: 'Migration failed',
} as const;

/** The Task states backed by a Lambda function, and the handler each one runs. */
export const LambdaTasks = {
  [StateNames.plan]: 'plan',
  [StateNames.rerouteSet]: 'rerouteSetPage',
  [StateNames.rerouteQueue]: 'rerouteQueueSlice',
  [StateNames.transferSet]: 'transferSet',
  [StateNames.transferQueue]: 'transferQueue',
  [StateNames.summarize]: 'summarize',
  // The summarize function adds up each batch too (its input says which: `step`).
  [StateNames.addUp]: 'summarize',
  [StateNames.releaseAfterFailure]: 'releaseLock',
} as const;

export type WorkflowFunctionName = (typeof LambdaTasks)[keyof typeof LambdaTasks];

/** Error names a handler throws (see functions/support): only RetryableError is worth retrying. */
export const RETRYABLE_ERRORS = ['RetryableError'];
